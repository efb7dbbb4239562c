import { describe, expect, it } from 'vitest';
import type { Alert } from '../core/alert.js';
import { ChangeInput, completeChange, type Channel, type ChangeKind, type IdentityChange } from '../core/identity-change.js';
import { compileRulePack } from './compile-rule-pack.js';
import { DetectionEngine } from './detection-engine.js';
import { IdentityResolver } from './identity-keys.js';
import { MemoryDetector, type MemoryDetectorOptions } from './memory-detector.js';
import { shippedRuleSources } from './rule-sources.js';
import { SourceWatermarks } from './source-watermarks.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const pack = compileRulePack(shippedRuleSources());

type Via = IdentityChange['source']['via'];
let n = 0;

/** A change of `person` at `minutes` after T0 from the source `idp/via`. */
function change(
  kind: ChangeKind,
  minutes: number,
  person: string,
  from: `${string}/${Via}`,
  channel: Channel = 'self_service',
  actor?: string,
): IdentityChange {
  const [idp, via] = from.split('/') as [string, Via];
  const at = new Date(T0 + minutes * MIN).toISOString();
  const id = `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`;
  const who = actor ?? person;
  const input = ChangeInput.parse({
    id,
    source: { idp, eventIds: [`${idp}-${n}`], rawType: kind, via },
    kind,
    channel,
    ...(kind.startsWith('factor.') || kind.startsWith('mfa.') ? { factor: { type: 'push' } } : {}),
    target: { id: `${idp}-${person}`, login: person },
    actor: { id: `${idp}-${who}`, login: who },
    occurredAt: at,
    observedAt: at,
  });
  return completeChange(input, 'acme');
}

function detector(options: Partial<MemoryDetectorOptions> = {}): MemoryDetector {
  let ids = 0;
  return new MemoryDetector(new DetectionEngine(pack, new IdentityResolver({ domains: {}, aliases: {} })), {
    tenant: 'acme',
    latenessMs: 30 * MIN,
    groupForMs: 24 * HOUR,
    newId: () => `alert-${++ids}`,
    ...options,
  });
}

/** Every match of every alert, as `rule key [change ids]`, sorted: what correlation found, whatever the grouping. */
function matches(alerts: readonly Alert[]): string[] {
  return alerts.flatMap((a) => a.matches.map((m) => `${m.rule} ${a.key} [${[...m.changeIds].sort().join(',')}]`)).sort();
}

describe('source watermarks', () => {
  it('measures a source against its own progress, and windows against the slowest active source', () => {
    const w = new SourceWatermarks(3 * HOUR);
    w.advance('okta/hook', 10 * HOUR, 10 * HOUR);
    w.advance('entra/poll', 8 * HOUR, 10 * HOUR);
    expect(w.low(10 * HOUR)).toBe(8 * HOUR);
    expect(w.reference('entra/poll', 10 * HOUR)).toBe(8 * HOUR);
    expect(w.reference('okta/hook', 10 * HOUR)).toBe(10 * HOUR);
    // Never seen: measured against the low watermark.
    expect(w.reference('m365/poll', 10 * HOUR)).toBe(8 * HOUR);
    // Entra delivered nothing while progress moved 3 hours on: idle, it no longer holds windows.
    w.advance('okta/hook', 13.5 * HOUR, 13.5 * HOUR);
    expect(w.active('entra/poll', 13.5 * HOUR)).toBe(false);
    expect(w.low(13.5 * HOUR)).toBe(13.5 * HOUR);
    expect(w.reference('entra/poll', 13.5 * HOUR)).toBe(13.5 * HOUR);
    // A declared source that has not delivered holds windows from the start.
    w.declare('api/api', 13.5 * HOUR);
    expect(w.low(13.5 * HOUR)).toBe(-Infinity);
  });
});

