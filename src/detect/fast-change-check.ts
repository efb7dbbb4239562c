import { AlertRef, CHANGE_KINDS, CHANNELS, FACTOR_TYPES, IdentityChange, type IdentityChange as Change } from '../core/identity-change.js';
import { WardenError } from '../core/errors.js';

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
  if (!(pattern instanceof RegExp)) throw new WardenError('ERR_INTERNAL', 'schema has no pattern');
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
/*
 * Whether an object has no keys beyond the schema's. A switch rather than a
 * Set: property names are internalized strings, so each case is a pointer
 * comparison (this runs seven times per change).
 */
function changeKeys(o: Obj): boolean {
  for (const k in o)
    switch (k) {
      case 'id':
      case 'tenant':
      case 'source':
      case 'kind':
      case 'channel':
      case 'factor':
      case 'target':
      case 'actor':
      case 'occurredAt':
      case 'observedAt':
      case 'context':
        break;
      default:
        return false;
    }
  return true;
}

function sourceKeys(o: Obj): boolean {
  for (const k in o)
    switch (k) {
      case 'idp':
      case 'eventIds':
      case 'rawType':
      case 'via':
        break;
      default:
        return false;
    }
  return true;
}

function factorKeys(o: Obj): boolean {
  for (const k in o)
    switch (k) {
      case 'type':
      case 'id':
      case 'name':
        break;
      default:
        return false;
    }
  return true;
}

function principalKey(k: string): boolean {
  switch (k) {
    case 'id':
    case 'login':
    case 'email':
    case 'displayName':
    case 'groups':
    case 'adminRoles':
    case 'employeeType':
    case 'managerId':
    case 'flags':
    case 'attributes':
      return true;
    default:
      return false;
  }
}

function targetKeys(o: Obj): boolean {
  for (const k in o) if (!principalKey(k)) return false;
  return true;
}

function actorKeys(o: Obj): boolean {
  for (const k in o)
    if (!principalKey(k))
      switch (k) {
        case 'type':
        case 'ip':
        case 'userAgent':
        case 'deviceId':
        case 'sessionId':
          break;
        default:
          return false;
      }
  return true;
}

function flagKeys(o: Obj): boolean {
  for (const k in o)
    switch (k) {
      case 'shared':
      case 'executive':
      case 'serviceAccount':
      case 'breakGlass':
        break;
      default:
        return false;
    }
  return true;
}

function principal(p: unknown, keys: (o: Obj) => boolean): p is Obj {
  if (!isObj(p) || !keys(p)) return false;
  if (
    !str(p.id, 256, 1) ||
    !optStr(p.login, 320) ||
    !optStr(p.email, 320) ||
    !optStr(p.displayName, 256) ||
    !optStr(p.employeeType, 64) ||
    !optStr(p.managerId, 256)
  )
    return false;
  if (!strList(p.groups, 2000, 256) || !strList(p.adminRoles, 500, 256)) return false;
  const f = p.flags;
  if (
    !isObj(f) ||
    !flagKeys(f) ||
    typeof f.shared !== 'boolean' ||
    typeof f.executive !== 'boolean' ||
    typeof f.serviceAccount !== 'boolean' ||
    typeof f.breakGlass !== 'boolean'
  )
    return false;
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
  if (!isObj(v) || !changeKeys(v)) return undefined;
  if (!(typeof v.id === 'string' && UUID.test(v.id)) || !(typeof v.tenant === 'string' && TENANT.test(v.tenant))) return undefined;
  if (!(typeof v.kind === 'string' && KINDS.has(v.kind)) || !(typeof v.channel === 'string' && CHANNEL_SET.has(v.channel))) return undefined;
  if (!(typeof v.occurredAt === 'string' && ISO_TIME.test(v.occurredAt)) || !(typeof v.observedAt === 'string' && ISO_TIME.test(v.observedAt)))
    return undefined;
  const s = v.source;
  if (
    !isObj(s) ||
    !sourceKeys(s) ||
    !(typeof s.idp === 'string' && IDP.test(s.idp)) ||
    !strList(s.eventIds, 100, 256, 1) ||
    !str(s.rawType, 256) ||
    !(typeof s.via === 'string' && VIAS.has(s.via))
  )
    return undefined;
  if (v.factor !== undefined) {
    const f = v.factor;
    if (!isObj(f) || !factorKeys(f) || !(typeof f.type === 'string' && FACTORS.has(f.type)) || !optStr(f.id, 256) || !optStr(f.name, 256)) return undefined;
  }
  if (!principal(v.target, targetKeys)) return undefined;
  const actor = v.actor;
  if (!principal(actor, actorKeys) || !(typeof actor.type === 'string' && ACTOR_TYPES.has(actor.type))) return undefined;
  if (!optStr(actor.ip, 64) || !optStr(actor.userAgent, 1024) || !optStr(actor.deviceId, 256) || !optStr(actor.sessionId, 256)) return undefined;
  if (!context(v.context)) return undefined;
  return v as unknown as Change;
}
