import { describe, expect, it } from 'vitest';
import { generateWorkload } from '../../bench/detect-changes.js';
import type { Alert } from '../core/alert.js';
import type { IdentityChange } from '../core/identity-change.js';
import { runExpression } from '../core/policy/evaluate-policy.js';
import { TIERS, type Tier } from '../core/tiers.js';
import { alertChangeOf, groupsWith, mergeMatch, newAlert } from './alert.js';
import { compileRulePack, type CompiledDetectionRule, type CompiledRulePack, type KeyRef } from './compile-rule-pack.js';
import { addObservation, cap, dueAt, expiresAt, fireDue, holds, prune, type Found, type KeyState, type Observation } from './correlate.js';
import { changeUid, DetectionEngine, type ChangeFacts } from './detection-engine.js';
import { IdentityResolver, type IdentityConfig } from './identity-keys.js';
import { isoMillis } from './iso-millis.js';
import { MemoryDetector, type DetectorStats } from './memory-detector.js';
import { shippedRuleSources } from './rule-sources.js';

/**
 * The memory detector is built for speed: steps found through the pack's
 * kind index, steps the index decides not evaluated again, a change's
 * conditions given only the variables they read, every rule's state for a
 * key found with one lookup, no state for one-change thresholds, a sweep
 * that skips keys it cannot drop anything from. None of that may change what
 * it finds. Here it runs side by side with a reference written the
 * straightforward way (every step of every rule evaluated on every change,
 * one map of states per rule, the same correlation functions) over the
 * benchmark's generated month, perturbed with duplicates, late and
 * out-of-order deliveries, other spellings of logins and target tiers, and
 * must give the same alerts after every change, the same counts, and hold
 * the same state.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Rules beyond the shipped pack, for what it does not use: expression keys and distinct values, the tier and `now` in a step, a channel-only step, a rule's own lateness, a step on no kind. */
const EXTRA = `apiVersion: warden/v1
kind: DetectionRules
rules:
  - id: same-idp-burst
    title: Burst of resets through one IdP, by distinct targets
    severity: low
    type: threshold
    by: 'change.source.idp'
    distinct: 'change.target.id'
    count: 3
    window: 20m
    when: 'change.kind in ["password.reset", "factor.reset_all"]'
    intent: test
    falsePositives: test
    attack: [{ id: T1098, name: Account Manipulation }]
  - id: privileged-enroll-then-mailbox
    title: Privileged enrollment then a mailbox rule
    severity: high
    type: sequence
    by: target
    window: 6h
    allowedLateness: 2h
    steps:
      - { name: enroll, when: 'change.kind == "factor.enroll" && target.tier in ["privileged", "executive"] && now > timestamp("2000-01-01T00:00:00Z")' }
      - { name: rule, when: 'change.kind == "mailbox.rule"' }
    intent: test
    falsePositives: test
    attack: [{ id: T1098, name: Account Manipulation }]
  - id: helpdesk-pair
    title: Two help-desk changes by one agent
    severity: medium
    type: threshold
    by: actor
    count: 2
    window: 2h
    when: 'change.channel == "helpdesk"'
    intent: test
    falsePositives: test
    attack: [{ id: T1098, name: Account Manipulation }]
  - id: unlock-without-enroll
    title: Unlocked and no factor enrolled
    severity: low
    type: absence
    by: target
    window: 3h
    steps:
      - { name: unlocked, when: 'change.kind == "account.unlock" && change.actor.id != ""' }
      - { name: enrolled, when: 'change.kind == "factor.enroll" || change.kind == "factor.update"' }
    intent: test
    falsePositives: test
    attack: [{ id: T1098, name: Account Manipulation }]
`;

