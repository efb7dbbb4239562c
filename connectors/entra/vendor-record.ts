/**
 * Reading Microsoft records as they arrive from different pipes: Graph JSON
 * (camelCase), Azure Monitor diagnostic exports (`properties` wrapper),
 * Office 365 unified audit records (PascalCase), and the same records after
 * a SIEM lower-cased their keys (Panther's case-insensitive events). Keys are
 * matched without regard to case; times are parsed from the formats seen.
 */

export type VendorRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is VendorRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of the first of `names` present in `record`, keys compared case-insensitively. */
export function field(record: unknown, ...names: string[]): unknown {
  if (!isRecord(record)) return undefined;
  for (const name of names) if (record[name] !== undefined) return record[name];
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const [key, value] of Object.entries(record)) if (wanted.has(key.toLowerCase())) return value;
  return undefined;
}

/** `field` as a non-empty string, else undefined. */
export function text(record: unknown, ...names: string[]): string | undefined {
  const value = field(record, ...names);
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** `field` as an array (anything else: empty). */
export function list(record: unknown, ...names: string[]): unknown[] {
  const value = field(record, ...names);
  return Array.isArray(value) ? value : [];
}

/**
 * An ISO 8601 time with offset from the formats Microsoft records use:
 * `2024-11-27T03:31:26.7088498Z`, `…+00:00`, `2015-06-29T20:03:19` (UTC
 * without a zone, Office 365), `2024-12-16 16:32:16.087554000` (a SIEM's
 * export). Undefined when unparseable.
 */
export function vendorTime(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  let s = value.trim().replace(' ', 'T');
  s = s.replace(/(\.\d{3})\d+/, '$1');
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(s)) s += 'Z';
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** A JSON-encoded value as Entra writes `modifiedProperties` (`"\"abc\""`, `"[true]"`); the raw text when it is not JSON. */
export function decodeJsonValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
