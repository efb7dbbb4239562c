/** A stored idempotent response. */
export interface IdempotencyRecord {
  tenant: string;
  /** The caller: API key id or the person's subject. */
  principal: string;
  key: string;
  /** Hash of method, path and body: a key reused for another call is refused. */
  fingerprint: string;
  status: number;
  response: unknown;
  createdAt: string;
}

/** Stored responses of idempotent API calls: part of the Store port (src/store/store.ts). */
export interface IdempotencyStore {
  getIdempotency(tenant: string, principal: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Stores a response; false when the key exists already (a concurrent retry won). */
  putIdempotency(record: IdempotencyRecord): Promise<boolean>;
}
