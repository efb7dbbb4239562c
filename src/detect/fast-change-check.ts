import { AlertRef, CHANGE_KINDS, CHANNELS, FACTOR_TYPES, IdentityChange, type IdentityChange as Change } from '../core/identity-change.js';

/**
 * A fast check that a parsed JSON value already is a complete, valid
 * IdentityChange, as Warden writes them (every default present): replaying a
 * million stored changes should not cost a million zod parses. It answers
 * "certainly valid, use it as it is" or "not sure" (then the caller parses
 * with zod, which stays the reference and gives the error messages). It is
 * stricter than zod, never looser: a differential test checks that every
 * value it accepts, zod accepts unchanged.
 */

type Obj = Record<string, unknown>;

/** The patterns zod checks these fields with (taken from the schemas themselves, so they cannot drift). */
function patternOf(schema: unknown): RegExp {
  const pattern = (schema as { _zod?: { pattern?: unknown } })._zod?.pattern;
  if (!(pattern instanceof RegExp)) throw new Error('schema has no pattern');
  return pattern;
}
const shape = IdentityChange.shape;
const UUID = patternOf(shape.id);
const ISO_TIME = patternOf(shape.occurredAt);
const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;
const IDP = /^[a-z][a-z0-9_-]{0,31}$/;

const KINDS: ReadonlySet<string> = new Set(CHANGE_KINDS);
const CHANNEL_SET: ReadonlySet<string> = new Set(CHANNELS);
const FACTORS: ReadonlySet<string> = new Set(FACTOR_TYPES);
const VIAS: ReadonlySet<string> = new Set(['hook', 'poll', 'ssf', 'inline', 'api']);
const ACTOR_TYPES: ReadonlySet<string> = new Set(['user', 'service', 'system']);
const IP_REPUTATION: ReadonlySet<string> = new Set(['trusted', 'unknown', 'suspicious', 'malicious']);
const RISK: ReadonlySet<string> = new Set(['none', 'low', 'medium', 'high']);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
/** A string zod's `.max(n)` accepts: at most n UTF-16 code units, like `String.length`. */
const str = (v: unknown, max: number, min = 0): boolean => typeof v === 'string' && v.length <= max && v.length >= min;
const optStr = (v: unknown, max: number): boolean => v === undefined || str(v, max);
const strList = (v: unknown, maxItems: number, maxLen: number, minLen = 0): boolean => {
  if (!Array.isArray(v) || v.length > maxItems) return false;
  for (const s of v) if (!str(s, maxLen, minLen)) return false;
  return true;
};
const scalar = (v: unknown): boolean => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const onlyKeys = (o: Obj, allowed: ReadonlySet<string>): boolean => {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
};

const CHANGE_KEYS = new Set(['id', 'tenant', 'source', 'kind', 'channel', 'factor', 'target', 'actor', 'occurredAt', 'observedAt', 'context']);
const SOURCE_KEYS = new Set(['idp', 'eventIds', 'rawType', 'via']);
const FACTOR_KEYS = new Set(['type', 'id', 'name']);
const PRINCIPAL_KEYS = new Set(['id', 'login', 'email', 'displayName', 'groups', 'adminRoles', 'employeeType', 'managerId', 'flags', 'attributes']);
const ACTOR_KEYS = new Set([...PRINCIPAL_KEYS, 'type', 'ip', 'userAgent', 'deviceId', 'sessionId']);
const FLAG_KEYS = new Set(['shared', 'executive', 'serviceAccount', 'breakGlass']);

function principal(p: unknown, keys: ReadonlySet<string>): p is Obj {
  if (!isObj(p) || !onlyKeys(p, keys)) return false;
  if (!str(p.id, 256, 1) || !optStr(p.login, 320) || !optStr(p.email, 320) || !optStr(p.displayName, 256) || !optStr(p.employeeType, 64) || !optStr(p.managerId, 256)) return false;
  if (!strList(p.groups, 2000, 256) || !strList(p.adminRoles, 500, 256)) return false;
  const f = p.flags;
  if (!isObj(f) || !onlyKeys(f, FLAG_KEYS) || typeof f.shared !== 'boolean' || typeof f.executive !== 'boolean' || typeof f.serviceAccount !== 'boolean' || typeof f.breakGlass !== 'boolean') return false;
  const a = p.attributes;
  if (!isObj(a)) return false;
  for (const k in a) if (k.length > 128 || !scalar(a[k])) return false;
  return true;
}

function context(c: unknown): boolean {
  if (!isObj(c)) return false;
  for (const k in c) {
    const v = c[k];
    switch (k) {
      case 'ipReputation':
        if (!(typeof v === 'string' && IP_REPUTATION.has(v))) return false;
        break;
      case 'riskLevel':
        if (!(typeof v === 'string' && RISK.has(v))) return false;
        break;
      case 'newDevice':
      case 'deviceTrusted':
        if (typeof v !== 'boolean') return false;
        break;
      case 'phoneChangedAt':
      case 'recoveryChangedAt':
      case 'mailboxRulesChangedAt':
        if (!(typeof v === 'string' && ISO_TIME.test(v))) return false;
        break;
      case 'country':
        if (!str(v, 64)) return false;
        break;
      case 'alerts':
        // Rare in stored changes: the schema decides (it has no defaults, so what it accepts it keeps unchanged).
        if (!(Array.isArray(v) && v.length <= 100 && v.every((a) => isObj(a) && AlertRef.safeParse(a).success))) return false;
        break;
      default:
        if (!scalar(v)) return false;
    }
  }
  return true;
}

/**
 * The value itself when it is certainly a complete IdentityChange that zod
 * would accept unchanged; undefined when only zod can tell.
 */
export function asCompleteChange(v: unknown): Change | undefined {
  if (!isObj(v) || !onlyKeys(v, CHANGE_KEYS)) return undefined;
  if (!(typeof v.id === 'string' && UUID.test(v.id)) || !(typeof v.tenant === 'string' && TENANT.test(v.tenant))) return undefined;
  if (!(typeof v.kind === 'string' && KINDS.has(v.kind)) || !(typeof v.channel === 'string' && CHANNEL_SET.has(v.channel))) return undefined;
  if (!(typeof v.occurredAt === 'string' && ISO_TIME.test(v.occurredAt)) || !(typeof v.observedAt === 'string' && ISO_TIME.test(v.observedAt))) return undefined;
  const s = v.source;
  if (!isObj(s) || !onlyKeys(s, SOURCE_KEYS) || !(typeof s.idp === 'string' && IDP.test(s.idp)) || !strList(s.eventIds, 100, 256, 1) || !str(s.rawType, 256) || !(typeof s.via === 'string' && VIAS.has(s.via))) return undefined;
  if (v.factor !== undefined) {
    const f = v.factor;
    if (!isObj(f) || !onlyKeys(f, FACTOR_KEYS) || !(typeof f.type === 'string' && FACTORS.has(f.type)) || !optStr(f.id, 256) || !optStr(f.name, 256)) return undefined;
  }
  if (!principal(v.target, PRINCIPAL_KEYS)) return undefined;
  const actor = v.actor;
  if (!principal(actor, ACTOR_KEYS) || !(typeof actor.type === 'string' && ACTOR_TYPES.has(actor.type))) return undefined;
  if (!optStr(actor.ip, 64) || !optStr(actor.userAgent, 1024) || !optStr(actor.deviceId, 256) || !optStr(actor.sessionId, 256)) return undefined;
  if (!context(v.context)) return undefined;
  return v as unknown as Change;
}
