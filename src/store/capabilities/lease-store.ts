/** Named leases: one replica at a time runs a piece of work (a tenant's poller): part of the Store port (src/store/store.ts). */
export interface LeaseStore {
  /**
   * Takes or renews a named lease for `ttlSeconds` when it is free, expired or
   * already held by `holder`: one replica at a time runs a tenant's poller.
   */
  acquireLease(name: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean>;
  /** Gives a lease up (only its holder can). */
  releaseLease(name: string, holder: string): Promise<void>;
}
