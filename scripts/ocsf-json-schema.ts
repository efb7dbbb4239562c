/**
 * Generates JSON Schemas (draft 2020-12) for OCSF event classes from the OCSF
 * schema source (github.com/ocsf/ocsf-schema), read straight from a git
 * checkout at one release tag, so the result can be regenerated and compared.
 *
 *   tsx scripts/ocsf-json-schema.ts --repo <ocsf-schema git dir> --ref 1.8.0 --out src/audit/ocsf/schema --profiles security_control
 *
 * What it resolves, following the layout of the schema repository:
 * - a class's `extends` chain (`base_event` → category base → class), each level's
 *   attributes deep-merged over its parent's (enums merge, later keys win);
 * - `$include` of profile files: their attributes are tagged with the profile and
 *   kept only when the profile is applied (`--profiles`, comma-separated; Warden uses
 *   `security_control`, see PROVENANCE.md); a class attribute with `"profile": null` is kept always;
 * - each attribute's type from `dictionary.json` (or the class/object override),
 *   scalar types (`*_t`) to JSON types with their regex, range and length limits,
 *   object types to `$defs` entries (recursion stays a `$ref`), `is_array`;
 * - integer and string `enum`s; `requirement: required` to `required`;
 *   object `constraints` (`at_least_one` → anyOf, `just_one` → oneOf), inherited;
 * - `class_uid`, `category_uid` and `type_uid` (`class_uid * 100 + activity_id`)
 *   as the fixed values the OCSF server computes for a class.
 * Unknown attributes are refused (`additionalProperties: false`) except inside
 * the generic `object` type (e.g. `unmapped`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Json = Record<string, unknown>;
interface AttrDef {
  type?: string;
  is_array?: boolean;
  enum?: Record<string, unknown>;
  requirement?: string;
  profile?: string | null;
  caption?: string;
  [k: string]: unknown;
}
interface Definition {
  name: string;
  uid?: number;
  caption?: string;
  category?: string;
  extends?: string;
  attributes: Record<string, unknown>;
  constraints?: Record<string, string[]>;
}

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const repo = arg('repo');
const ref = arg('ref');
const out = arg('out');
const classes = arg('classes', 'account_change,detection_finding').split(',');
const applied = new Set(arg('profiles', '').split(',').filter(Boolean));

const git = (...a: string[]) => execFileSync('git', ['--git-dir', repo, ...a], { encoding: 'utf8', maxBuffer: 64 << 20 });
const show = (file: string) => JSON.parse(git('show', `${ref}:${file}`)) as Json;
const files = git('ls-tree', '-r', '--name-only', ref).split('\n');

const dictionary = show('dictionary.json') as { attributes: Record<string, AttrDef>; types: { attributes: Record<string, Json> } };
const categories = (show('categories.json') as { attributes: Record<string, { uid: number }> }).attributes;
const byName = (dir: string) => {
  const m = new Map<string, Definition>();
  for (const f of files)
    if (f.startsWith(`${dir}/`) && f.endsWith('.json')) {
      const d = show(f) as unknown as Definition;
      if (d.name) m.set(d.name, d);
    }
  return m;
};
const events = byName('events');
const objects = byName('objects');

function deepMerge(base: unknown, over: unknown): unknown {
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const r: Json = { ...(base as Json) };
    for (const [k, v] of Object.entries(over as Json)) r[k] = k in r ? deepMerge(r[k], v) : v;
    return r;
  }
  return over;
}

/** One level's attributes with its `$include`d profiles resolved (profile attributes tagged). */
function ownAttributes(def: Definition): Record<string, AttrDef> {
  const attrs: Record<string, AttrDef> = {};
  const { $include, ...own } = def.attributes as { $include?: string[] } & Record<string, AttrDef>;
  for (const inc of $include ?? []) {
    const included = show(inc) as { name: string; meta?: string; attributes: Record<string, AttrDef> };
    for (const [k, v] of Object.entries(included.attributes)) {
      const tagged = included.meta === 'profile' ? { ...v, profile: included.name } : v;
      attrs[k] = deepMerge(attrs[k], tagged) as AttrDef;
    }
  }
  for (const [k, v] of Object.entries(own)) attrs[k] = deepMerge(attrs[k], v) as AttrDef;
  return attrs;
}

function resolve(defs: Map<string, Definition>, name: string): { attrs: Record<string, AttrDef>; constraints?: Record<string, string[]>; chain: Definition[] } {
  const def = defs.get(name);
  if (!def) throw new Error(`unknown definition ${name}`);
  const parent = def.extends && defs.has(def.extends) ? resolve(defs, def.extends) : { attrs: {}, chain: [] as Definition[] };
  const attrs = { ...parent.attrs };
  for (const [k, v] of Object.entries(ownAttributes(def))) attrs[k] = deepMerge(attrs[k], v) as AttrDef;
  const kept: Record<string, AttrDef> = {};
  for (const [k, v] of Object.entries(attrs)) if (!v.profile || applied.has(v.profile)) kept[k] = v;
  const constraints = def.constraints ?? ('constraints' in parent ? parent.constraints : undefined);
  return { attrs: kept, ...(constraints ? { constraints } : {}), chain: [...parent.chain, def] };
}

