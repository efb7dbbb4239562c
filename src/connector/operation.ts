import { z } from 'zod';
import type { AuditActor } from '../audit/audit-log.js';
import type { WardenConfig } from '../config/load-config.js';
import type { Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import type { Store } from '../store/store.js';

/**
 * Administrative operations, written once against a store: Warden's own
 * (src/admin/operations.ts), change requests' (src/requests) and those a
 * connector declares (`Connector.operations`). The CLI runs them in its own
 * process, or, when a running server holds the embedded store, inside the
 * server through its admin socket (PGlite allows one process per data
 * directory).
 */

/** What an operation is given when it runs. */
export interface OpContext {
  store: Store;
  config: WardenConfig;
  actor: AuditActor;
  /** Standard output; awaiting it respects back-pressure. */
  out(text: string): void | Promise<void>;
  err(text: string): void;
  /** Told when an API key is revoked (the server drops it from its cache). */
  onKeyRevoked?(id: string): void;
  /** The server's clock when the operation runs inside it (default: the system clock). */
  clock?: Clock;
}

/** An operation: validated arguments in, exit code out. */
export interface Operation<A extends z.ZodType = z.ZodType> {
  args: A;
  run(ctx: OpContext, args: z.infer<A>): Promise<number>;
}

/** Declares an operation with its argument schema. */
export function op<A extends z.ZodType>(args: A, run: (ctx: OpContext, args: z.infer<A>) => Promise<number>): Operation<A> {
  return { args, run };
}

/** Every operation by name: Warden's own and those of the given connectors (named `<connector>.<op>`). */
export type OperationRegistry = ReadonlyMap<string, Operation>;

/**
 * Runs an operation after validating its arguments.
 * @throws WardenError `ERR_VALIDATION` for bad arguments, `ERR_NOT_FOUND` for an unknown operation
 */
export async function runOperation(registry: OperationRegistry, name: string, ctx: OpContext, rawArgs: unknown): Promise<number> {
  const operation = registry.get(name);
  if (!operation) throw new WardenError('ERR_NOT_FOUND', `no operation ${name}`);
  const parsed = operation.args.safeParse(rawArgs);
  if (!parsed.success) throw new WardenError('ERR_VALIDATION', `${name}: ${z.prettifyError(parsed.error)}`);
  return operation.run(ctx, parsed.data);
}
