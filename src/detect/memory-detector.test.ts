import { describe, expect, it } from 'vitest';
import { RequestSnapshot } from '../core/change-request.js';
import { ChangeInput, completeChange, type ChangeInput as ChangeInputType, type IdentityChange } from '../core/identity-change.js';
import { uuidv7 } from '../core/ids.js';
import { compileRulePack } from './compile-rule-pack.js';
import { DetectionEngine } from './detection-engine.js';
import { IdentityResolver } from './identity-keys.js';
import { MemoryDetector, type MemoryDetectorOptions } from './memory-detector.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

/** A rule file with the given rules (YAML). */
function pack(rules: string) {
  return compileRulePack([{ file: 'test-rules.yaml', text: `apiVersion: warden/v1\nkind: DetectionRules\nrules:\n${rules}` }]);
}

const COMMON = `    severity: high
    intent: test
    falsePositives: none
    attack: [{ id: T1098, name: Account Manipulation }]
`;

const SEQUENCE = `  - id: enroll-then-reset
    title: Enroll then reset
    type: sequence
    window: 1h
    steps:
      - { name: enroll, when: 'change.kind == "factor.enroll"' }
      - { name: reset, when: 'change.kind == "password.reset"' }
${COMMON}`;

const ANY_ORDER = SEQUENCE.replace('enroll-then-reset', 'enroll-and-reset').replace('type: sequence', 'type: sequence\n    anyOrder: true');

const THRESHOLD = `  - id: five-resets
    title: Five resets by one actor
    type: threshold
    by: actor
    distinct: target
    count: 5
    window: 30m
    when: 'change.kind == "password.reset"'
${COMMON}`;

const ABSENCE = `  - id: removed-not-reenrolled
    title: Removed and not re-enrolled
    type: absence
    window: 12h
    steps:
      - { name: removed, when: 'change.kind == "factor.remove"' }
      - { name: enrolled, when: 'change.kind == "factor.enroll"' }
${COMMON}`;

let seq = 0;
/** A change at `minutes` after T0 (its event time); the vendor event id is unique unless given. */
interface ChangeOptions extends Omit<Partial<ChangeInputType>, 'target' | 'actor'> {
  eventId?: string;
  target?: string;
  actor?: string;
  idp?: string;
}

function change(kind: IdentityChange['kind'], minutes: number, over: ChangeOptions = {}): IdentityChange {
  const { eventId, target = 'alice@acme.example', actor, idp = 'okta', ...rest } = over;
  const occurredAt = new Date(T0 + minutes * MIN).toISOString();
  const input = ChangeInput.parse({
    kind,
    channel: 'self_service',
    target: { id: `id-${target}`, login: target },
    actor: { id: `id-${actor ?? target}`, login: actor ?? target },
    occurredAt,
    observedAt: occurredAt,
    source: { idp, eventIds: [eventId ?? `evt-${++seq}`], rawType: kind, via: 'poll' },
    ...rest,
  });
  return completeChange({ ...input, id: uuidv7() }, 'acme');
}

/** Deterministic alert ids, so two detectors' alerts compare equal. */
function counter(): () => string {
  let n = 0;
  return () => `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`;
}

function detector(rules: string, options: Partial<MemoryDetectorOptions> = {}, identities = new IdentityResolver()) {
  return new MemoryDetector(new DetectionEngine(pack(rules), identities), { tenant: 'acme', latenessMs: 30 * MIN, groupForMs: 24 * HOUR, ...options });
}