describe('per-source watermarks in the memory detector', () => {
  it('correlates a chain across sources when one source (the directoryAudits poller) was stopped for two hours and back-fills', () => {
    const d = detector();
    // Entra's poller delivered before its outage.
    d.push(change('password.change', -30, 'other@acme.example', 'entra/poll'));
    const reset = change('factor.reset_all', 0, 'dana@acme.example', 'okta/hook', 'helpdesk', 'sam@acme.example');
    const enroll = change('factor.enroll', 10, 'dana@acme.example', 'entra/poll');
    const password = change('password.reset', 20, 'dana@acme.example', 'okta/hook');
    d.push(reset);
    d.push(password);
    // Okta moves on for two hours while the poller is stopped.
    for (let m = 30; m <= 140; m += 10) d.push(change('mfa.verified', m, 'busy@acme.example', 'okta/hook'));
    // The poller back-fills: the enrollment is 2 hours behind Okta, in order within its own source.
    d.push(enroll);
    expect(d.stats.late).toBe(0);
    const chain = d.alerts.find((a) => a.key === 'dana@acme.example')!;
    expect(chain.matches.map((m) => m.rule).sort()).toEqual(['assisted-reset-without-request', 'factor-change-and-password-reset']);

    // Measured against the newest event of any source (a detector that sees one source), the same enrollment is late.
    const oneSource = detector();
    for (const c of [change('password.change', -30, 'other@acme.example', 'okta/hook'), reset, password]) oneSource.push(c);
    for (let m = 30; m <= 140; m += 10) oneSource.push(change('mfa.verified', m, 'busy@acme.example', 'okta/hook'));
    oneSource.push({ ...enroll, id: `${enroll.id.slice(0, -1)}f`, source: { ...enroll.source, idp: 'okta', via: 'hook', eventIds: ['okta-late'] } });
    expect(oneSource.stats.late).toBe(1);
  });

  it('holds an absence window open while a source is behind, and releases it once that source is idle', () => {
    const run = (idleAfterMs: number) => {
      const d = detector({ idleAfterMs });
      d.push(change('password.change', 0, 'other@acme.example', 'entra/poll'));
      d.push(change('factor.remove', 0, 'dana@acme.example', 'okta/hook'));
      // Okta delivers for 13 hours; Entra says nothing.
      for (let m = 60; m <= 13 * 60; m += 60) d.push(change('mfa.verified', m, 'busy@acme.example', 'okta/hook'));
      return d;
    };
    // Idle after 3 hours (the default): Entra stops holding, the absence falls due at 12h30 on Okta's watermark.
    const idle = run(3 * HOUR);
    expect(idle.alerts.map((a) => [a.rule, a.key])).toEqual([['factor-removed-not-reenrolled', 'dana@acme.example']]);
    // Never idle: Entra could still deliver the re-enrollment, so the window stays open.
    const waiting = run(24 * HOUR);
    expect(waiting.alerts).toEqual([]);
    expect(waiting.pendingAbsences).toBe(1);
    // Entra catches up with nothing for Dana: now it falls due.
    waiting.push(change('password.change', 13 * 60, 'other@acme.example', 'entra/poll'));
    expect(waiting.alerts.map((a) => a.rule)).toEqual(['factor-removed-not-reenrolled']);
  });

  it('counts a record from an idle source that is older than the low watermark as late', () => {
    const d = detector();
    d.push(change('password.change', 0, 'other@acme.example', 'entra/poll'));
    for (let m = 60; m <= 5 * 60; m += 60) d.push(change('mfa.verified', m, 'busy@acme.example', 'okta/hook'));
    // Entra has been silent for 5 hours of event time (idle after 3): its record from 1 hour in is too late.
    d.push(change('factor.enroll', 60, 'dana@acme.example', 'entra/poll'));
    expect(d.stats.late).toBe(1);
  });

  it('a record that is not a change (a sign-in) moves its source on: an absence window closes on it', () => {
    const d = detector();
    d.push(change('factor.remove', 0, 'dana@acme.example', 'okta/hook'));
    expect(d.progress('okta', 'hook', T0 + 12 * HOUR)).toEqual([]);
    expect(d.pendingAbsences).toBe(1);
    // 12 hours and the lateness later, a sign-in of anyone: the window has passed on Okta's watermark.
    expect(d.progress('okta', 'hook', T0 + 12.5 * HOUR).map((a) => a.rule)).toEqual(['factor-removed-not-reenrolled']);
  });
});

/** mulberry32: a small seeded PRNG, so a failing interleaving can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SOURCES = ['okta/hook', 'okta/poll', 'entra/poll', 'm365/poll', 'api/api'] as const;

/**
 * People's stories over two days, each change from one of five sources:
 * the seed chain (Okta, the mailbox rule from Microsoft 365), factors removed
 * and re-enrolled through Entra (or not, or too late), push fatigue, a
 * recovery change then an enrollment, one agent resetting five people, and
 * unrelated changes. A person's steps from one source are at least 31 minutes
 * apart (more than the lateness), so what a story matches does not depend on
 * the order within the lateness; different people's changes interleave freely.
 */
