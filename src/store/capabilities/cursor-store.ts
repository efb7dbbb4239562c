/** Named cursors of a tenant (pollers' positions), opaque JSON: part of the Store port (src/store/store.ts). */
export interface CursorStore {
  getCursor(tenant: string, name: string): Promise<unknown>;
  setCursor(tenant: string, name: string, value: unknown, now: Date): Promise<void>;
}
