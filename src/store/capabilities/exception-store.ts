import type { PolicyException } from '../../core/policy-exception.js';

/** Policy exceptions: part of the Store port (src/store/store.ts). */
export interface ExceptionStore {
  putException(exception: PolicyException): Promise<void>;
  getException(tenant: string, id: string): Promise<PolicyException | undefined>;
  revokeException(tenant: string, id: string, at: Date): Promise<boolean>;
  /** Exceptions of a tenant; with `target`, only those naming one of these names (compared lower-case). */
  listExceptions(tenant: string, filter: { targets?: readonly string[] }): Promise<PolicyException[]>;
}
