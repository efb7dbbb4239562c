import { describe, expect, it } from 'vitest';
import { generateWorkload } from '../../bench/detect-changes.js';
import type { IdentityChange } from '../core/identity-change.js';
import { alertChangeOf } from './alert.js';
import { compileRulePack } from './compile-rule-pack.js';
import { changeUid, DetectionEngine } from './detection-engine.js';
import { bytesOf, decodeBytes, decodeUnits, HeldChanges } from './held-changes.js';
import { IdentityResolver } from './identity-keys.js';
import { KeyTable } from './key-table.js';
import { MemoryDetector } from './memory-detector.js';
import { shippedRuleSources } from './rule-sources.js';
import { SeenChanges } from './seen-changes.js';

/** The memory detector's state outside the JavaScript heap: what it reads back must be exactly what it was given. */

function change(i: number, over: Partial<IdentityChange> = {}, source: Partial<IdentityChange['source']> = {}): IdentityChange {
  const principal = {
    id: `00u${i}`,
    login: `user.${i}@acme.example`,
    groups: [],
    adminRoles: [],
    flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
    attributes: {},
  };
  return {
    id: `019c167f-f8a4-754c-8f88-${String(i).padStart(12, '0')}`,
    tenant: 'acme',
    source: { idp: 'okta', eventIds: [`evt-${i}`], rawType: 'user.mfa.factor.reset_all', via: 'poll', ...source },
    kind: 'factor.reset_all',
    channel: 'helpdesk',
    target: principal,
    actor: { ...principal, id: 'agent', login: 'agent@acme.example', type: 'user' },
    occurredAt: '2026-03-02T09:00:00.000Z',
    observedAt: '2026-03-02T09:00:01.000Z',
    context: {},
    ...over,
  } as IdentityChange;
}

