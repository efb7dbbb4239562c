import { describe, expect, it } from 'vitest';
import type { AlertChange } from '../core/alert.js';
import { ColdStates, type FrozenState } from './cold-states.js';
import type { Observation } from './correlate.js';

function observation(n: number, over: Partial<AlertChange> = {}, extra: Partial<Observation> = {}): Observation {
  const change: AlertChange = {
    id: `0190c0de-0000-7000-8000-${String(n).padStart(12, '0')}`,
    kind: 'factor.enroll',
    channel: 'self_service',
    occurredAt: new Date(Date.UTC(2026, 2, 2, 9, n)).toISOString(),
    idp: 'okta',
    eventIds: [`evt-${n}`],
    rawType: 'user.mfa.factor.activate',
    targetId: `00u${n}`,
    target: `user${n}@acme.example`,
    actor: `user${n}@acme.example`,
    ...over,
  };
  return { uid: `okta:evt-${n}`, at: Date.parse(change.occurredAt), mask: 1, change, ...extra };
}

function state(seq: number, expires: number, events: Observation[], over: Partial<FrozenState> = {}): FrozenState {
  return { ruleIndex: 3, seq, expires, due: undefined, waiting: false, events, ...over };
}

describe('cold states', () => {
  it('give back what was frozen exactly: every string (non-ASCII too), absent and present optional fields, several event ids', () => {
    const cold = new ColdStates();
    const states = [
      state(7, 1_000, [
        observation(1),
        observation(2, { target: 'zoë@acme.example', actor: 'helpdesk@acme.example', coveredBy: 'r-1', eventIds: ['a', 'b', 'ü'] }, { mask: 3 }),
      ]),
      state(9, 2_000, [observation(3, { eventIds: [], rawType: undefined as unknown as string }, { distinct: 'tärget-3' })], { due: 1_500, waiting: true }),
    ];
    cold.freeze('zoë@acme.example', states);
    expect([cold.size, cold.heldChanges, cold.has('zoë@acme.example')]).toEqual([2, 3, true]);
    const back = cold.thaw('zoë@acme.example');
    expect(back).toStrictEqual(states);
    // The actor's label is the target's string again when they were the same.
    expect(back![0]!.events[0]!.change.actor).toBe(back![0]!.events[0]!.change.target);
    expect([cold.size, cold.heldChanges, cold.has('zoë@acme.example'), cold.thaw('zoë@acme.example')]).toEqual([0, 0, false, undefined]);
  });

  it('drop expired states when swept, but those waiting for a deadline, and count the first steps held', () => {
    const cold = new ColdStates();
    cold.freeze('a', [state(1, 100, [observation(1)]), state(2, 300, [observation(2), observation(3, {}, { mask: 2 })])]);
    cold.freeze('b', [state(3, 100, [observation(4)], { due: 900, waiting: true })]);
    cold.freeze('c', [state(4, 50, [observation(5)])]);
    expect(cold.firstSteps(() => true)).toBe(4);
    expect(cold.sweep(100)).toBe(2);
    expect([cold.has('a'), cold.has('b'), cold.has('c')]).toEqual([true, true, false]);
    expect(cold.thaw('a')!.map((s) => s.seq)).toEqual([2]);
    expect(cold.thawAll().map(([key, s]) => [key, s.map((x) => x.seq)])).toEqual([['b', [3]]]);
  });

  it('release the chunks nothing is held in any more', () => {
    const cold = new ColdStates();
    const long = 'x'.repeat(2_000);
    for (let i = 0; i < 200; i++) cold.freeze(`k${i}`, [state(i, i, [observation(i, { target: long, actor: long })])]);
    const held = cold.bytes;
    expect(held).toBeGreaterThan(64 * 1024);
    expect(cold.sweep(199)).toBe(200);
    // Only the chunk being filled stays.
    expect(cold.bytes).toBe(64 * 1024);
  });
});
