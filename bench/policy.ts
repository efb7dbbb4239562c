/**
 * Policy engine benchmark: the compiled CEL policy (100 rules) versus the same
 * 100 rules hand-written as plain TypeScript, on 10,000 generated changes.
 *
 *   npm run bench:policy            (tsx bench/policy.ts)
 *   WARDEN_BENCH_ROUNDS=9 npm run bench:policy
 *   WARDEN_BENCH_WRITE_POLICY=/tmp/p.yaml npm run bench:policy   (also writes the generated policy)
 *
 * First checks that both produce the same decision for every change (exit 1
 * with the first difference if not); then warms up and measures rounds,
 * reporting the median over rounds. Two hand-written baselines are measured:
 *   - if-chain: every rule's predicate in file order (each starts with its own
 *     cheap kind/channel test), as a straight list of `if`s would;
 *   - switch(kind): the rules filed under the change's kind, as a developer
 *     would write `switch (change.kind) { case 'factor.enroll': ... }`. The
 *     engine does the same pruning (rules are indexed by kind and channel), so
 *     this stricter baseline is printed next to the if-chain the issue's
 *     target names (ratio ≤ 3× against a hand-written if-chain).
 * Nothing here asserts on time; targets are reported, not enforced.
 */
import { writeFileSync } from 'node:fs';
import type { RequestSnapshot } from '../src/core/change-request.js';
import type { Outcome } from '../src/core/decision.js';
import type { ChangeKind, IdentityChange } from '../src/core/identity-change.js';
import { CLOCK_SKEW_MS } from '../src/core/policy/check-requirements.js';
import { compilePolicy, type CompiledExpression, type CompiledPolicy, type CompiledRule } from '../src/core/policy/compile-policy.js';
import { parseDuration } from '../src/core/policy/duration.js';
import { evaluatePolicy } from '../src/core/policy/evaluate-policy.js';
import { proofingRank, type ProofingLevel } from '../src/core/proofing.js';
import { FALLBACK_TIER, type Tier } from '../src/core/tiers.js';
import { generateWorkload, type Workload } from './policy-changes.js';
import { RULE_SPECS, TIER_SPECS, policyYaml, type Predicate, type RuleSpec } from './policy-rules.js';
import { formatNs, formatRate, formatRatio, machineLine, median, percentiles, table } from './support.js';

const TENANT = 'bench';
const CHANGES = Number(process.env.WARDEN_BENCH_CHANGES ?? 10_000);
const ROUNDS = Math.max(3, Number(process.env.WARDEN_BENCH_ROUNDS ?? 5));
const WARMUP_PASSES = 3;
const SEED = 20_240_601;
const NOW = new Date('2025-06-01T12:00:00.000Z');
const TARGET_P99_NS = 20_000;
const TARGET_RATIO = 3;

// ---------------------------------------------------------------------------
// The hand-written implementation.

interface PlainRequirement {
  proofing?: ProofingLevel;
  ticket?: { system?: string; states?: string[] };
  approvals?: { count: number; from: string[] };
  ttlMs?: number;
}

interface PlainRule {
  id: string;
  test: Predicate;
  require?: PlainRequirement;
  /** Outcome when matched (without `require`) or when `require` is not met. */
  outcome: Outcome;
  onDeny: { actions: string[]; notify: string[] };
  onHold: { actions: string[]; notify: string[] };
}

/** What both implementations must agree on. */
interface PlainDecision {
  outcome: Outcome;
  tier: Tier;
  defaulted: boolean;
  /** `id:outcome` of every rule that matched, in policy order. */
  rules: string[];
  actions: string[];
  notify: string[];
}

const split = (entries: readonly string[] = []) => ({
  actions: entries.filter((e) => !e.startsWith('notify:')),
  notify: entries.filter((e) => e.startsWith('notify:')).map((e) => e.slice('notify:'.length)),
});