describe('sequence rules', () => {
  it('alert when the steps happen in order within the window, with the changes that formed them', () => {
    const d = detector(SEQUENCE);
    const enroll = change('factor.enroll', 0);
    const reset = change('password.reset', 40);
    expect(d.push(enroll)).toEqual([]);
    const [alert] = d.push(reset);
    expect(alert).toMatchObject({
      rule: 'enroll-then-reset',
      key: 'alice@acme.example',
      severity: 'high',
      status: 'open',
      firstAt: enroll.occurredAt,
      lastAt: reset.occurredAt,
    });
    expect(alert!.changes.map((c) => [c.id, c.occurredAt, c.eventIds])).toEqual([
      [enroll.id, enroll.occurredAt, enroll.source.eventIds],
      [reset.id, reset.occurredAt, reset.source.eventIds],
    ]);
    expect(alert!.summary).toContain('Enroll then reset on alice@acme.example');
    expect(alert!.summary).toContain('password.reset via self_service (okta) at 09:40:00Z');
  });

  it('do not alert out of order, outside the window, or across keys', () => {
    const d = detector(SEQUENCE);
    d.push(change('password.reset', 0));
    d.push(change('factor.enroll', 10));
    d.push(change('factor.enroll', 100, { target: 'bob@acme.example' }));
    d.push(change('password.reset', 170, { target: 'bob@acme.example' }));
    d.push(change('factor.enroll', 200, { target: 'carol@acme.example' }));
    d.push(change('password.reset', 210, { target: 'dave@acme.example' }));
    expect(d.alerts).toEqual([]);
  });

  it('with anyOrder, alert in either order', () => {
    const d = detector(ANY_ORDER);
    d.push(change('password.reset', 0));
    expect(d.push(change('factor.enroll', 30))).toHaveLength(1);
  });

  it('consume the changes of a match: one enrollment does not pair with two resets', () => {
    const d = detector(SEQUENCE);
    d.push(change('factor.enroll', 0));
    d.push(change('password.reset', 10));
    d.push(change('password.reset', 20));
    expect(d.stats.matches).toBe(1);
  });

  it('match a step counted several times (five denials then a success)', () => {
    const d = detector(`  - id: fatigue
    title: Fatigue
    type: sequence
    window: 10m
    steps:
      - { name: denied, count: 3, when: 'change.kind == "mfa.denied"' }
      - { name: passed, when: 'change.kind == "mfa.verified"' }
${COMMON}`);
    d.push(change('mfa.denied', 0));
    d.push(change('mfa.denied', 1));
    expect(d.push(change('mfa.verified', 2))).toEqual([]);
    d.push(change('mfa.denied', 3));
    const [alert] = d.push(change('mfa.verified', 4));
    expect(alert!.changes.map((c) => c.kind)).toEqual(['mfa.denied', 'mfa.denied', 'mfa.denied', 'mfa.verified']);
  });
});

describe('threshold rules', () => {
  it('alert at N distinct values by key within the window', () => {
    const d = detector(THRESHOLD);
    for (let i = 1; i <= 4; i++) expect(d.push(change('password.reset', i * 5, { target: `u${i}@acme.example`, actor: 'agent@acme.example' }))).toEqual([]);
    const [alert] = d.push(change('password.reset', 25, { target: 'u5@acme.example', actor: 'agent@acme.example' }));
    expect(alert).toMatchObject({ key: 'agent@acme.example', rule: 'five-resets' });
    expect(alert!.changes.map((c) => c.target)).toEqual(['u1@acme.example', 'u2@acme.example', 'u3@acme.example', 'u4@acme.example', 'u5@acme.example']);
  });

  it('count distinct values, not changes, and only within the window', () => {
    const d = detector(THRESHOLD);
    for (let i = 1; i <= 8; i++) d.push(change('password.reset', i, { target: `u${i % 2}@acme.example`, actor: 'agent@acme.example' }));
    for (let i = 1; i <= 5; i++) d.push(change('password.reset', 100 + i * 10, { target: `v${i}@acme.example`, actor: 'agent2@acme.example' }));
    expect(d.alerts).toEqual([]);
  });

  it('with count 1, alert on every matching change', () => {
    const d = detector(THRESHOLD.replace('count: 5', 'count: 1').replace('    distinct: target\n', ''));
    d.push(change('password.reset', 0, { target: 'a@acme.example', actor: 'x@acme.example' }));
    d.push(change('password.reset', 0, { target: 'b@acme.example', actor: 'y@acme.example' }));
    expect(d.alerts.map((a) => a.key)).toEqual(['x@acme.example', 'y@acme.example']);
  });
});

