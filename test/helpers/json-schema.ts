/**
 * A small JSON Schema (draft 2020-12) validator for the keywords the generated
 * OCSF schemas use (src/audit/ocsf/schema): type, properties, required,
 * additionalProperties: false, items, enum, const, pattern, maxLength,
 * minimum, maximum, anyOf, oneOf and local `$ref` (#/$defs/…). Any other
 * keyword in a schema is refused, so a schema using more than this validator
 * understands fails loudly instead of passing records unchecked.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  '$id',
  '$defs',
  '$ref',
  'title',
  'description',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'pattern',
  'maxLength',
  'minimum',
  'maximum',
  'anyOf',
  'oneOf',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The errors of `value` against `root` (empty when it is valid), each `path: problem`. */
export function validateJsonSchema(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const defs = (root.$defs ?? {}) as Record<string, Schema>;
  const patterns = new Map<string, RegExp>();

  function check(schema: Schema, v: unknown, at: string): void {
    for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new Error(`json-schema helper: keyword ${k} at ${at} is not supported`);
    if (typeof schema.$ref === 'string') {
      const name = /^#\/\$defs\/(.+)$/.exec(schema.$ref)?.[1];
      const target = name ? defs[name] : undefined;
      if (!target) throw new Error(`json-schema helper: unresolvable $ref ${schema.$ref}`);
      check(target, v, at);
    }
    const t = typeOf(v);
    if (typeof schema.type === 'string' && !(schema.type === t || (schema.type === 'number' && t === 'integer'))) {
      errors.push(`${at}: expected ${schema.type}, got ${t}`);
      return;
    }
    if ('const' in schema && v !== schema.const) errors.push(`${at}: must be ${JSON.stringify(schema.const)}, got ${JSON.stringify(v)}`);
    if (Array.isArray(schema.enum) && !schema.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(schema.enum)}`);
    if (typeof v === 'string') {
      if (typeof schema.maxLength === 'number' && [...v].length > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
      if (typeof schema.pattern === 'string') {
        let re = patterns.get(schema.pattern);
        if (!re) patterns.set(schema.pattern, (re = new RegExp(schema.pattern)));
        if (!re.test(v)) errors.push(`${at}: does not match ${schema.pattern}`);
      }
    }
    if (typeof v === 'number') {
      if (typeof schema.minimum === 'number' && v < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
      if (typeof schema.maximum === 'number' && v > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
    }
    if (Array.isArray(v) && schema.items) for (const [i, item] of v.entries()) check(schema.items as Schema, item, `${at}[${i}]`);
    if (t === 'object') {
      const obj = v as Record<string, unknown>;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const r of (schema.required ?? []) as string[]) if (obj[r] === undefined) errors.push(`${at}: required ${r} is missing`);
      for (const [k, val] of Object.entries(obj)) {
        if (val === undefined) continue;
        if (props[k]) check(props[k], val, `${at}.${k}`);
        else if (schema.additionalProperties === false) errors.push(`${at}: ${k} is not an attribute here`);
      }
    }
    const passes = (s: Schema) => {
      const before = errors.length;
      check(s, v, at);
      const ok = errors.length === before;
      errors.length = before;
      return ok;
    };
    if (Array.isArray(schema.anyOf) && !(schema.anyOf as Schema[]).some(passes)) errors.push(`${at}: matches none of ${JSON.stringify(schema.anyOf)}`);
    if (Array.isArray(schema.oneOf) && (schema.oneOf as Schema[]).filter(passes).length !== 1)
      errors.push(`${at}: must match exactly one of ${JSON.stringify(schema.oneOf)}`);
  }

  check(root, value, '$');
  return errors;
}
