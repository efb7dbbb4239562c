import type { SqlExecutor } from './sql-executor.js';

/**
 * Values PostgreSQL refuses, stored anyway. PostgreSQL keeps no NUL
 * (U+0000) in `text` ("invalid byte sequence for encoding UTF8: 0x00") nor
 * in `jsonb` ("unsupported Unicode escape sequence"), yet a vendor event may
 * carry one: refused, it would fail the whole delivery, the poller's page and
 * its cursor, for ever. So every string the store writes is escaped
 * reversibly, and every string it reads is unescaped, here and nowhere else:
 *
 * - `ESC` is U+FDD0, a Unicode noncharacter (reserved for a program's
 *   internal use, never interchanged): NUL becomes `ESC 0`, `ESC` itself
 *   becomes `ESC ESC`. Strings with neither are stored as they are, so
 *   nothing changes for ordinary data (nor for what SQL compares).
 * - Text parameters are escaped by the executor (`storableExecutor`);
 *   JSON parameters are escaped before they are serialized (`storableJson`),
 *   object keys included, with `ESC` written as the JSON escape `\ufdd0` so
 *   that the executor leaves the text alone.
 * - Every string in every row read (text columns, and the strings and keys
 *   of jsonb values the drivers parse) is unescaped: callers see the value
 *   they wrote, byte for byte.
 */

const ESC = '\uFDD0';
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what PostgreSQL refuses in text and jsonb; finding it is the point.
const NEEDS_ESCAPE = /[\u0000\uFDD0]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above.
const ESCAPABLE = /[\u0000\uFDD0]/g;
const ESCAPED = /\uFDD0([0\uFDD0])/g;

/** `s` as PostgreSQL will keep it. */
export function escapeStoredString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPABLE, (c) => (c === ESC ? ESC + ESC : `${ESC}0`)) : s;
}

/** The string `escapeStoredString` was given. */
export function unescapeStoredString(s: string): string {
  return s.includes(ESC) ? s.replace(ESCAPED, (_m, c: string) => (c === '0' ? '\u0000' : ESC)) : s;
}

/** Escapes every string and key of a parsed JSON value (plain data only). */
function escapeDeep(value: unknown): unknown {
  if (typeof value === 'string') return escapeStoredString(value);
  if (Array.isArray(value)) return value.map(escapeDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[escapeStoredString(k)] = escapeDeep(v);
    return out;
  }
  return value;
}

function unescapeDeep(value: unknown): unknown {
  if (typeof value === 'string') return unescapeStoredString(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = unescapeDeep(value[i]);
    return value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) unescapeFields(value as Record<string, unknown>);
  return value;
}

/** Unescapes, in place, the fields of a row or a parsed jsonb object. */
function unescapeFields(o: Record<string, unknown>): void {
  for (const k of Object.keys(o)) {
    const v = unescapeDeep(o[k]);
    const key = unescapeStoredString(k);
    if (key !== k) delete o[k];
    o[key] = v;
  }
}

/**
 * `value` as JSON text for a `jsonb` parameter: `JSON.stringify`, with the
 * strings PostgreSQL would refuse escaped (read back by the executor as they
 * were).
 */
export function storableJson(value: unknown): string {
  const text = JSON.stringify(value ?? null);
  // Fast path: JSON.stringify writes NUL as \u0000 and ESC as itself; text with neither needs nothing.
  if (!text.includes('\\u0000') && !text.includes(ESC)) return text;
  return JSON.stringify(escapeDeep(JSON.parse(text))).replace(/\uFDD0/g, '\\ufdd0');
}

const WRAPPED = Symbol('storable');

/**
 * The executor with this module's escaping: text parameters escaped, every
 * string of every row unescaped, in transactions too. Wrapping twice is a
 * no-op.
 */
export function storableExecutor(inner: SqlExecutor): SqlExecutor {
  if ((inner as { [WRAPPED]?: true })[WRAPPED]) return inner;
  const escapeParams = (params: readonly unknown[]) =>
    params.some((p) => typeof p === 'string' && NEEDS_ESCAPE.test(p)) ? params.map((p) => (typeof p === 'string' ? escapeStoredString(p) : p)) : params;
  const wrapped: SqlExecutor & { [WRAPPED]: true } = {
    [WRAPPED]: true,
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const rows = await inner.query<R>(sql, escapeParams(params));
      for (const row of rows) if (row !== null && typeof row === 'object') unescapeFields(row as Record<string, unknown>);
      return rows;
    },
    exec: (sql) => inner.exec(sql),
    transaction: (fn) => inner.transaction((tx) => fn(storableExecutor(tx))),
  };
  return wrapped;
}