describe('held changes', () => {
  it('read back what alertChangeOf keeps, exactly: other scripts, lone surrogates, no login, a covering request, several or no event ids', () => {
    const held = new HeldChanges();
    const cases: Array<[IdentityChange, string | undefined]> = [
      [change(1), undefined],
      [change(2, { target: { ...change(2).target, login: 'zoë.ünal@acme.example' } }), 'req-1'],
      [change(3, { actor: { ...change(3).actor, login: 'bad\ud800surrogate✓' } }), undefined],
      [change(4, { target: { ...change(4).target, login: undefined, email: undefined } }), undefined],
      [change(5, {}, { eventIds: ['a', 'b', 'c'] }), undefined],
      [change(6, {}, { eventIds: [] }), undefined],
      [change(7, { occurredAt: '2026-03-02T10:00:00+01:00' }, { rawType: 'x'.repeat(70_000) }), undefined],
      [change(8, {}, { rawType: '✓'.repeat(40_000), eventIds: ['y'.repeat(0x7ffc), 'z'.repeat(0x7ffd), 'é'.repeat(0x7fff)] }), '✓'.repeat(0x7ffe)],
      // Self-service: the actor's label is the target's (written once).
      [change(9, { channel: 'self_service', actor: { ...change(9).target, type: 'user' } }), undefined],
      [change(10, { actor: { ...change(10).target, id: 'other', type: 'user' } }), undefined],
    ];
    const rows = cases.map(([c, covered]) => held.add(c, covered));
    for (const row of rows) held.retain(row);
    cases.forEach(([c, covered], i) => {
      expect(JSON.stringify(held.alertChange(rows[i]!))).toBe(JSON.stringify(alertChangeOf(c, covered)));
    });
    expect(held.alertChange(rows[1]!)).toEqual(alertChangeOf(cases[1]![0], 'req-1'));
  });

  it('decode what they wrote the same way through the bytes (little-endian) and unit by unit (any machine)', () => {
    const strings = ['', 'a', 'ab', 'user.6847@acme.example', 'zoë.ünal\u00ff', 'bad\ud800surrogate✓', '日本', 'x'.repeat(9_001), '✓'.repeat(5_000)];
    const units = new Uint16Array(40_000);
    const bytes = bytesOf(units);
    let at = 0;
    for (const s of strings) {
      const wide = [...s].some((c) => c.charCodeAt(0) > 0xff) || /[\ud800-\udfff]/.test(s);
      if (wide) for (let i = 0; i < s.length; i++) units[at + i] = s.charCodeAt(i);
      else for (let i = 0; i < s.length; i += 2) units[at + (i >> 1)] = s.charCodeAt(i) | ((s.charCodeAt(i + 1) || 0) << 8);
      expect(decodeUnits(units, at, s.length, wide)).toBe(s);
      if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) expect(decodeBytes(bytes, at, s.length, wide)).toBe(s);
      at += wide ? s.length : (s.length + 1) >> 1;
    }
  });

  it('tell the same change as holds() does: the same de-duplication key or the same id', () => {
    const held = new HeldChanges();
    const a = held.add(change(1), undefined);
    const sameEvent = held.add(change(2, {}, { eventIds: ['evt-1'] }), undefined);
    const sameId = held.add(change(3, { id: change(1).id }), undefined);
    const other = held.add(change(4), undefined);
    const otherIdp = held.add(change(5, {}, { idp: 'entra', eventIds: ['evt-1'] }), undefined);
    expect([held.same(a, sameEvent), held.same(a, sameId), held.same(a, other), held.same(a, otherIdp)]).toEqual([true, true, false, false]);
    // Without vendor event ids the key is `id:<change id>` (changeUid).
    const noEvents = change(6, {}, { eventIds: [] });
    const idKeyed = held.add(change(7, {}, { idp: 'id', eventIds: [noEvents.id] }), undefined);
    expect(changeUid(change(7, {}, { idp: 'id', eventIds: [noEvents.id] }))).toBe(changeUid(noEvents));
    const noEventsRow = held.add(noEvents, undefined);
    expect([held.same(noEventsRow, idKeyed), held.same(idKeyed, noEventsRow)]).toEqual([true, true]);
    // The same event id under another IdP than `id` is another key; so is another change id without events.
    const otherIdKeyed = held.add(change(8, {}, { idp: 'okta', eventIds: [noEvents.id] }), undefined);
    const otherNoEvents = held.add(change(9, {}, { eventIds: [] }), undefined);
    expect([held.same(noEventsRow, otherIdKeyed), held.same(otherIdKeyed, noEventsRow), held.same(noEventsRow, otherNoEvents)]).toEqual([false, false, false]);
    // Each pair as changeUid and the ids tell it.
    const all = [
      change(1),
      change(2, {}, { eventIds: ['evt-1'] }),
      change(3, { id: change(1).id }),
      noEvents,
      change(7, {}, { idp: 'id', eventIds: [noEvents.id] }),
    ];
    const allRows = all.map((c) => held.add(c, undefined));
    for (let i = 0; i < all.length; i++)
      for (let j = 0; j < all.length; j++)
        expect(held.same(allRows[i]!, allRows[j]!)).toBe(changeUid(all[i]!) === changeUid(all[j]!) || all[i]!.id === all[j]!.id);
  });

  it('keep rows while referenced and reuse the space of dropped ones, moving what is held', () => {
    const held = new HeldChanges();
    const kept: Array<[number, IdentityChange]> = [];
    for (let i = 0; i < 50_000; i++) {
      const c = change(i);
      const row = held.add(c, undefined);
      if (i % 100 === 0) {
        held.retain(row);
        kept.push([row, c]);
      } else held.dropIfUnheld(row);
    }
    expect(held.size).toBe(kept.length);
    expect(held.capacity).toBeLessThan(1 << 20);
    for (const [row, c] of kept) expect(held.alertChange(row)).toEqual(alertChangeOf(c));
    for (const [row] of kept) held.release(row);
    expect(held.size).toBe(0);
  });
});

describe('seen changes', () => {
  it('know the keys added, exactly, and forget them oldest first', () => {
    const seen = new SeenChanges();
    for (let i = 0; i < 5000; i++) {
      expect(seen.has('okta', `evt-${i}`)).toBe(false);
      seen.add(i);
    }
    expect(seen.has('okta', 'evt-4999')).toBe(true);
    expect(seen.has('entra', 'x:y')).toBe(false);
    seen.add(4999);
    expect(seen.has('entra:x', 'y')).toBe(true); // the same key, `entra:x:y`, as changeUid would build it
    expect(seen.has('entra', 'evt-1')).toBe(false);
    while (seen.oldestAt() < 4000) seen.dropOldest();
    expect(seen.size).toBe(1001);
    expect(seen.has('okta', 'evt-3999')).toBe(false);
    expect(seen.has('okta', 'evt-4000')).toBe(true);
    // Many more, with the oldest forgotten as they go: the space is reused.
    for (let i = 5000; i < 200_000; i++) {
      if (!seen.has('id', `c-${i}`)) seen.add(i);
      while (seen.oldestAt() < i - 1000) seen.dropOldest();
    }
    expect(seen.size).toBe(1001);
    expect(seen.has('id', 'c-199000')).toBe(true);
    expect(seen.has('id', 'c-198998')).toBe(false);
  });
});

