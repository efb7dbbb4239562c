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
  /**
   * Longest wait for a connection, connecting or waiting for a free one, in
   * ms (default 2000: under Okta's and Graph's 3 s, so a receiver answers 503
   * before the IdP gives up on it).
   */
  connectTimeoutMs?: number;
  /**
   * Longest a statement may take, in ms (default 10000): the server cancels
   * it (`statement_timeout`) and the client gives up on a connection that
   * stays silent that long (a stalled network), freeing its slot.
   */
  statementTimeoutMs?: number;
}

/** Default `connectTimeoutMs`. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** Default `statementTimeoutMs`. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/** Node socket errors that mean the server cannot be reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
]);
/** SQLSTATEs of an unavailable server: connection exceptions (class 08), shutdown, too many connections, a cancelled (timed-out) statement. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
/** What node-postgres says when it loses or gives up on a connection. */
const LOST =
  /Connection terminated|timeout exceeded when trying to connect|connection timeout|Query read timeout|Client has encountered a connection error|Client was closed|not queryable|Cannot use a pool after calling end/i;

/**
 * True when `err` says the PostgreSQL server is unreachable or gave up on
 * the statement, rather than refusing the statement itself (a constraint, a
 * syntax error): the first is retried later, the second is a bug or bad data.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  return LOST.test(err.message);
}

/** `err` as `ERR_STORE` when the store is unavailable; anything else as it is. */
function storeError(err: unknown): unknown {
  if (err instanceof WardenError || !isStoreUnavailable(err)) return err;
  return new WardenError('ERR_STORE', `the store is unavailable: ${(err as Error).message}`, { cause: err });
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
      try {
        return (await client.query(sql, params as unknown[])).rows as R[];
      } catch (err) {
        throw storeError(err);
      }
    },
    async exec(sql: string) {
      try {
        await client.query(sql);
      } catch (err) {
        throw storeError(err);
      }
    },
    transaction: (fn) => fn(self),
  };
  return self;
}

/** Opens the PostgreSQL store (production, several replicas), applying migrations. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new WardenError('ERR_CONFIG_INVALID', `invalid PostgreSQL schema name "${schema}"`);
  const statementTimeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    options: `-c search_path=${schema} -c statement_timeout=${statementTimeout}`,
    application_name: 'warden',
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // The server's statement_timeout cannot fire when the network is what hangs: the client gives up too, a little later.
    query_timeout: statementTimeout + 1000,
    keepAlive: true,
  });
  // An idle client erroring (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);

  const exec: SqlExecutor = {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      try {
        return (await pool.query(sql, params as unknown[])).rows as R[];
      } catch (err) {
        throw storeError(err);
      }
    },
    async exec(sql: string) {
      try {
        await pool.query(sql);
      } catch (err) {
        throw storeError(err);
      }
    },
    async transaction(fn) {
      const client = await pool.connect().catch((err: unknown) => {
        throw storeError(err);
      });
      // A checked-out client has no listener of the pool's: without this one, a
      // connection lost mid-transaction is an unhandled 'error' event (the process dies).
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken ??= err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(clientExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (!broken && isStoreUnavailable(err instanceof WardenError ? err.cause : err)) broken = err as Error;
        if (!broken)
          await client.query('ROLLBACK').catch((rollbackFailed: Error) => {
            broken = rollbackFailed;
          });
        throw storeError(err);
      } finally {
        client.off('error', onError);
        // Released with its error, a broken connection is closed, not handed to the next caller.
        client.release(broken);
      }
    },
  };

  try {
    if (schema !== 'public') await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await migrate(exec);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof WardenError && err.code !== 'ERR_STORE') throw err;
    throw new WardenError('ERR_STORE', `cannot open PostgreSQL at ${redactUrl(options.url)}: ${(err as Error).message}`, { cause: err });
  }
  return new PostgresStore(exec, pool, `${redactUrl(options.url)} (schema ${schema})`, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
}

class PostgresStore extends SqlStore implements Store {
  readonly driver = 'postgres' as const;
  readonly durability = 'as configured on the PostgreSQL server (fsync, synchronous_commit, replication)';
  private closed = false;

  constructor(
    exec: SqlExecutor,
    private readonly pool: pg.Pool,
    readonly location: string,
    private readonly connectTimeoutMs: number,
  ) {
    super(exec);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new SqlStore(tx)));
  }

  async migrations(): Promise<number[]> {
    return (await this.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version));
  }

  /** Answers within about twice the connect timeout, even when the network hangs (readiness probes must answer). */
  async ping(): Promise<void> {
    try {
      // query_timeout per query is read by node-postgres but missing from its types.
      await this.pool.query({ text: 'SELECT 1', query_timeout: this.connectTimeoutMs } as pg.QueryConfig);
    } catch (err) {
      throw storeError(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