function plainRule(spec: RuleSpec): PlainRule {
  return {
    id: spec.id,
    test: spec.test,
    ...(spec.require
      ? {
          require: {
            ...(spec.require.proofing ? { proofing: spec.require.proofing } : {}),
            ...(spec.require.ticket ? { ticket: spec.require.ticket } : {}),
            ...(spec.require.approvals ? { approvals: spec.require.approvals } : {}),
            ...(spec.require.ttl ? { ttlMs: parseDuration(spec.require.ttl) * 1000 } : {}),
          },
        }
      : {}),
    outcome: spec.require ? (spec.otherwise ?? 'hold') : spec.outcome!,
    onDeny: split(spec.onDeny),
    onHold: split(spec.onHold),
  };
}

/** Lower-cased id, login and email of a principal, plus further names. */
function namesOf(p: { id: string; login?: string; email?: string }, ...more: string[]): Set<string> {
  const names = new Set<string>();
  for (const n of [p.id, p.login, p.email, ...more]) if (n) names.add(n.toLowerCase());
  return names;
}

/**
 * Distinct approvers who are none of requester, executor or target (by any
 * of their names), from an allowed source, given before the change (with
 * clock skew) and within the ttl.
 */
function countApprovers(req: PlainRequirement, r: RequestSnapshot, c: IdentityChange, at: number): number {
  const parties = namesOf(c.target, r.targetId);
  for (const n of namesOf(c.actor, r.executorId)) parties.add(n);
  parties.add(r.requesterId.toLowerCase());
  const from = req.approvals?.from ?? [];
  const seen = new Set<string>();
  for (const a of r.approvals) {
    const id = a.approverId.toLowerCase();
    if (parties.has(id)) continue;
    const given = Date.parse(a.at);
    if (given > at + CLOCK_SKEW_MS || (req.ttlMs !== undefined && at - given > req.ttlMs)) continue;
    let allowed = from.length === 0;
    for (let i = 0; !allowed && i < from.length; i++) {
      const source = from[i]!;
      if (source.startsWith('group:')) allowed = a.groups.includes(source.slice(6));
      else if (source.startsWith('role:')) allowed = a.roles.includes(source.slice(5));
      else allowed = source.slice(source.indexOf(':') + 1).toLowerCase() === id;
    }
    if (allowed) seen.add(id);
  }
  return seen.size;
}

/** Whether the change request satisfies a rule's requirements (yes/no; no explanations). */
function requirementsMet(req: PlainRequirement, r: RequestSnapshot | undefined, c: IdentityChange): boolean {
  if (!r) return false;
  if (r.tenant !== c.tenant || r.kind !== c.kind || r.targetId !== c.target.id) return false;
  if (r.state !== 'approved' || r.consumedAt !== undefined) return false;
  const executor = namesOf(c.actor);
  if (!executor.has(r.executorId.toLowerCase())) return false;
  executor.add(r.executorId.toLowerCase());
  if (executor.has(r.requesterId.toLowerCase())) return false;
  const at = Date.parse(c.occurredAt);
  if (r.expiresAt !== undefined && at > Date.parse(r.expiresAt)) return false;
  if (req.proofing) {
    if (proofingRank(r.proofing?.level ?? 'none') < proofingRank(req.proofing)) return false;
    if (r.proofing) {
      const verified = Date.parse(r.proofing.verifiedAt);
      if (verified > at + CLOCK_SKEW_MS || (req.ttlMs !== undefined && at - verified > req.ttlMs)) return false;
    }
  }
  if (req.ticket) {
    if (!r.ticket) return false;
    if (req.ticket.system && r.ticket.system !== req.ticket.system) return false;
    if (req.ticket.states && !req.ticket.states.includes(r.ticket.state)) return false;
  }
  if (req.approvals && countApprovers(req, r, c, at) < req.approvals.count) return false;
  if (r.approvedAt !== undefined && Date.parse(r.approvedAt) > at + CLOCK_SKEW_MS) return false;
  if (req.ttlMs !== undefined && (r.approvedAt === undefined || at - Date.parse(r.approvedAt) > req.ttlMs)) return false;
  return true;
}

const STRICTNESS: Record<Outcome, number> = { allow: 0, hold: 1, deny: 2 };

function tierOf(c: IdentityChange): Tier {
  for (const t of TIER_SPECS) if (t.test(c.target)) return t.name;
  return FALLBACK_TIER;
}

