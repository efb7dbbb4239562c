import type { CursorStore } from '../capabilities/cursor-store.js';
import { SqlAggregate, json, parsed } from './sql-aggregate.js';

/** Named cursors of a tenant (pollers' positions), opaque JSON, in SQL. */
export class SqlCursorStore extends SqlAggregate implements CursorStore {
  async getCursor(tenant: string, name: string): Promise<unknown> {
    const [row] = await this.db.query<{ value: unknown }>('SELECT value FROM cursors WHERE tenant = $1 AND name = $2', [tenant, name]);
    return row ? parsed(row.value) : undefined;
  }

  async setCursor(tenant: string, name: string, value: unknown, now: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO cursors (tenant, name, value, updated_at) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (tenant, name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
      [tenant, name, json(value), now.toISOString()],
    );
  }
}
