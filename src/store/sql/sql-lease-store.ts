import type { LeaseStore } from '../capabilities/lease-store.js';
import { SqlAggregate } from './sql-aggregate.js';

/** Named leases: one replica at a time runs a piece of work (a tenant's poller), in SQL. */
export class SqlLeaseStore extends SqlAggregate implements LeaseStore {
  async acquireLease(name: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3::timestamptz + make_interval(secs => $4))
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= $3
       RETURNING name`,
      [name, holder, now.toISOString(), ttlSeconds],
    );
    return rows.length > 0;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
  }
}
