import { describe, expect, it, vi } from 'vitest';
import { prng } from '../../bench/support.js';
import { IdentityChange } from '../core/identity-change.js';
import { isoMillis } from './iso-millis.js';
import { asCompleteChange } from './fast-change-check.js';

/**
 * The fast check may answer "not sure" whenever it likes, but when it
 * accepts a value, zod must accept it too and leave it unchanged. Checked on
 * a valid change and thousands of mutations of it.
 */

const VALID = {
  id: '0193d9b2-5a1e-7c3d-8e4f-0a1b2c3d4e5f',
  tenant: 'acme',
  source: { idp: 'okta', eventIds: ['e-1'], rawType: 'user.mfa.factor.activate', via: 'poll' },
  kind: 'factor.enroll',
  channel: 'self_service',
  factor: { type: 'push', id: 'opf1', name: 'Okta Verify' },
  target: {
    id: '00u1',
    login: 'dana@acme.example',
    groups: ['Everyone'],
    adminRoles: [],
    flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
    attributes: { department: 'Finance', level: 3, remote: true, note: null },
  },
  actor: {
    id: '00u1',
    login: 'dana@acme.example',
    groups: [],
    adminRoles: [],
    flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
    attributes: {},
    type: 'user',
    ip: '203.0.113.9',
  },
  occurredAt: '2026-03-02T09:00:00.000Z',
  observedAt: '2026-03-02T09:00:01.000Z',
  context: {
    newDevice: true,
    ipReputation: 'trusted',
    phoneChangedAt: '2026-02-01T00:00:00Z',
    custom: 'x',
    alerts: [{ id: 'a1', rule: 'r', severity: 'high', on: 'target' }],
  },
};

/** Values a mutation may put anywhere. */
const ODD: unknown[] = [
  undefined,
  null,
  '',
  'x',
  'x'.repeat(257),
  'x'.repeat(400),
  0,
  -1,
  1.5,
  true,
  [],
  ['x'],
  [1],
  {},
  { a: 1 },
  '2026-13-01T00:00:00Z',
  '2026-03-02T09:00:00',
  '2026-03-02T09:00:00+01:00',
  'factor.enrol',
  'helpdesk',
  'sms',
  'SYSTEM',
  'poll',
  'Acme',
  '0193d9b2-5a1e-7c3d-8e4f-0a1b2c3d4e5',
];

type Json = Record<string, unknown> | unknown[];

/** Every path to a value inside `v`. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null) return [prefix];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [prefix, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...prefix, k]))];
}

function mutate(base: unknown, path: (string | number)[], value: unknown, mode: 'set' | 'delete' | 'add'): unknown {
  if (path.length === 0) return value;
  if (typeof base !== 'object' || base === null) return base;
  const copy = structuredClone(base) as Json;
  let node: Record<string | number, unknown> = copy as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) {
    const next = node[p];
    // An earlier mutation replaced this part with something else: nothing to mutate.
    if (typeof next !== 'object' || next === null) return copy;
    node = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  if (mode === 'delete') {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else if (mode === 'add' && typeof node === 'object' && !Array.isArray(node)) node[`extra_${String(last)}`] = value;
  else node[last] = value;
  return copy;
}

describe('asCompleteChange', () => {
  it('accepts a complete valid change, as it is', () => {
    expect(IdentityChange.parse(VALID)).toEqual(VALID);
    expect(asCompleteChange(VALID)).toBe(VALID);
  });

  it('never accepts what zod refuses or would change (mutations of every field)', () => {
    const random = prng(7);
    let accepted = 0;
    let tried = 0;
    for (const path of paths(VALID)) {
      for (const mode of ['set', 'delete', 'add'] as const) {
        for (const value of ODD) {
          const candidate = mutate(VALID, path, value, mode);
          tried++;
          const fast = asCompleteChange(candidate);
          if (fast === undefined) continue;
          accepted++;
          const parsed = IdentityChange.safeParse(candidate);
          expect(parsed.success, JSON.stringify({ path, mode, value })).toBe(true);
          expect(parsed.data, JSON.stringify({ path, mode, value })).toEqual(candidate);
        }
      }
      // A few random double mutations on top.
      const other = paths(VALID)[Math.floor(random() * paths(VALID).length)]!;
      const twice = mutate(mutate(VALID, path, ODD[Math.floor(random() * ODD.length)], 'set'), other, ODD[Math.floor(random() * ODD.length)], 'set');
      if (asCompleteChange(twice) !== undefined) expect(IdentityChange.safeParse(twice).data).toEqual(twice);
    }
    // The check is useful: it does accept valid variants (e.g. other optional strings, custom context keys).
    expect(accepted).toBeGreaterThan(100);
    expect(tried).toBeGreaterThan(4000);
  });

  it('leaves incomplete changes (missing defaults) to zod', () => {
    const { context: _c, ...noContext } = VALID;
    expect(asCompleteChange(noContext)).toBeUndefined();
    expect(asCompleteChange({ ...VALID, target: { id: 'u', login: 'x@y' } })).toBeUndefined();
  });
});

describe('isoMillis', () => {
  it('gives exactly what Date.parse gives, fast form or not', () => {
    const random = prng(11);
    const samples = [
      '2026-03-02T09:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2026-02-29T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
      '2026-04-31T10:00:00.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01T23:60:00.000Z',
      '0999-01-01T00:00:00.000Z',
      '2026-03-02T09:00:00Z',
      '2026-03-02T09:00:00.123456Z',
      '2026-03-02T09:00:00+02:00',
      '2026-03-02 09:00:00',
      'a026-03-02T09:00:00.000Z',
      'not a time',
    ];
    for (let i = 0; i < 2000; i++) samples.push(new Date(Math.floor(random() * 4e12)).toISOString());
    // Any four-digit year, and the days around the end of February of century years (leap or not).
    const from = Date.UTC(1000, 0, 1);
    const to = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    for (let i = 0; i < 5000; i++) samples.push(new Date(from + Math.floor(random() * (to - from))).toISOString());
    for (const year of [1600, 1700, 1900, 2000, 2100, 2400, 9900])
      for (const [month, day] of [
        [2, 28],
        [2, 29],
        [3, 1],
        [12, 31],
        [1, 1],
      ] as const)
        samples.push(`${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T12:34:56.789Z`);
    for (const s of samples) expect(Object.is(isoMillis(s), Date.parse(s)), s).toBe(true);
  });

  it('reads the form Warden writes itself, for every digit (Date.parse only for other forms)', () => {
    const parse = vi.spyOn(Date, 'parse');
    try {
      // Every digit 0-9 in every position that can hold it.
      for (let d = 0; d <= 9; d++) {
        const s = `${1990 + d}-0${1 + (d % 9)}-1${d}T1${d}:${d % 6}${d}:${d % 6}${d}.${d}${d}${d}Z`;
        expect(isoMillis(s), s).toBe(new Date(s).getTime());
      }
      expect(parse).not.toHaveBeenCalled();
      isoMillis('2026-03-02T09:00:00Z');
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });
});