describe('key table', () => {
  it('finds keys exactly, forgets removed ones, and gives their names back', () => {
    const keys = new KeyTable();
    const rows = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const key = i % 7 === 0 ? `ünïcode.${i}@acme.example` : `user.${i}@acme.example`;
      expect(keys.find(key)).toBe(-1);
      rows.set(key, keys.insert(key));
      if (i % 3 === 0) {
        const gone = i % 7 === 0 ? `ünïcode.${i}@acme.example` : `user.${i}@acme.example`;
        keys.remove(rows.get(gone)!);
        rows.delete(gone);
      }
    }
    expect(keys.size).toBe(rows.size);
    for (const [key, row] of rows) {
      expect(keys.find(key)).toBe(row);
      expect(keys.name(row)).toBe(key);
    }
    expect(keys.find('user.3@acme.example')).toBe(-1);
    expect(keys.find('user.1@acme.exampl')).toBe(-1);
  });
});

describe('alerts built when final (buildWhenFinal, as the replay streams them)', () => {
  it('are the alerts streamed when built as they grow, in the same order, with duplicates, late changes and evictions', () => {
    const pack = compileRulePack(shippedRuleSources());
    const workload: IdentityChange[] = [];
    for (const c of generateWorkload(200_000, 20_260_302)) {
      if (workload.length === 12_000) break;
      workload.push(c);
      // Delivered twice, and some hours late, as in the equivalence test.
      if (workload.length % 41 === 0) workload.push(c);
      if (workload.length % 97 === 0)
        workload.splice(Math.max(0, workload.length - 900), 0, {
          ...c,
          id: c.id.replace(/.$/, 'f'),
          source: { ...c.source, eventIds: [`late-${workload.length}`] },
        });
    }
    // And one where alerts grow: help-desk changes on the same people, minutes apart, grouped and not.
    const grouped: IdentityChange[] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 3 === 0 ? 'factor.enroll' : i % 3 === 1 ? 'password.reset' : 'factor.remove';
      const at = new Date(Date.parse('2026-03-02T00:00:00.000Z') + i * 7 * 60_000 + (i % 5) * 3_600_000).toISOString();
      const person = Math.floor(i / 30) % 40;
      grouped.push(change(i, { kind, occurredAt: at, target: { ...change(person).target } } as Partial<IdentityChange>, { rawType: kind }));
    }
    for (const [input, limits] of [
      [workload, {}],
      [workload, { maxKeys: 400, maxEventsPerKey: 4 }],
      [grouped, {}],
    ] as const) {
      const run = (buildWhenFinal: boolean) => {
        let n = 0;
        const out: string[] = [];
        const d = new MemoryDetector(new DetectionEngine(pack, new IdentityResolver()), {
          tenant: 'acme',
          latenessMs: 30 * 60_000,
          groupForMs: 2 * 3_600_000,
          newId: () => `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`,
          onFinal: (a) => void out.push(JSON.stringify(a)),
          buildWhenFinal,
          ...limits,
        });
        for (const c of input) d.push(c);
        d.advanceTo(d.newest + 48 * 3_600_000);
        d.finish();
        return { out, stats: d.stats, held: d.heldChanges };
      };
      const eager = run(false);
      const built = run(true);
      expect(eager.out.length).toBeGreaterThan(30);
      if ('maxKeys' in limits) expect(eager.stats.evicted).toBeGreaterThan(100);
      if (input === workload) expect(eager.stats.duplicates).toBeGreaterThan(100);
      else expect(eager.out.filter((a) => (JSON.parse(a) as { matches: unknown[] }).matches.length > 1).length).toBeGreaterThan(30);
      expect(built.out).toEqual(eager.out);
      expect(built.stats).toEqual(eager.stats);
      expect(built.held).toBe(eager.held);
    }
  }, 120_000);
});
