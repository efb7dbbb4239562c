import pg from 'pg';
import { WardenError } from '../core/errors.js';
import { migrate } from './migrate.js';
import type { SqlExecutor } from './sql-executor.js';
import { SqlStore } from './sql-store.js';
import type { Store, StoreTx } from './store.js';

export interface PostgresStoreOptions {
  /** `postgres://user:pass@host:5432/db` */
  url: string;
  /** Schema to keep Warden's tables in (default `public`); created if missing. */
  schema?: string;
  /** Pool size (default 10). */
  poolSize?: number;
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

function clientExecutor(client: pg.PoolClient): SqlExecutor {
  const self: SqlExecutor = {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      return (await client.query(sql, params as unknown[])).rows as R[];
    },
    async exec(sql: string) {
      await client.query(sql);
    },
    transaction: (fn) => fn(self),
  };
  return self;
}

/** Opens the PostgreSQL store (production, several replicas), applying migrations. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new WardenError('ERR_CONFIG_INVALID', `invalid PostgreSQL schema name "${schema}"`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    options: `-c search_path=${schema}`,
    application_name: 'warden',
  });
  // An idle client erroring (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);

  const exec: SqlExecutor = {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      return (await pool.query(sql, params as unknown[])).rows as R[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(clientExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };

  try {
    if (schema !== 'public') await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await migrate(exec);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof WardenError) throw err;
    throw new WardenError('ERR_STORE', `cannot open PostgreSQL at ${redactUrl(options.url)}: ${(err as Error).message}`, { cause: err });
  }
  return new PostgresStore(exec, pool, `${redactUrl(options.url)} (schema ${schema})`);
}

class PostgresStore extends SqlStore implements Store {
  readonly driver = 'postgres' as const;
  readonly durability = 'as configured on the PostgreSQL server (fsync, synchronous_commit, replication)';
  private closed = false;

  constructor(
    exec: SqlExecutor,
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {
    super(exec);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new SqlStore(tx)));
  }

  async migrations(): Promise<number[]> {
    return (await this.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version));
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
