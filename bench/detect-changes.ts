import { createWriteStream } from 'node:fs';
import type { ChangeKind, Channel, IdentityChange } from '../src/core/identity-change.js';
import { uuidv7 } from '../src/core/ids.js';
import { prng } from './support.js';

/**
 * The detection benchmark's workload: a month of identity changes of a
 * 50,000-person tenant across Okta, Entra and M365, in the order a poller
 * would deliver them (time order with a few minutes of jitter, Entra records
 * late), with attack chains mixed in so every kind of rule finds something:
 * help-desk takeover chains, push fatigue, mass resets, factors removed and
 * never re-enrolled. Written as NDJSON, one IdentityChange per line, as
 * Warden stores them. Seeded: the same file every run.
 */

const KIND_WEIGHTS: Array<[ChangeKind, number]> = [
  ['factor.enroll', 16],
  ['password.change', 12],
  ['password.reset', 10],
  ['mfa.denied', 3],
  ['mfa.verified', 14],
  ['factor.reset_all', 4],
  ['factor.remove', 4],
  ['factor.update', 4],
  ['recovery.update', 5],
  ['session.revoke', 4],
  ['account.unlock', 4],
  ['mailbox.rule', 5],
  ['tap.issue', 0.5],
  ['role.assign', 2],
  ['credential.add', 2],
  ['factor.suspend', 1],
  ['password.expire', 1],
  ['account.suspend', 1],
  ['support.access', 0.2],
  ['mfa.bypass', 0.2],
];
const TOTAL_WEIGHT = KIND_WEIGHTS.reduce((n, [, w]) => n + w, 0);
const FACTORS = ['push', 'totp', 'sms', 'webauthn', 'email'] as const;
const DAY = 86_400_000;

export interface WorkloadStats {
  changes: number;
  chains: number;
  bytes: number;
}

/**
 * Writes `count` changes to `file`. Returns how many attack chains were
 * mixed in (each should produce at least one alert).
 */
export async function writeWorkload(file: string, count: number, seed: number, start = Date.parse('2026-02-01T00:00:00Z')): Promise<WorkloadStats> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  let bytes = 0;
  let changes = 0;
  const workload = generateWorkload(count, seed, start);
  let next = workload.next();
  for (; !next.done; next = workload.next()) {
    const line = JSON.stringify(next.value) + '\n';
    bytes += Buffer.byteLength(line);
    changes++;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { changes, chains: next.value, bytes };
}

/**
 * The workload's changes in delivery order (the same ones `writeWorkload`
 * writes); returns how many attack chains were mixed in.
 */