/** Every step of every rule on every change, through the CEL variables as policy has them. */
function referenceTouches(pack: CompiledRulePack, ids: IdentityResolver, change: IdentityChange, facts: ChangeFacts, onError: () => void) {
  const activation = {
    change,
    target: { ...change.target, tier: facts.tier ?? 'standard' },
    actor: change.actor,
    context: change.context,
    request: facts.request ?? {},
    now: new Date(change.occurredAt),
  };
  const keyOf = (ref: KeyRef): string | undefined => {
    if (ref.kind === 'target') return ids.keyOf(change.target, change.source.idp);
    if (ref.kind === 'actor') return ids.keyOf(change.actor, change.source.idp);
    const value: unknown = ref.expr.evaluate(activation);
    return typeof value === 'string' && value !== '' ? `${ref.source}=${value}` : undefined;
  };
  const out: Array<{ rule: CompiledDetectionRule; ruleIndex: number; key: string; obs: Observation }> = [];
  pack.rules.forEach((rule, ruleIndex) => {
    let mask = 0;
    rule.steps.forEach((step, i) => {
      const result = runExpression(step.when, activation);
      if (!result.ok) onError();
      else if (result.value) mask |= 1 << i;
    });
    if (mask === 0) return;
    const key = keyOf(rule.by);
    const distinct = rule.distinct ? keyOf(rule.distinct) : undefined;
    if (key === undefined || (rule.distinct && distinct === undefined)) {
      onError();
      return;
    }
    const base = { uid: changeUid(change), at: isoMillis(change.occurredAt), mask, change: alertChangeOf(change) };
    out.push({ rule, ruleIndex, key, obs: distinct === undefined ? base : { ...base, distinct } });
  });
  return out;
}

interface RefEntry extends KeyState {
  rule: CompiledDetectionRule;
  ruleIndex: number;
  key: string;
  expires: number;
  due: number | undefined;
  gone: boolean;
}

/** The detector as first written: one map of states per rule, every state visited by each sweep. */
class ReferenceDetector {
  readonly alerts: Alert[] = [];
  readonly stats: DetectorStats = { changes: 0, observed: 0, late: 0, duplicates: 0, evicted: 0, errors: 0, matches: 0 };
  readonly #states: Map<string, RefEntry>[];
  #size = 0;
  #sinceScan = 0;
  /** Deadlines as a binary min-heap, exactly as the detector keeps them (ties come out in the same order). */
  readonly #dueAt: number[] = [];
  readonly #dueEntry: RefEntry[] = [];
  readonly #seen = new Map<string, number>();
  readonly #open = new Map<string, { alert: Alert; index: number }>();
  readonly #maxLateness: number;
  readonly #reachMs: number;
  #newest = -Infinity;
  /** Per source (`idp/via`): newest event time delivered, and the newest event time of any source when it last delivered. */
  readonly #sources = new Map<string, { at: number; seen: number }>();
  #low = -Infinity;

  constructor(
    readonly pack: CompiledRulePack,
    readonly ids: IdentityResolver,
    readonly options: { latenessMs: number; groupForMs: number; idleAfterMs: number; maxKeys: number; maxEventsPerKey: number; newId: () => string },
  ) {
    this.#states = pack.rules.map(() => new Map());
    this.#maxLateness = Math.max(options.latenessMs, ...pack.rules.map((r) => r.latenessMs ?? 0));
    this.#reachMs = options.groupForMs + this.#maxLateness + Math.max(0, ...pack.rules.map((r) => r.windowMs));
  }

  get stateCount(): number {
    return this.#size;
  }