const defs: Record<string, Json> = {};

function scalar(typeName: string): Json {
  const t = dictionary.types.attributes[typeName];
  if (!t) throw new Error(`unknown type ${typeName}`);
  const base =
    typeof t.type === 'string'
      ? scalar(t.type)
      : (
          {
            string_t: { type: 'string' },
            integer_t: { type: 'integer' },
            long_t: { type: 'integer' },
            float_t: { type: 'number' },
            boolean_t: { type: 'boolean' },
            json_t: {},
          } as Record<string, Json>
        )[typeName];
  if (!base) throw new Error(`no JSON type for ${typeName}`);
  const s: Json = { ...base };
  if (typeof t.regex === 'string') s.pattern = t.regex;
  if (typeof t.max_len === 'number') s.maxLength = t.max_len;
  if (Array.isArray(t.range)) [s.minimum, s.maximum] = t.range as number[];
  return s;
}

function attributeSchema(name: string, attr: AttrDef): Json {
  const dict = dictionary.attributes[name];
  if (!dict) throw new Error(`attribute ${name} is not in the dictionary`);
  const merged = deepMerge(dict, attr) as AttrDef;
  const type = merged.type;
  if (!type) throw new Error(`attribute ${name} has no type`);
  let s: Json;
  if (type === 'object') s = { type: 'object' };
  else if (type.endsWith('_t')) s = scalar(type);
  else {
    objectSchema(type);
    s = { $ref: `#/$defs/${type}` };
  }
  if (merged.enum && (s.type === 'integer' || s.type === 'string')) s.enum = Object.keys(merged.enum).map((k) => (s.type === 'integer' ? Number(k) : k));
  if (merged.caption) s.title = merged.caption;
  return merged.is_array ? { type: 'array', items: s } : s;
}

function properties(attrs: Record<string, AttrDef>): { properties: Record<string, Json>; required: string[] } {
  const props: Record<string, Json> = {};
  const required: string[] = [];
  for (const k of Object.keys(attrs).sort()) {
    props[k] = attributeSchema(k, attrs[k]!);
    if (attrs[k]!.requirement === 'required') required.push(k);
  }
  return { properties: props, required };
}

function constraintSchemas(c: Record<string, string[]> | undefined, present: Record<string, Json>): Json {
  const r: Json = {};
  const usable = (names: string[]) => names.filter((n) => n in present);
  if (c?.at_least_one && usable(c.at_least_one).length) r.anyOf = usable(c.at_least_one).map((n) => ({ required: [n] }));
  if (c?.just_one && usable(c.just_one).length) r.oneOf = usable(c.just_one).map((n) => ({ required: [n] }));
  return r;
}

function objectSchema(name: string): void {
  if (name in defs) return;
  defs[name] = {}; // placeholder: recursive objects refer to it while it is built
  const { attrs, constraints } = resolve(objects, name);
  const { properties: props, required } = properties(attrs);
  const def = objects.get(name)!;
  defs[name] = {
    type: 'object',
    title: def.caption ?? name,
    properties: props,
    ...(required.length ? { required } : {}),
    ...constraintSchemas(constraints, props),
    additionalProperties: false,
  };
}

function classSchema(name: string, version: string): Json {
  for (const k of Object.keys(defs)) delete defs[k];
  const { attrs, chain } = resolve(events, name);
  const cls = chain[chain.length - 1]!;
  const categoryName = chain
    .map((d) => d.category)
    .filter(Boolean)
    .pop();
  const category = categoryName ? categories[categoryName] : undefined;
  if (!category || cls.uid === undefined) throw new Error(`${name}: no category or uid`);
  const classUid = category.uid * 1000 + cls.uid;
  const { properties: props, required } = properties(attrs);
  const activities = Object.keys(attrs.activity_id?.enum ?? {})
    .map(Number)
    .sort((a, b) => a - b);
  props.class_uid = { type: 'integer', const: classUid, title: 'Class ID' };
  props.category_uid = { type: 'integer', const: category.uid, title: 'Category ID' };
  props.activity_id = { type: 'integer', enum: activities, title: 'Activity ID' };
  props.type_uid = { type: 'integer', enum: activities.map((a) => classUid * 100 + a), title: 'Type ID' };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://schema.ocsf.io/${version}/classes/${name}`,
    title: `OCSF ${version} ${cls.caption} [${classUid}]`,
    description: `Generated by scripts/ocsf-json-schema.ts from ocsf/ocsf-schema at ${ref}; profiles applied: ${[...applied].join(', ') || 'none'}.`,
    type: 'object',
    properties: props,
    required,
    additionalProperties: false,
    $defs: { ...defs },
  };
}

const version = (show('version.json') as { version: string }).version;
mkdirSync(out, { recursive: true });
for (const c of classes) {
  const schema = classSchema(c, version);
  const file = path.join(out, `ocsf-${version}-${c}.schema.json`);
  writeFileSync(file, JSON.stringify(schema, null, 1) + '\n');
  console.log(`${file}: ${Object.keys(schema.$defs as Json).length} objects`);
}