export function* generateWorkload(count: number, seed: number, start = Date.parse('2026-02-01T00:00:00Z')): Generator<IdentityChange, number> {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const people = 50_000;
  const agents = 40;
  const span = 30 * DAY;
  let written = 0;
  let chains = 0;
  const person = (i: number, idp: string) => ({
    id: idp === 'okta' ? `00u${i.toString(36).padStart(8, '0')}` : `${i.toString(16).padStart(8, '0')}-4e2c-9a1b-${idp}`,
    login: idp === 'entra' && i % 3 === 0 ? `User.${i}@ACME.example` : `user.${i}@acme.example`,
    groups: i % 50 === 0 ? ['Everyone', 'Executives'] : ['Everyone'],
    adminRoles: i % 400 === 0 ? ['USER_ADMIN'] : [],
    flags: { shared: false, executive: i % 50 === 0, serviceAccount: false, breakGlass: false },
    attributes: {},
  });
  const agent = (i: number, idp: string) => ({ ...person(people + i, idp), type: 'user' as const, ip: `198.51.100.${i}` });
  const make = (
    at: number,
    kind: ChangeKind,
    channel: Channel,
    target: number,
    actor: ReturnType<typeof agent> | undefined,
    idp: string,
    n: number,
  ): IdentityChange => {
    const t = person(target, idp);
    const occurredAt = new Date(at).toISOString();
    const observedAt = new Date(at + (idp === 'entra' ? Math.floor(120_000 + random() * 480_000) : 2_000)).toISOString();
    return {
      id: uuidv7(at),
      tenant: 'bench',
      source: { idp, eventIds: [`${idp}-${n}`], rawType: kind, via: 'poll' },
      kind,
      channel,
      ...(kind.startsWith('factor.') || kind.startsWith('mfa.') ? { factor: { type: pick(FACTORS), id: `f${n}` } } : {}),
      target: t,
      actor: actor ?? { ...t, type: 'user', ip: `203.0.113.${target % 250}` },
      occurredAt,
      observedAt,
      context: {},
    };
  };

  // Background traffic, then attack chains, merged in delivery order (occurredAt plus jitter).
  let n = 0;
  const step = span / count;
  const pending: IdentityChange[] = [];
  function* flushUntil(limit: number): Generator<IdentityChange> {
    pending.sort((a, b) => Date.parse(a.observedAt) - Date.parse(b.observedAt));
    while (pending.length > 0 && Date.parse(pending[0]!.observedAt) <= limit) {
      written++;
      yield pending.shift()!;
    }
  }
  for (let i = 0; written + pending.length < count; i++) {
    const at = Math.floor(start + i * step + random() * step);
    if (i % 2500 === 1250) {
      // An attack chain on someone, spread over the next hours.
      chains++;
      const victim = Math.floor(random() * people);
      const a = agent(Math.floor(random() * agents), 'okta');
      switch (chains % 4) {
        case 0:
          pending.push(make(at, 'factor.reset_all', 'helpdesk', victim, a, 'okta', n++));
          pending.push(make(at + 600_000, 'factor.enroll', 'self_service', victim, undefined, 'okta', n++));
          pending.push(make(at + 1_200_000, 'password.reset', 'self_service', victim, undefined, 'entra', n++));
          pending.push(make(at + 5_400_000, 'mailbox.rule', 'self_service', victim, undefined, 'm365', n++));
          break;
        case 1:
          for (let d = 0; d < 6; d++) pending.push(make(at + d * 40_000, 'mfa.denied', 'self_service', victim, undefined, 'okta', n++));
          pending.push(make(at + 300_000, 'mfa.verified', 'self_service', victim, undefined, 'okta', n++));
          break;
        case 2:
          for (let d = 0; d < 6; d++) pending.push(make(at + d * 120_000, 'password.reset', 'helpdesk', Math.floor(random() * people), a, 'okta', n++));
          break;
        case 3:
          pending.push(make(at, 'factor.remove', 'admin', victim, a, 'entra', n++));
          break;
      }
    } else {
      let r = random() * TOTAL_WEIGHT;
      let kind: ChangeKind = 'factor.enroll';
      for (const [k, w] of KIND_WEIGHTS)
        if ((r -= w) <= 0) {
          kind = k;
          break;
        }
      const idp = kind === 'mailbox.rule' ? 'm365' : random() < 0.55 ? 'okta' : 'entra';
      const assisted =
        ['factor.reset_all', 'factor.remove', 'password.reset', 'tap.issue', 'account.unlock', 'recovery.update'].includes(kind) && random() < 0.12;
      const channel: Channel =
        kind === 'support.access' ? 'support' : assisted ? (random() < 0.7 ? 'helpdesk' : 'admin') : kind === 'credential.add' ? 'admin' : 'self_service';
      const target = Math.floor(random() * people);
      pending.push(make(at, kind, channel, target, assisted || channel === 'admin' ? agent(Math.floor(random() * agents), idp) : undefined, idp, n++));
      // People whose factors are removed or reset nearly always enroll a new one within the hour.
      if ((kind === 'factor.remove' || kind === 'factor.reset_all') && random() < 0.9)
        pending.push(make(at + Math.floor(300_000 + random() * 3_300_000), 'factor.enroll', 'self_service', target, undefined, idp, n++));
    }
    if (pending.length > 64) yield* flushUntil(at - 600_000);
  }
  yield* flushUntil(Infinity);
  return chains;
}