/** The hand-written decision over a list of rules (all of them, or those of the change's kind). */
function decideByHand(rules: readonly PlainRule[], c: IdentityChange, request: RequestSnapshot | undefined, now: number): PlainDecision {
  const tier = tierOf(c);
  const matched: Array<{ rule: PlainRule; outcome: Outcome }> = [];
  for (const rule of rules) {
    if (!rule.test(c, tier, now)) continue;
    const outcome = rule.require && requirementsMet(rule.require, request, c) ? 'allow' : rule.outcome;
    matched.push({ rule, outcome });
  }
  if (matched.length === 0) return { outcome: 'allow', tier, defaulted: true, rules: [], actions: [], notify: [] };
  let outcome: Outcome = 'allow';
  for (const m of matched) if (STRICTNESS[m.outcome] > STRICTNESS[outcome]) outcome = m.outcome;
  const actions: string[] = [];
  const notify: string[] = [];
  if (outcome !== 'allow')
    for (const m of matched) {
      if (m.outcome !== outcome) continue;
      const list = outcome === 'deny' ? m.rule.onDeny : m.rule.onHold;
      for (const a of list.actions) if (!actions.includes(a)) actions.push(a);
      for (const n of list.notify) if (!notify.includes(n)) notify.push(n);
    }
  return { outcome, tier, defaulted: false, rules: matched.map((m) => `${m.rule.id}:${m.outcome}`), actions, notify };
}

const PLAIN_RULES: readonly PlainRule[] = RULE_SPECS.map(plainRule);
/** switch (change.kind): the rules filed under each kind (plus those about any kind), in policy order. */
const BY_KIND = new Map<ChangeKind, PlainRule[]>();
RULE_SPECS.forEach((spec, i) => {
  const kinds = spec.kinds === 'any' ? null : new Set(spec.kinds);
  for (const kind of [
    'factor.enroll',
    'factor.remove',
    'factor.reset_all',
    'factor.update',
    'factor.suspend',
    'password.reset',
    'password.change',
    'password.expire',
    'recovery.update',
    'tap.issue',
    'session.revoke',
    'account.suspend',
    'account.unlock',
    'support.access',
    'mfa.bypass',
    'mailbox.rule',
    'role.assign',
    'credential.add',
  ] as const) {
    if (kinds && !kinds.has(kind)) continue;
    let list = BY_KIND.get(kind);
    if (!list) BY_KIND.set(kind, (list = []));
    list.push(PLAIN_RULES[i]!);
  }
});

// ---------------------------------------------------------------------------

/**
 * The same compiled policy with the native forms of its expressions removed:
 * every expression runs through the cel-js interpreter (how the engine ran
 * before expressions were compiled natively). For comparison only.
 */
function interpreterOnly(policy: CompiledPolicy): CompiledPolicy {
  const strip = (e: CompiledExpression): CompiledExpression => ({ source: e.source, evaluate: e.evaluate, ast: e.ast, position: e.position });
  const rules = new Map(policy.rules.map((r) => [r, { ...r, when: strip(r.when) }]));
  const buckets = new Map<readonly CompiledRule[], CompiledRule[]>();
  return {
    ...policy,
    tiers: policy.tiers.map((t) => ({ ...t, when: strip(t.when) })),
    rules: [...rules.values()],
    candidates(kind, channel) {
      const original = policy.candidates(kind, channel);
      let stripped = buckets.get(original);
      if (!stripped) buckets.set(original, (stripped = original.map((r) => rules.get(r)!)));
      return stripped;
    },
  };
}

function celDecision(policy: CompiledPolicy, w: Workload): PlainDecision {
  const v = evaluatePolicy(policy, { change: w.change, ...(w.request ? { request: w.request } : {}), now: NOW });
  return {
    outcome: v.outcome,
    tier: v.tier,
    defaulted: v.defaulted,
    rules: v.rules.map((r) => `${r.id}:${r.outcome}`),
    actions: [...v.obligations.actions],
    notify: [...v.obligations.notify],
  };
}

interface Contender {
  name: string;
  run: (w: Workload) => unknown;
}

interface RoundFigures {
  p50: number;
  p99: number;
  /** ns per decision in a tight loop without per-call timers. */
  nsPerDecision: number;
}

