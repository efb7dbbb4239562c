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

/** The sources of the two patterns above that `isUuid` and `isIsoTime` read by hand (a test pins them to zod's). */
export const UUID_PATTERN = UUID.source;
export const ISO_TIME_PATTERN = ISO_TIME.source;

/** 0-15 for a hexadecimal digit (either case), else a value > 15. */
function hex(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : 16;
}

/**
 * zod's uuid check (`UUID`), by hand for the form every change id has:
 * 8-4-4-4-12 hexadecimal digits, version 1-8, variant 8, 9, a or b. Anything
 * else (the nil and max UUIDs included) is left to the pattern itself. The
 * pattern cost ~30 ms of a 200,000-change replay.
 */
export function isUuid(s: string): boolean {
  if (s.length === 36 && s.charCodeAt(8) === 45 && s.charCodeAt(13) === 45 && s.charCodeAt(18) === 45 && s.charCodeAt(23) === 45) {
    const version = hex(s, 14);
    const variant = hex(s, 19) >> 2;
    let digits = true;
    for (let i = 0; i < 36; i++) if (i !== 8 && i !== 13 && i !== 18 && i !== 23 && hex(s, i) > 15) digits = false;
    if (digits && version >= 1 && version <= 8 && variant === 2) return true;
  }
  return UUID.test(s);
}

/** The digits at `i` and `i + 1` as a number, or -1 when either is not a digit. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * zod's datetime check (`ISO_TIME`, offsets allowed), by hand for the form
 * Warden writes (`2026-03-02T09:00:00.000Z`): a real calendar day (29
 * February in leap years only), hours 00-23, minutes and seconds 00-59.
 * Anything else is left to the pattern itself.
 */
export function isIsoTime(s: string): boolean {
  if (
    s.length === 24 &&
    s.charCodeAt(4) === 45 &&
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(10) === 84 &&
    s.charCodeAt(13) === 58 &&
    s.charCodeAt(16) === 58 &&
    s.charCodeAt(19) === 46 &&
    s.charCodeAt(23) === 90
  ) {
    const century = two(s, 0);
    const yy = two(s, 2);
    const month = two(s, 5);
    const day = two(s, 8);
    const ms = s.charCodeAt(22) - 48;
    if (century >= 0 && yy >= 0 && month >= 1 && month <= 12 && day >= 1 && two(s, 20) >= 0 && ms >= 0 && ms <= 9) {
      const leap = yy === 0 ? century % 4 === 0 : yy % 4 === 0;
      const h = two(s, 11);
      const mi = two(s, 14);
      const sec = two(s, 17);
      if (day <= (month === 2 && !leap ? 28 : DAYS[month]!) && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59) return true;
    }
  }
  return ISO_TIME.test(s);
}
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
        if (!(typeof v === 'string' && isIsoTime(v))) return false;
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
  if (!(typeof v.id === 'string' && isUuid(v.id)) || !(typeof v.tenant === 'string' && TENANT.test(v.tenant))) return undefined;
  if (!(typeof v.kind === 'string' && KINDS.has(v.kind)) || !(typeof v.channel === 'string' && CHANNEL_SET.has(v.channel))) return undefined;
  if (!(typeof v.occurredAt === 'string' && isIsoTime(v.occurredAt)) || !(typeof v.observedAt === 'string' && isIsoTime(v.observedAt))) return undefined;
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
