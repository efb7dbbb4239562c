import { WardenError } from '../../core/errors.js';
import type { SqlExecutor } from '../sql-executor.js';
import { storableJson } from '../storable-values.js';

/**
 * Base of every aggregate's SQL (src/store/sql/sql-*-store.ts): the executor
 * the aggregate's statements run on. `SqlStore` composes the aggregates into
 * one object over one executor, so a transaction's work on the inbox, the
 * decisions and the outbox runs on the same connection.
 */
export abstract class SqlAggregate {
  protected readonly db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.db = db;
  }
}

/** A class of aggregate SQL (one per capability of the Store port). */
export type SqlAggregateClass = new (db: SqlExecutor) => SqlAggregate;

type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/**
 * One class with the methods of all `parts` on its prototype, constructed
 * over one executor. The methods run with `this` the composed object, as if
 * written in one class, so they share `db` (and the transaction it may be).
 * Two parts defining one method name is a programming error, thrown when the
 * module loads.
 *
 * @example
 * class SqlStore extends composeAggregates(SqlInboxStore, SqlOutboxStore) implements InboxStore, OutboxStore {}
 */
export function composeAggregates<const P extends readonly SqlAggregateClass[]>(...parts: P): new (db: SqlExecutor) => Intersection<InstanceType<P[number]>> {
  abstract class Composed extends SqlAggregate {}
  for (const part of parts) {
    for (const name of Object.getOwnPropertyNames(part.prototype)) {
      if (name === 'constructor') continue;
      if (Object.hasOwn(Composed.prototype, name))
        throw new WardenError('ERR_INTERNAL', `store method ${name} is defined by two aggregates (${part.name} and another)`);
      Object.defineProperty(Composed.prototype, name, Object.getOwnPropertyDescriptor(part.prototype, name) as PropertyDescriptor);
    }
  }
  return Composed as unknown as new (
    db: SqlExecutor,
  ) => Intersection<InstanceType<P[number]>>;
}

/** Row shape as the drivers return it. */
export type Row = Record<string, unknown>;

export const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
export const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
export const json = storableJson;
/** Drivers differ on bigint (PGlite: number, pg: string) and jsonb (both parse it); normalize here. */
export const num = (v: unknown): number => Number(v);
export const parsed = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