/** Per-call latency (hrtime around each call) over the whole workload. */
function latencyPass(c: Contender, workload: readonly Workload[], sink: { n: number }): { p50: number; p99: number } {
  const samples = new Float64Array(workload.length);
  for (let i = 0; i < workload.length; i++) {
    const t0 = process.hrtime.bigint();
    const r = c.run(workload[i]!);
    const t1 = process.hrtime.bigint();
    samples[i] = Number(t1 - t0);
    if (r) sink.n++;
  }
  return percentiles(samples);
}

/** Throughput: the whole workload in a loop, timed once. */
function throughputPass(c: Contender, workload: readonly Workload[], sink: { n: number }): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < workload.length; i++) if (c.run(workload[i]!)) sink.n++;
  return Number(process.hrtime.bigint() - t0) / workload.length;
}

function timerOverhead(): number {
  const samples = new Float64Array(100_000);
  for (let i = 0; i < samples.length; i++) {
    const t0 = process.hrtime.bigint();
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  return percentiles(samples).p50;
}

function firstDifference(a: PlainDecision, b: PlainDecision): string | undefined {
  for (const key of Object.keys(a) as Array<keyof PlainDecision>)
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) return `${key}: CEL ${JSON.stringify(a[key])} vs hand-written ${JSON.stringify(b[key])}`;
  return undefined;
}

