import { WardenError } from '../core/errors.js';

/**
 * Canonical JSON in the manner of RFC 8785 (JCS): object keys sorted by UTF-16
 * code units, no insignificant whitespace, numbers and strings as ECMAScript's
 * JSON.stringify writes them. The same value always gives the same text, so a
 * hash over it can be recomputed by anyone with a JCS implementation.
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new WardenError('ERR_INTERNAL', `canonical JSON has no representation for ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      const withJson = value as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') return canonicalJson(withJson.toJSON());
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const entries = Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
      return `{${entries.join(',')}}`;
    }
    default:
      throw new WardenError('ERR_INTERNAL', `canonical JSON has no representation for a ${typeof value}`);
  }
}
