import { Environment, type ObjectSchema } from '@marcbachmann/cel-js';
import { z } from 'zod';
import { RequestSnapshot } from '../change-request.js';
import { Actor, IdentityChange, Principal } from '../identity-change.js';
import { Tier } from '../tiers.js';
import { WardenError } from '../errors.js';

/**
 * The two CEL environments policies run in. Expressions are type-checked
 * against schemas derived from the domain's zod schemas, so `change.knd` or an
 * unknown variable is refused at load; they are evaluated against plain
 * objects (no per-call conversion), which is what keeps evaluation fast.
 */

/** The variables a policy expression can read. */
export const CEL_VARIABLES = ['change', 'target', 'actor', 'context', 'request', 'now'] as const;
export type CelVariable = (typeof CEL_VARIABLES)[number];

const TARGET_SCHEMA = Principal.extend({ tier: Tier });

const SCALAR_TYPES: Record<string, string> = { string: 'string', boolean: 'bool', integer: 'int', number: 'double' };

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
};

function celType(schema: JsonSchema): string | ObjectSchema {
  if (schema.anyOf || schema.oneOf) return 'dyn';
  if (schema.enum || schema.const !== undefined) return 'string';
  const type = Array.isArray(schema.type) ? undefined : schema.type;
  if (type === undefined) return 'dyn';
  if (type in SCALAR_TYPES) return SCALAR_TYPES[type]!;
  if (type === 'array') {
    const item = schema.items ? celType(schema.items) : 'dyn';
    return typeof item === 'string' ? `list<${item}>` : 'list<dyn>';
  }
  if (type === 'object') {
    // Open objects (records, catch-alls) are maps: their keys are not known in advance.
    if (!schema.properties || schema.additionalProperties !== false) return 'map<string, dyn>';
    const fields: ObjectSchema = {};
    for (const [name, prop] of Object.entries(schema.properties)) fields[name] = celType(prop);
    return fields;
  }
  return 'dyn';
}

/** The CEL object schema of a zod object schema (output side: defaults applied). */
export function celSchemaOf(schema: z.ZodType): ObjectSchema {
  const json = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  const converted = celType(json);
  if (typeof converted === 'string') throw new WardenError('ERR_INTERNAL', 'expected an object schema');
  return converted;
}

const OPTIONS = { homogeneousAggregateLiterals: false, enableOptionalTypes: true, limits: { maxAstNodes: 2000, maxDepth: 64 } } as const;

let checkEnv: Environment | undefined;
let evalEnv: Environment | undefined;

/** Environment used to type-check expressions at load. */
export function checkEnvironment(): Environment {
  checkEnv ??= new Environment(OPTIONS)
    .registerVariable({ name: 'change', schema: celSchemaOf(IdentityChange), description: 'The identity change' })
    .registerVariable({ name: 'target', schema: celSchemaOf(TARGET_SCHEMA), description: 'change.target plus its tier' })
    .registerVariable({ name: 'actor', schema: celSchemaOf(Actor), description: 'change.actor' })
    .registerVariable('context', 'map', { description: 'change.context: signals around the change' })
    .registerVariable({ name: 'request', schema: celSchemaOf(RequestSnapshot), description: 'The matching change request; empty when none' })
    .registerVariable('now', 'google.protobuf.Timestamp', { description: 'Evaluation time' });
  return checkEnv;
}

/** Environment used to evaluate compiled expressions on plain objects. */
export function evaluationEnvironment(): Environment {
  evalEnv ??= new Environment(OPTIONS)
    .registerVariable('change', 'map')
    .registerVariable('target', 'map')
    .registerVariable('actor', 'map')
    .registerVariable('context', 'map')
    .registerVariable('request', 'map')
    .registerVariable('now', 'google.protobuf.Timestamp');
  return evalEnv;
}