function main(): void {
  const yaml = policyYaml(TENANT);
  if (process.env.WARDEN_BENCH_WRITE_POLICY) writeFileSync(process.env.WARDEN_BENCH_WRITE_POLICY, yaml);
  const compileStart = process.hrtime.bigint();
  const policy = compilePolicy({ file: 'bench/generated-policy.yaml', text: yaml });
  const compileNs = Number(process.hrtime.bigint() - compileStart);
  const interpreted = interpreterOnly(policy);
  const workload = generateWorkload(CHANGES, SEED, TENANT, NOW);
  const now = NOW.getTime();

  console.log('Warden policy benchmark: compiled CEL policy vs hand-written TypeScript');
  console.log(`machine: ${machineLine()}`);
  const kinds = new Set(workload.map((w) => w.change.kind)).size;
  const channels = new Set(workload.map((w) => w.change.channel)).size;
  const candidates = workload.reduce((s, w) => s + policy.candidates(w.change.kind, w.change.channel).length, 0) / workload.length;
  console.log(
    `policy: ${policy.rules.length} rules, ${policy.tiers.length} tiers, compiled in ${formatNs(compileNs)}; ` +
      `workload: ${workload.length.toLocaleString('en-US')} changes (seed ${SEED}; ${kinds} kinds, ${channels} channels, ` +
      `${workload.filter((w) => w.request).length} with a change request); mean candidate rules per change: ${candidates.toFixed(1)} of ${policy.rules.length}`,
  );

  // 1. Same decisions, for every change and both hand-written variants.
  const outcomes: Record<string, number> = {};
  let matchedRules = 0;
  for (const [i, w] of workload.entries()) {
    const cel = celDecision(policy, w);
    outcomes[cel.outcome] = (outcomes[cel.outcome] ?? 0) + 1;
    matchedRules += cel.rules.length;
    const viaInterpreter = firstDifference(cel, celDecision(interpreted, w));
    if (viaInterpreter) {
      console.error(`\nDIFFERENT DECISION (native vs interpreter) for change #${i}:\n  ${viaInterpreter.replace('hand-written', 'interpreter')}`);
      process.exit(1);
    }
    for (const [name, rules] of [
      ['if-chain', PLAIN_RULES],
      ['switch(kind)', BY_KIND.get(w.change.kind) ?? []],
    ] as const) {
      const diff = firstDifference(cel, decideByHand(rules, w.change, w.request, now));
      if (diff) {
        console.error(`\nDIFFERENT DECISION (${name}) for change #${i} (${w.change.kind} via ${w.change.channel}):\n  ${diff}`);
        console.error(`  change: ${JSON.stringify(w.change)}`);
        if (w.request) console.error(`  request: ${JSON.stringify(w.request)}`);
        process.exit(1);
      }
    }
  }
  console.log(
    `equivalence: all ${workload.length.toLocaleString('en-US')} decisions equal between CEL (native and interpreter-only) and both hand-written variants (outcome, tier, matched rule ids and outcomes, actions, notify) — ` +
      `outcomes ${Object.entries(outcomes)
        .map(([o, n]) => `${o} ${n}`)
        .join(', ')}; ${(matchedRules / workload.length).toFixed(2)} matched rules per change`,
  );

  // 2. Timing.
  const contenders: Contender[] = [
    {
      name: 'CEL policy (evaluatePolicy)',
      run: (w) => evaluatePolicy(policy, { change: w.change, ...(w.request ? { request: w.request } : {}), now: NOW }).outcome,
    },
    {
      name: 'CEL, interpreter only',
      run: (w) => evaluatePolicy(interpreted, { change: w.change, ...(w.request ? { request: w.request } : {}), now: NOW }).outcome,
    },
    { name: 'hand-written if-chain', run: (w) => decideByHand(PLAIN_RULES, w.change, w.request, now).outcome },
    { name: 'hand-written switch(kind)', run: (w) => decideByHand(BY_KIND.get(w.change.kind) ?? [], w.change, w.request, now).outcome },
  ];
  const sink = { n: 0 };
  for (let pass = 0; pass < WARMUP_PASSES; pass++) for (const c of contenders) throughputPass(c, workload, sink);
  const overhead = timerOverhead();

  const rounds = new Map<string, RoundFigures[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no contender always runs right after another.
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const c of order) {
      const latency = latencyPass(c, workload, sink);
      const nsPerDecision = throughputPass(c, workload, sink);
      rounds.get(c.name)!.push({ ...latency, nsPerDecision });
    }
  }
  const summary = contenders.map((c) => {
    const r = rounds.get(c.name)!;
    return { name: c.name, p50: median(r.map((x) => x.p50)), p99: median(r.map((x) => x.p99)), ns: median(r.map((x) => x.nsPerDecision)) };
  });
  const [cel, interp, chain, sw] = summary as [(typeof summary)[0], (typeof summary)[0], (typeof summary)[0], (typeof summary)[0]];

  console.log(
    `\n${ROUNDS} measured rounds after ${WARMUP_PASSES} warm-up passes; median over rounds. Latency = hrtime around each call (timer overhead ≈ ${formatNs(overhead)}, included).`,
  );
  console.log(
    table(
      ['implementation', 'p50 latency', 'p99 latency', 'ns/decision (loop)', 'throughput'],
      summary.map((s) => [s.name, formatNs(s.p50), formatNs(s.p99), formatNs(s.ns), formatRate(1e9 / s.ns)]),
    ),
  );
  const ratio = (a: number, b: number) => formatRatio(a / b);
  console.log(
    '\n' +
      table(
        ['ratio CEL / hand-written', 'throughput (ns/decision)', 'p50', 'p99'],
        [
          ['vs if-chain  [target]', ratio(cel.ns, chain.ns), ratio(cel.p50, chain.p50), ratio(cel.p99, chain.p99)],
          ['vs switch(kind)  [stricter]', ratio(cel.ns, sw.ns), ratio(cel.p50, sw.p50), ratio(cel.p99, sw.p99)],
          ['interpreter only vs switch(kind)', ratio(interp.ns, sw.ns), ratio(interp.p50, sw.p50), ratio(interp.p99, sw.p99)],
        ],
      ),
  );

  const p99ok = cel.p99 <= TARGET_P99_NS;
  const ratioOk = cel.ns / chain.ns <= TARGET_RATIO;
  console.log(`\ntarget p99 ≤ ${formatNs(TARGET_P99_NS)}: ${p99ok ? 'MET' : 'NOT MET'} (CEL p99 ${formatNs(cel.p99)})`);
  console.log(
    `target ratio ≤ ${TARGET_RATIO}× (throughput, vs the hand-written if-chain): ${ratioOk ? 'MET' : 'NOT MET'} (${ratio(cel.ns, chain.ns)}; vs the stricter switch(kind) ${ratio(cel.ns, sw.ns)}: ${cel.ns / sw.ns <= TARGET_RATIO ? 'within' : 'above'} ${TARGET_RATIO}×)`,
  );
  if (sink.n === 0) console.log('(no decisions?)');
}

main();