  get heldChanges(): number {
    let n = 0;
    for (const m of this.#states) for (const e of m.values()) n += e.events.length;
    return n;
  }

  get pendingAbsences(): number {
    let n = 0;
    for (const m of this.#states) for (const e of m.values()) if (e.rule.type === 'absence') for (const o of e.events) if (o.mask & 1) n++;
    return n;
  }

  #lateness(rule: CompiledDetectionRule): number {
    return rule.latenessMs ?? this.options.latenessMs;
  }

  push(change: IdentityChange, facts: ChangeFacts): Alert[] {
    this.stats.changes++;
    const uid = changeUid(change);
    if (this.#seen.has(uid)) {
      this.stats.duplicates++;
      return [];
    }
    const at = isoMillis(change.occurredAt);
    const touched: Alert[] = [];
    // Per-source watermarks, written out: the change is measured against its own source when that
    // source is active (delivered within idleAfter of event time), else against the low watermark.
    this.#newest = Math.max(this.#newest, at);
    const source = `${change.source.idp}/${change.source.via}`;
    const active = (m: { seen: number } | undefined) => m !== undefined && this.#newest - m.seen <= this.options.idleAfterMs;
    const lowOf = () => Math.min(this.#newest, ...[...this.#sources.values()].filter(active).map((m) => m.at));
    const mine = this.#sources.get(source);
    const reference = Math.max(active(mine) ? Math.min(mine!.at, this.#newest) : lowOf(), this.#low);
    this.#sources.set(source, { at: Math.max(mine?.at ?? -Infinity, at), seen: this.#newest });
    if (lowOf() > this.#low) {
      this.#low = lowOf();
      this.#fireDue(touched);
    }
    const touches = referenceTouches(this.pack, this.ids, change, facts, () => this.stats.errors++);
    let late = false;
    for (const { rule, ruleIndex, key, obs } of touches) {
      const lateness = this.#lateness(rule);
      const horizon = this.#low - lateness;
      if (obs.at < reference - lateness) {
        late = true;
        continue;
      }
      const states = this.#states[ruleIndex]!;
      let entry = states.get(key);
      if (!entry) {
        entry = { rule, ruleIndex, key, events: [], expires: 0, due: undefined, gone: false };
        states.set(key, entry);
        this.#size++;
      }
      const found: Found[] = rule.type === 'absence' ? fireDue(rule, entry, horizon) : [];
      prune(rule, entry, horizon);
      if (!holds(entry, obs)) {
        found.push(...addObservation(rule, entry, obs));
        if (entry.events.length > this.options.maxEventsPerKey) this.stats.evicted += cap(entry, this.options.maxEventsPerKey);
      }
      for (const f of found) touched.push(this.#raise(rule, key, f));
      this.#update(entry, lateness);
    }
    if (touches.length > 0) {
      this.stats.observed++;
      this.#seen.set(uid, at);
    }
    if (late) this.stats.late++;
    if (++this.#sinceScan >= 256 && this.#sinceScan >= this.#size >> 3) this.#housekeeping();
    else if (this.#size > this.options.maxKeys) this.#evict();
    return dedupe(touched);
  }

  advanceTo(ms: number): Alert[] {
    const touched: Alert[] = [];
    if (ms > this.#low) {
      this.#newest = Math.max(this.#newest, ms);
      for (const m of this.#sources.values()) Object.assign(m, { at: Math.max(m.at, ms), seen: Math.max(m.seen, ms) });
      this.#low = ms;
      this.#fireDue(touched);
      this.#housekeeping();
    }
    return dedupe(touched);
  }

  #update(entry: RefEntry, lateness: number): void {
    const expires = expiresAt(entry.rule, entry, lateness);
    if (expires === undefined) return this.#remove(entry);
    entry.expires = expires;
    const due = dueAt(entry.rule, entry, lateness);
    if (due !== undefined && due !== entry.due) {
      entry.due = due;
      this.#pushDue(due, entry);
    }
  }

  #remove(entry: RefEntry): void {
    if (entry.gone) return;
    entry.gone = true;
    this.#states[entry.ruleIndex]!.delete(entry.key);
    this.#size--;
  }

  #pushDue(at: number, entry: RefEntry): void {
    const t = this.#dueAt;
    const e = this.#dueEntry;
    let i = t.length;
    t.push(at);
    e.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (t[parent]! <= at) break;
      [t[i], t[parent]] = [t[parent]!, t[i]!];
      [e[i], e[parent]] = [e[parent]!, e[i]!];
      i = parent;
    }
  }

  #popDue(): RefEntry {
    const t = this.#dueAt;
    const e = this.#dueEntry;
    const top = e[0]!;
    const lastAt = t.pop()!;
    const lastEntry = e.pop()!;
    if (t.length > 0) {
      t[0] = lastAt;
      e[0] = lastEntry;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < t.length && t[l]! < t[m]!) m = l;
        if (r < t.length && t[r]! < t[m]!) m = r;
        if (m === i) break;
        [t[i], t[m]] = [t[m]!, t[i]!];
        [e[i], e[m]] = [e[m]!, e[i]!];
        i = m;
      }
    }
    return top;
  }

  #fireDue(touched: Alert[]): void {
    while (this.#dueAt.length > 0 && this.#dueAt[0]! <= this.#low) {
      const entry = this.#popDue();
      if (entry.gone) continue;
      entry.due = undefined;
      const lateness = this.#lateness(entry.rule);
      const horizon = this.#low - lateness;
      for (const f of fireDue(entry.rule, entry, horizon)) touched.push(this.#raise(entry.rule, entry.key, f));
      prune(entry.rule, entry, horizon);
      this.#update(entry, lateness);
    }
  }

  #housekeeping(): void {
    this.#sinceScan = 0;
    for (const states of this.#states)
      for (const entry of states.values()) if (entry.expires <= this.#low && !(entry.rule.type === 'absence' && entry.due !== undefined)) this.#remove(entry);
    if (this.#size > this.options.maxKeys) this.#evict();
    const keepSeenFrom = this.#low - this.#maxLateness;
    for (const uid of this.#seen.keys()) {
      if (this.#seen.get(uid)! >= keepSeenFrom && this.#seen.size <= 4 * this.options.maxKeys) break;
      this.#seen.delete(uid);
    }
    for (const key of this.#open.keys()) {
      if (isoMillis(this.#open.get(key)!.alert.lastAt) + this.#reachMs >= this.#low) break;
      this.#open.delete(key);
    }
  }

  #evict(): void {
    const expiries = Float64Array.from([...this.#states].flatMap((m) => [...m.values()].map((e) => e.expires))).sort();
    const target = Math.floor(this.options.maxKeys * 0.9);
    const cutoff = expiries[this.#size - target - 1] ?? -Infinity;
    for (const states of this.#states)
      for (const e of states.values()) {
        if (this.#size <= target) return;
        if (e.expires <= cutoff) {
          this.stats.evicted += e.events.length;
          this.#remove(e);
        }
      }
  }

  #raise(rule: CompiledDetectionRule, key: string, found: Found): Alert {
    this.stats.matches++;
    const match = {
      rule: { id: rule.id, title: rule.title, severity: rule.severity, attack: rule.attack.map((a) => a.id) },
      key,
      changes: found.map((o) => o.change),
    };
    const now = new Date(this.#newest);
    const open = this.#open.get(key);
    if (open && groupsWith(open.alert, match, this.options.groupForMs)) {
      const merged = mergeMatch(open.alert, match, now);
      this.alerts[open.index] = merged;
      this.#open.set(key, { alert: merged, index: open.index });
      return merged;
    }
    if (open) this.#open.delete(key);
    const alert = newAlert({ id: this.options.newId(), tenant: 'acme', match, now, rulesVersion: this.pack.version });
    this.#open.set(key, { alert, index: this.alerts.length });
    this.alerts.push(alert);
    return alert;
  }
}

function dedupe(alerts: Alert[]): Alert[] {
  const last = new Map<string, Alert>();
  for (const a of alerts) last.set(a.id, a);
  return [...last.values()];
}

function counter(): () => string {
  let n = 0;
  return () => `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`;
}

/** The first days of the benchmark's month, delivered less tidily: duplicates, late and early deliveries, logins spelled otherwise, denials all of pushes. */
function workload(count: number): Array<{ change: IdentityChange; facts: ChangeFacts }> {
  const changes: IdentityChange[] = [];
  for (const change of generateWorkload(200_000, 20_260_302)) if (changes.push(change) === count) break;
  const out: IdentityChange[] = [];
  const later = new Map<number, IdentityChange[]>();
  const deliverAt = (i: number, c: IdentityChange) => later.set(i, [...(later.get(i) ?? []), c]);
  changes.forEach((original, i) => {
    out.push(...(later.get(i) ?? []));
    let c = original;
    if (i % 89 === 0) c = { ...c, target: { ...c.target, login: c.target.login!.toUpperCase() } };
    // The generator's denials use any factor; pushes are what the fatigue rule counts.
    if (c.kind === 'mfa.denied') c = { ...c, factor: { ...c.factor!, type: 'push' } };
    if (i % 41 === 0) deliverAt(i + 15, c); // delivered twice
    if (i % 97 === 0)
      deliverAt(i + 900, c); // hours late: beyond the allowed lateness
    else if (i % 53 === 0)
      deliverAt(i + 20, c); // minutes late: within it
    else out.push(c);
  });
  for (const [, cs] of [...later].sort((a, b) => a[0] - b[0])) out.push(...cs);
  return out.map((change) => ({ change, facts: { tier: TIERS[change.target.id.charCodeAt(change.target.id.length - 1) % TIERS.length] as Tier } }));
}

function compare(
  input: Array<{ change: IdentityChange; facts: ChangeFacts }>,
  pack: CompiledRulePack,
  identities: IdentityConfig,
  limits: { maxKeys: number; maxEventsPerKey: number },
) {
  const settings = { latenessMs: 30 * MIN, groupForMs: 24 * HOUR, idleAfterMs: 3 * HOUR, ...limits };
  const fast = new MemoryDetector(new DetectionEngine(pack, new IdentityResolver(identities)), { tenant: 'acme', newId: counter(), ...settings });
  const reference = new ReferenceDetector(pack, new IdentityResolver(identities), { newId: counter(), ...settings });
  const differences: string[] = [];
  input.forEach(({ change, facts }, i) => {
    const a = JSON.stringify(fast.push(change, facts));
    const b = JSON.stringify(reference.push(change, facts));
    if (a !== b && differences.length < 3) differences.push(`change ${i} (${change.kind}): ${a.slice(0, 300)} ≠ ${b.slice(0, 300)}`);
    if (i % 997 === 0 && (fast.stateCount !== reference.stateCount || fast.heldChanges !== reference.heldChanges) && differences.length < 3)
      differences.push(`after change ${i}: ${fast.stateCount}/${fast.heldChanges} states/changes held ≠ ${reference.stateCount}/${reference.heldChanges}`);
  });
  expect(differences).toEqual([]);
  const end = fast.newest + 48 * HOUR;
  expect(JSON.stringify(fast.advanceTo(end))).toBe(JSON.stringify(reference.advanceTo(end)));
  expect(fast.alerts).toEqual(reference.alerts);
  expect(fast.stats).toEqual(reference.stats);
  expect([fast.stateCount, fast.heldChanges, fast.pendingAbsences]).toEqual([reference.stateCount, reference.heldChanges, reference.pendingAbsences]);
  return { fast, reference };
}

describe('the memory detector against a straightforward reference', () => {
  const pack = compileRulePack(shippedRuleSources(), [{ file: 'extra-rules.yaml', text: EXTRA }]);
  // 12,000 changes: still every rule alerts, with hundreds of duplicates and late deliveries and thousands of
  // evictions (asserted below), at half the work of the 24,000 it used to replay twice. Pure CPU work, so the
  // limit leaves room for a machine that is busy with other work (stress-ng --cpu 2 halves what it gets).
  const input = workload(12_000);

  it('finds the same alerts, change by change, and keeps the same state (shipped pack and rules it does not use)', () => {
    const { fast } = compare(input, pack, { domains: {}, aliases: {} }, { maxKeys: 100_000, maxEventsPerKey: 1_000 });
    // The input exercises what it should: every rule alerts, and duplicates and late changes occur.
    expect(new Set(fast.alerts.flatMap((a) => a.matches.map((m) => m.rule)))).toEqual(new Set(pack.rules.map((r) => r.id)));
    expect(fast.stats.duplicates).toBeGreaterThan(100);
    expect(fast.stats.late).toBeGreaterThan(100);
    expect(fast.stats.errors).toBe(0);
  }, 120_000);

  it('evicts the same states under memory pressure, with identity aliases and domains', () => {
    const identities = { domains: { 'acme.example': 'acme.test' }, aliases: { 'boss@acme.test': ['user.10@acme.test', 'okta:00u0000000a'] } };
    const { fast } = compare(input, pack, identities, { maxKeys: 400, maxEventsPerKey: 4 });
    expect(fast.stats.evicted).toBeGreaterThan(1000);
  }, 120_000);
});