function stories(random: () => number, people: number): IdentityChange[] {
  const out: IdentityChange[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const okta = () => pick(['okta/hook', 'okta/poll'] as const);
  for (let p = 0; p < people; p++) {
    const who = `p${p}@acme.example`;
    const b = Math.floor(random() * 48 * 60);
    const gap = () => 31 + Math.floor(random() * 20);
    switch (Math.floor(random() * 6)) {
      case 0: {
        const src = okta();
        let t = b;
        out.push(change('factor.reset_all', t, who, src, 'helpdesk', `agent${p}@acme.example`));
        out.push(change('factor.enroll', (t += gap()), who, src));
        out.push(change('password.reset', (t += gap()), who, src));
        out.push(change('mailbox.rule', t + 10 + Math.floor(random() * 120), who, 'm365/poll'));
        break;
      }
      case 1:
        out.push(change('factor.remove', b, who, okta()));
        if (random() < 0.7) out.push(change('factor.enroll', b + 30 + Math.floor(random() * 14 * 60), who, 'entra/poll'));
        break;
      case 2: {
        for (let i = 0; i < 5; i++) out.push(change('mfa.denied', b + i, who, 'okta/hook'));
        out.push(change('mfa.verified', b + 6, who, 'okta/hook'));
        break;
      }
      case 3:
        out.push(change('recovery.update', b, who, 'entra/poll'));
        out.push(change('factor.enroll', b + 5 + Math.floor(random() * 90), who, okta()));
        break;
      case 4: {
        const agent = `bulk${p}@acme.example`;
        for (let i = 0; i < 5; i++) out.push(change('password.reset', b + i * 4, `t${p}-${i}@acme.example`, 'api/api', 'api', agent));
        break;
      }
      default:
        out.push(change(pick(['password.change', 'password.expire', 'factor.suspend'] as const), b, who, pick(SOURCES)));
    }
  }
  return out;
}

/**
 * Deliveries: each source with its own delay (up to 2½ hours: an outage
 * then a back-fill, Exchange's usual lag) and each record up to the
 * lateness out of order within its source; the sources interleaved by
 * arrival.
 */
function interleave(random: () => number, changes: readonly IdentityChange[]): IdentityChange[] {
  const delay = new Map(SOURCES.map((s) => [s, Math.floor(random() * 150 * MIN)]));
  const arrival = changes.map((c) => ({
    c,
    at: Date.parse(c.occurredAt) + delay.get(`${c.source.idp}/${c.source.via}` as (typeof SOURCES)[number])! + Math.floor(random() * 29 * MIN),
  }));
  return arrival.sort((a, b) => a.at - b.at).map((a) => a.c);
}

function run(changes: readonly IdentityChange[], options: Partial<MemoryDetectorOptions> = {}) {
  const d = detector({ idleAfterMs: 7 * 24 * HOUR, sources: [...SOURCES], ...options });
  for (const c of changes) d.push(c);
  d.advanceTo(T0 + 10 * 24 * HOUR);
  return d;
}

describe('property: any interleaving of sources, each in order within its lateness, finds what the event-time order finds', () => {
  it.each(Array.from({ length: 25 }, (_, i) => 1000 + i))('seed %i', (seed) => {
    const random = prng(seed);
    const changes = stories(random, 60);
    const sorted = [...changes].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
    const reference = run(sorted);
    const delivered = interleave(random, changes);
    const got = run(delivered);
    expect(got.stats.late).toBe(0);
    expect(matches(got.alerts)).toEqual(matches(reference.alerts));
    expect(got.stats.matches).toBe(reference.stats.matches);
  });

  it('is a property of per-source watermarks: the same deliveries seen as one source lose changes as late', () => {
    let differing = 0;
    for (let seed = 1000; seed < 1025; seed++) {
      const random = prng(seed);
      const changes = stories(random, 60);
      const reference = run([...changes].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt)));
      const asOne = interleave(random, changes).map((c) => ({ ...c, source: { ...c.source, idp: 'okta', via: 'hook' as const } }));
      const got = run(asOne, { sources: ['okta/hook'] });
      if (got.stats.late > 0 && matches(got.alerts).join('\n') !== matches(reference.alerts).join('\n')) differing++;
    }
    expect(differing).toBeGreaterThan(20);
  });
});