describe('absence rules', () => {
  it('alert when A is not followed by B within the window, once event time has passed it', () => {
    const d = detector(ABSENCE);
    const removed = change('factor.remove', 0);
    d.push(removed);
    d.advanceTo(T0 + 12 * HOUR + 29 * MIN); // window + lateness not yet passed
    expect(d.alerts).toEqual([]);
    expect(d.pendingAbsences).toBe(1);
    const [alert] = d.advanceTo(T0 + 12 * HOUR + 30 * MIN);
    expect(alert).toMatchObject({ rule: 'removed-not-reenrolled', key: 'alice@acme.example' });
    expect(alert!.changes.map((c) => c.id)).toEqual([removed.id]);
    expect(d.pendingAbsences).toBe(0);
  });

  it('do not alert when B follows within the window, even delivered before A', () => {
    const d = detector(ABSENCE);
    d.push(change('factor.remove', 0));
    d.push(change('factor.enroll', 60));
    d.push(change('factor.enroll', 130, { target: 'bob@acme.example' }));
    d.push(change('factor.remove', 120, { target: 'bob@acme.example' }));
    d.advanceTo(T0 + 48 * HOUR);
    expect(d.alerts).toEqual([]);
  });

  it('fire when a later change moves event time past the window', () => {
    const d = detector(ABSENCE);
    d.push(change('factor.remove', 0));
    const touched = d.push(change('factor.enroll', 13 * 60));
    expect(touched.map((a) => a.rule)).toEqual(['removed-not-reenrolled']);
  });
});

describe('event time and lateness', () => {
  it('a step arriving late but within the allowed lateness completes the sequence', () => {
    const d = detector(SEQUENCE);
    d.push(change('factor.enroll', 0));
    d.push(change('factor.enroll', 50, { target: 'zed@acme.example' })); // event time moves to 09:50
    expect(d.push(change('password.reset', 30))).toHaveLength(1); // 20 minutes late, 30 allowed
    expect(d.stats.late).toBe(0);
  });

  it('a step later than the allowed lateness is counted late and not correlated', () => {
    const d = detector(SEQUENCE, { latenessMs: 10 * MIN });
    d.push(change('factor.enroll', 0));
    d.push(change('factor.enroll', 50, { target: 'zed@acme.example' }));
    expect(d.push(change('password.reset', 30))).toEqual([]);
    expect(d.stats.late).toBe(1);
  });

  it('a rule may allow more lateness than the tenant default', () => {
    const d = detector(SEQUENCE.replace('window: 1h', 'window: 1h\n    allowedLateness: 2h'), { latenessMs: 10 * MIN });
    d.push(change('factor.enroll', 0));
    d.push(change('factor.enroll', 100, { target: 'zed@acme.example' }));
    expect(d.push(change('password.reset', 30))).toHaveLength(1);
  });
});

describe('duplicates', () => {
  it('a change delivered again (same vendor event, or same change id) never counts twice', () => {
    const d = detector(THRESHOLD);
    const resets = [1, 2, 3, 4].map((i) => change('password.reset', i, { target: `u${i}@acme.example`, actor: 'agent@acme.example' }));
    for (const r of resets) d.push(r);
    d.push(resets[3]!);
    d.push({ ...resets[2]!, id: uuidv7() }); // same vendor event, normalized again
    expect(d.alerts).toEqual([]);
    expect(d.stats.duplicates).toBe(2);
  });

  it('a duplicate of a change already used in an alert does not make a second match', () => {
    const d = detector(SEQUENCE);
    const enroll = change('factor.enroll', 0);
    const reset = change('password.reset', 10);
    d.push(enroll);
    d.push(reset);
    d.push(enroll);
    d.push(change('password.reset', 20));
    expect(d.stats.matches).toBe(1);
  });
});

describe('alert grouping', () => {
  it('groups matches on the same key into one alert: highest severity, every change once', () => {
    const d = detector(SEQUENCE + ABSENCE.replace('severity: high', 'severity: critical'));
    const removed = change('factor.remove', 0);
    d.push(removed);
    d.push(change('factor.enroll', 13 * 60)); // the absence fires first…
    d.push(change('password.reset', 13 * 60 + 5)); // …then the sequence: same person, same alert
    expect(d.alerts).toHaveLength(1);
    const [alert] = d.alerts;
    expect(alert!.matches.map((m) => m.rule)).toEqual(['removed-not-reenrolled', 'enroll-then-reset']);
    expect(alert).toMatchObject({ rule: 'removed-not-reenrolled', severity: 'critical' });
    expect(alert!.changes).toHaveLength(3);
  });

  it('starts a new alert beyond the grouping span', () => {
    const d = detector(SEQUENCE, { groupForMs: HOUR });
    d.push(change('factor.enroll', 0));
    d.push(change('password.reset', 10));
    d.push(change('factor.enroll', 200));
    d.push(change('password.reset', 210));
    expect(d.alerts).toHaveLength(2);
  });
});

