/**
 * The little each driver must provide: run a query, run several statements,
 * run work in a transaction. `SqlStore` builds every store operation on it.
 */
export interface SqlExecutor {
  /** One parameterized statement; rows as plain objects. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection; commits if it resolves, rolls back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}