describe('bounded memory', () => {
  it('under a flood of unrelated keys, keeps at most maxKeys states, counts what it evicts, and still detects', () => {
    const d = detector(SEQUENCE + THRESHOLD + ABSENCE, { maxKeys: 1000 });
    for (let i = 0; i < 20_000; i++) {
      d.push(
        change(i % 3 === 0 ? 'factor.remove' : i % 3 === 1 ? 'factor.enroll' : 'password.reset', i / 1000, {
          target: `flood${i}@acme.example`,
          actor: `actor${i}@acme.example`,
        }),
      );
      expect(d.stateCount).toBeLessThanOrEqual(1000);
    }
    expect(d.stats.evicted).toBeGreaterThan(15_000);
    d.push(change('factor.enroll', 60));
    expect(d.push(change('password.reset', 61))).toHaveLength(1);
  });

  it('prunes state that can no longer match as event time moves on', () => {
    const d = detector(SEQUENCE);
    for (let i = 0; i < 5_000; i++) {
      d.push(change('factor.enroll', i, { target: `user${i}@acme.example` }));
      // Expired state is swept every 256 changes (or an eighth of the state held, if more).
      expect(d.stateCount).toBeLessThanOrEqual(91 + 256);
    }
    d.advanceTo(T0 + 5_000 * MIN);
    // Each enrollment waits one hour (+30 min lateness) for a reset: only those of the last 90 minutes are kept.
    expect(d.stateCount).toBe(89);
    expect(d.heldChanges).toBe(d.stateCount);
  });

  it('keeps at most maxEventsPerKey changes for one key', () => {
    const d = detector(SEQUENCE, { maxEventsPerKey: 10 });
    for (let i = 0; i < 100; i++) d.push(change('factor.enroll', i / 10));
    expect(d.heldChanges).toBe(10);
    expect(d.stats.evicted).toBe(90);
  });
});

describe('streaming alerts (onFinal)', () => {
  it('hands over the same alerts as keeping them, each once it can no longer change, without keeping them', () => {
    const rules = SEQUENCE + THRESHOLD + ABSENCE;
    const kept = detector(rules, { newId: counter() });
    const streamed: string[] = [];
    const streaming = detector(rules, { newId: counter(), onFinal: (a) => void streamed.push(JSON.stringify(a)) });
    let handedOverEarly = 0;
    for (let i = 0; i < 3000; i++) {
      const person = `p${Math.floor(i / 30)}@acme.example`;
      const c = change(i % 3 === 0 ? 'factor.enroll' : i % 3 === 1 ? 'password.reset' : 'factor.remove', i * 7, {
        target: person,
        actor: `agent${i % 3}@acme.example`,
      });
      kept.push(c);
      streaming.push(c);
      if (i === 2000) handedOverEarly = streamed.length;
    }
    kept.advanceTo(T0 + 3000 * 7 * MIN + 48 * HOUR);
    streaming.advanceTo(T0 + 3000 * 7 * MIN + 48 * HOUR);
    streaming.finish();
    expect(streaming.alerts).toEqual([]);
    expect(handedOverEarly).toBeGreaterThan(0);
    expect(streamed.sort()).toEqual(kept.alerts.map((a) => JSON.stringify(a)).sort());
  });
});

describe('step conditions', () => {
  it('see the target tier and the matched change request, like policy', () => {
    const d = detector(`  - id: privileged
    title: Privileged reset without request
    type: threshold
    when: 'target.tier == "privileged" && !has(request.id)'
${COMMON}`);
    const c = change('password.reset', 0);
    d.push(c, { tier: 'standard' });
    const request = RequestSnapshot.parse({
      id: 'r1',
      tenant: 'acme',
      state: 'approved',
      kind: 'password.reset',
      targetId: c.target.id,
      requesterId: 'a',
      executorId: 'b',
    });
    d.push(change('password.reset', 1), { tier: 'privileged', request });
    expect(d.alerts).toEqual([]);
    d.push(change('password.reset', 2), { tier: 'privileged' });
    expect(d.alerts).toHaveLength(1);
  });

  it('count an expression that cannot be evaluated as no match, and report it', () => {
    const d = detector(`  - id: bad
    title: Bad
    type: threshold
    when: 'context.riskLevel == "high"'
${COMMON}`);
    d.push(change('password.reset', 0));
    expect(d.alerts).toEqual([]);
    expect(d.stats.errors).toBe(1);
    expect(d.errorSamples[0]).toMatchObject({ rule: 'bad', what: 'step "Bad"' });
  });
});
