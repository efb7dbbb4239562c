/**
 * Time to containment (issue 16): from an Okta event-hook POST about a risky
 * change to the compensating calls arriving at Okta — the hold-group add
 * (`PUT /api/v1/groups/{hold}/users/{user}`) and the session clear
 * (`DELETE /api/v1/users/{user}/sessions`) — through the real server with its
 * own workers (receiver → inbox → inbox worker → decision → outbox worker →
 * okta-sdk-nodejs → the Okta simulator).
 *
 *   npm run bench:containment
 *   WARDEN_BENCH_STORES=pglite-relaxed WARDEN_BENCH_SECONDS=10 npm run bench:containment
 *
 * Load: the simulator emits help-desk factor resets (`user.mfa.factor.reset_all`
 * by a HELP_DESK_ADMIN, no change request: the example policy holds them) at
 * WARDEN_BENCH_RATE changes/s (default 50), one user per change, each delivered
 * by its event hook at once. The clock starts when the simulator emits the
 * event (its delivery POST starts in the same tick) and stops when the
 * simulator's HTTP handler sees the call.
 *
 * Baseline (the floor), same store, same rate, same run: one insert into the
 * inbox, the connector's normalization, one in-process decision
 * (`context.decide`), then the same two Okta calls through the same enforcer
 * right away — no hook POST, no queue, no worker. Warm-up changes are
 * discarded. Stores: PGlite (relaxed) and PostgreSQL (a fresh schema, dropped
 * after); WARDEN_BENCH_STORES narrows (pglite-full is accepted too).
 *
 * Entra: a help-desk password reset (held by the example policy) followed by
 * the same agent's edit of the user's profile, which Graph announces with a
 * change notification on `/users` (a password reset has no notification of
 * its own). Timed from the change to the hold-group add
 * (`POST /groups/{hold}/members/$ref`) and the session revocation
 * (`POST /users/{id}/revokeSignInSessions`) arriving at the Graph simulator,
 * through: notification → receiver → inbox → early audit poll
 * (`GET /auditLogs/directoryAudits`) → inbox → decision → outbox → Graph.
 * The Entra simulator serves HTTPS with a throw-away certificate the
 * benchmark trusts by running itself again (bench/idp-world.ts). Floor,
 * same store, same rate: at the change, one directoryAudits fetch through
 * the same Graph session, then the inbox insert, normalization and
 * enrichment, one decision and the same two Graph calls. Poll interval
 * `WARDEN_BENCH_ENTRA_POLL_SECONDS` (60, the default), rate
 * `WARDEN_BENCH_ENTRA_RATE` (2 changes/s), `WARDEN_BENCH_ENTRA_SECONDS` (10).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { odataTime } from '../connectors/entra/audit-poller.js';
import { createEntraConnector } from '../connectors/entra/index.js';
import { oktaConnector } from '../connectors/okta/index.js';
import { createOktaTenants } from '../connectors/okta/okta-tenant.js';
import { registerEventHook } from '../connectors/okta/provision.js';
import { OktaSimulator } from '../connectors/okta/simulator/okta-simulator.js';
import { OKTA_BUCKET_LIMITS, type OktaBucket } from '../connectors/okta/simulator/rate-limit-buckets.js';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/runtime/logger.js';
import { startServer } from '../src/app/start-server.js';
import type { ActionRow, InboxRow } from '../src/store/store.js';
import { startEntraWorld, trustedOrRerun, until, type BenchTls } from './idp-world.js';
import { benchStoreSpecs, dropSchemas, formatRatio, machineLine, quantileSorted, table, type StoreSpec } from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POLICY = path.join(ROOT, 'examples/policies/acme.yaml');
const TENANT = 'acme';
const SECRET = 'bench-hook-secret-0123456789abcdef';
const RATE = Number(process.env.WARDEN_BENCH_RATE ?? 50);
const SECONDS = Number(process.env.WARDEN_BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = Number(process.env.WARDEN_BENCH_WARMUP_SECONDS ?? 2);
const ENTRA_RATE = Number(process.env.WARDEN_BENCH_ENTRA_RATE ?? 2);
const ENTRA_SECONDS = Number(process.env.WARDEN_BENCH_ENTRA_SECONDS ?? 10);
const ENTRA_POLL_SECONDS = Number(process.env.WARDEN_BENCH_ENTRA_POLL_SECONDS ?? 60);
/**
 * The Okta simulator's per-minute rate-limit buckets: `raised` (default) sets every bucket
 * out of reach, to measure Warden's pipeline; `okta` keeps Okta's published Workforce
 * defaults (rate-limit-buckets.ts), to show what a real org with default limits does.
 */
const OKTA_LIMITS = (process.env.WARDEN_BENCH_OKTA_LIMITS ?? 'raised') as 'raised' | 'okta';
if (OKTA_LIMITS !== 'raised' && OKTA_LIMITS !== 'okta') throw new Error(`WARDEN_BENCH_OKTA_LIMITS must be raised or okta, not ${String(OKTA_LIMITS)}`);
const RAISED_LIMITS = Object.fromEntries(Object.keys(OKTA_BUCKET_LIMITS).map((b) => [b, 1_000_000_000])) as Record<OktaBucket, number>;
/**
 * How long to wait for the last calls after the last change (bounded: a change whose calls never came is reported).
 * Under Okta's limits the outbox waits for the bucket's reset (a minute window) as often as it takes.
 */
const DRAIN_MS = Math.max(OKTA_LIMITS === 'okta' ? 600_000 : 30_000, 2 * ENTRA_POLL_SECONDS * 1000);

type Mode = 'warden' | 'floor';
interface Latencies {
  group: number[];
  sessions: number[];
  /** The later of the two per change: contained. */
  both: number[];
  missing: number;
  /** Requests the Okta simulator counted, by bucket, over the whole phase (warm-up included), and how many it answered 429. */
  buckets?: Record<string, { calls: number; rejected: number }>;
  /** Changes emitted in the phase (warm-up included). */
  changes?: number;
  /** Warden only: ms spent in each stage of the measured changes (see STAGES). */
  stages?: Record<Stage, number[]>;
}

/**
 * Where a held change's time goes in Warden, stamped per change (the first event about its user):
 * hook POST → the inbox handler starts on it (the receiver's insert, the inbox worker's wake and claim)
 * → the handler is done (normalize, own-change check, enrichment reads) → the decision is committed
 * (audit `decision.recorded`) → the outbox's enforcer starts the hold-group add (wake, claim) → the
 * call is carried out at the simulator.
 */
const STAGES = ['post→handler', 'handler (enrich)', 'decide+commit', 'decided→outbox call', 'call→carried out'] as const;
type Stage = (typeof STAGES)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function stats(values: number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = Float64Array.from(values).sort();
  return { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : NaN, n: sorted.length };
}
const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');

/** One phase: a fresh simulator and server on a fresh store, warm-up, then SECONDS of changes at RATE/s. */
async function runPhase(spec: StoreSpec, mode: Mode): Promise<Latencies> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-bench-containment-'));
  const schema = `warden_bench_${randomBytes(4).toString('hex')}`;
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  if (spec.driver === 'postgres') cleanups.unshift(() => dropSchemas(spec.url, [schema]));
  try {
    const sim = await new OktaSimulator(OKTA_LIMITS === 'raised' ? { rateLimits: RAISED_LIMITS } : {}).start();
    cleanups.unshift(() => sim.close());
    // Every Management API call the simulator counts, and its 429s (E0000047), by bucket.
    const buckets: Record<string, { calls: number; rejected: number }> = {};
    const take = sim.rateLimits.take.bind(sim.rateLimits);
    sim.rateLimits.take = (bucket, now) => {
      const answer = take(bucket, now);
      const b = (buckets[bucket] ??= { calls: 0, rejected: 0 });
      b.calls++;
      if (answer.exceeded) b.rejected++;
      return answer;
    };
    const hold = sim.addGroup('Warden Hold');
    const admin = sim.addUser(
      { login: 'sam.agent@acme.example', firstName: 'Sam', lastName: 'Agent' },
      { roles: ['HELP_DESK_ADMIN'], groups: ['Everyone', 'Service Desk'] },
    );
    const storeYaml =
      spec.driver === 'pglite'
        ? `dataDir: ${JSON.stringify(path.join(dir, 'data'))}\ndurability: ${spec.durability}\n`
        : `database:\n  url: { env: WARDEN_BENCH_DB_URL }\n  schema: ${schema}\n  poolSize: 10\n`;
    const configFile = path.join(dir, 'warden.yaml');
    writeFileSync(
      configFile,
      `listen: { host: 127.0.0.1, port: 0 }\n${storeYaml}log: { level: error }\ntenants:\n  - id: ${TENANT}\n    policy: ${JSON.stringify(POLICY)}\n    secrets: { hook: { env: HOOK }, token: { env: OKTA_TOKEN } }\n` +
        `    okta:\n      orgUrl: ${sim.url}\n      simulator: true\n      auth: { type: api_token, token: token }\n      eventHook: { secret: hook }\n      poller: { enabled: false }\n`,
    );
    const connector = oktaConnector();
    // Stage stamps (performance.now) per target user, Warden only: the first reset event the inbox handler takes, and the hold-group add.
    const trace = new Map<string, { handler?: number; enriched?: number; call?: number }>();
    if (mode === 'warden') {
      const inbox = connector.inbox!;
      const toChanges = inbox.toChanges.bind(inbox);
      inbox.toChanges = async (row, ctx) => {
        const payload = row.payload as { eventType?: string; target?: Array<{ id?: string }> };
        const user = payload.eventType === 'user.mfa.factor.reset_all' ? payload.target?.[0]?.id : undefined;
        const t: { handler?: number; enriched?: number } | undefined = user && !trace.get(user)?.handler ? { handler: performance.now() } : undefined;
        if (user && t) trace.set(user, t);
        const result = await toChanges(row, ctx);
        if (t) t.enriched ??= performance.now();
        return result;
      };
      const enforcer = connector.enforcer!;
      const execute = enforcer.execute.bind(enforcer);
      enforcer.execute = (action, ctx) => {
        if (action.kind === 'hold_group') {
          const t = trace.get(action.targetId) ?? {};
          t.call ??= performance.now();
          trace.set(action.targetId, t);
        }
        return execute(action, ctx);
      };
    }
    const env = { HOOK: SECRET, OKTA_TOKEN: sim.token, ...(spec.driver === 'postgres' ? { WARDEN_BENCH_DB_URL: spec.url } : {}) };
    const config = loadConfig({ path: configFile, env, cwd: dir, connectors: [connector], resolveSecrets: true });
    // Warden: its own workers at their defaults. Floor: no workers (the calls are made by hand right after the decision).
    const server = await startServer({ config, connectors: [connector], watchPolicies: false, workers: mode === 'warden', log: createLogger('error') });
    cleanups.unshift(() => server.close());
    if (mode === 'warden') {
      const hook = await registerEventHook(createOktaTenants().get(config, TENANT), server.url);
      if (hook.verificationStatus !== 'VERIFIED') throw new Error(`event hook not verified: ${hook.error ?? hook.verificationStatus}`);
    }

    // Arrival stamps: when the simulator carries the call out (it logs the event Okta logs for it), so a
    // call answered 429 does not count as arrived. The group add logs only when the user was not a member.
    const arrived = new Map<string, { group?: number; sessions?: number }>();
    const record = sim.record.bind(sim);
    sim.record = (eventType, ...rest) => {
      const now = performance.now();
      const target = rest[2];
      const user = (target[0] as { id?: string } | undefined)?.id;
      if (user && eventType === 'group.user_membership.add' && (target[1] as { id?: string } | undefined)?.id === hold.id)
        arrived.set(user, { ...arrived.get(user), group: arrived.get(user)?.group ?? now });
      else if (user && eventType === 'user.session.clear') arrived.set(user, { ...arrived.get(user), sessions: arrived.get(user)?.sessions ?? now });
      return record(eventType, ...rest);
    };

    let lastRunStarts = new Map<string, number>();
    const floorOne = async (userId: string): Promise<void> => {
      sim.delivery.drop = true; // the floor receives nothing by hook
      const event = sim.adminResetFactors(admin.id, userId);
      const entry = {
        tenant: TENANT,
        source: 'okta',
        eventId: event.uuid,
        eventType: event.eventType,
        via: 'hook' as const,
        payload: event,
        receivedAt: new Date(),
        occurredAt: new Date(event.published),
      };
      const { id } = await server.store.putInbox(entry);
      const row = { ...entry, id, state: 'pending', attempts: 1 } as unknown as InboxRow;
      const result = await connector.inbox!.toChanges(row, server.context);
      if ('ignored' in result) throw new Error(`floor: the change was ignored: ${result.ignored}`);
      for (const change of result.changes) {
        const decided = await server.context.decide(change, { type: 'idp', id: 'okta' }, { observed: true });
        const calls = decided.actions.filter((a) => a.kind === 'hold_group' || a.kind === 'revoke_sessions');
        await Promise.all(
          calls.map((a) => connector.enforcer!.execute({ ...a, state: 'running', attempts: 1, nextAttemptAt: new Date() } as ActionRow, server.context)),
        );
      }
    };

    const run = async (count: number): Promise<Latencies> => {
      const users = Array.from({ length: count }, () =>
        sim.addUser({ login: `u${randomUUID().slice(0, 8)}@acme.example`, firstName: 'Bench', lastName: 'User' }, { groups: ['Everyone'] }),
      );
      const started = new Map<string, number>();
      lastRunStarts = started;
      const inFlight: Array<Promise<void>> = [];
      const t0 = performance.now();
      for (const [i, user] of users.entries()) {
        await sleep(t0 + (i * 1000) / RATE - performance.now());
        started.set(user.id, performance.now());
        if (mode === 'warden') sim.adminResetFactors(admin.id, user.id);
        else inFlight.push(floorOne(user.id).catch((err: unknown) => console.error(`floor change failed: ${(err as Error).message}`)));
      }
      await Promise.all(inFlight);
      const deadline = performance.now() + DRAIN_MS;
      while (performance.now() < deadline && users.some((u) => !(arrived.get(u.id)?.group && arrived.get(u.id)?.sessions))) await sleep(20);
      const out: Latencies = { group: [], sessions: [], both: [], missing: 0 };
      for (const u of users) {
        const a = arrived.get(u.id);
        const s = started.get(u.id)!;
        if (!a?.group || !a.sessions) {
          out.missing++;
          continue;
        }
        out.group.push(a.group - s);
        out.sessions.push(a.sessions - s);
        out.both.push(Math.max(a.group, a.sessions) - s);
      }
      return out;
    };

    const warmup = Math.max(1, Math.round(WARMUP_SECONDS * RATE));
    await run(warmup);
    const measured = Math.max(1, Math.round(SECONDS * RATE));
    const result: Latencies = { ...(await run(measured)), buckets, changes: warmup + measured };
    if (mode === 'warden') {
      // Decision times from the audit log (Warden's clock, ms), put on the performance clock.
      const offset = Date.now() - performance.now();
      const decided = new Map<string, number>();
      for (let after = 0; ; ) {
        const rows = await server.store.readAudit(TENANT, after, 5000);
        if (rows.length === 0) break;
        after = rows[rows.length - 1]!.seq;
        for (const r of rows) {
          if (r.type !== 'decision.recorded') continue;
          const rec = JSON.parse(r.record) as { at: string; data: { change?: { targetId?: string } } };
          const user = rec.data.change?.targetId;
          if (user && !decided.has(user)) decided.set(user, Date.parse(rec.at) - offset);
        }
      }
      const stages = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as Record<Stage, number[]>;
      for (const [user, s] of lastRunStarts) {
        const t = trace.get(user);
        const d = decided.get(user);
        const a = arrived.get(user)?.group;
        if (!t?.handler || !t.enriched || d === undefined || !t.call || !a) continue;
        stages['post→handler'].push(t.handler - s);
        stages['handler (enrich)'].push(t.enriched - t.handler);
        stages['decide+commit'].push(d - t.enriched);
        stages['decided→outbox call'].push(t.call - d);
        stages['call→carried out'].push(a - t.call);
      }
      result.stages = stages;
    }
    return result;
  } finally {
    for (const c of cleanups) await c();
  }
}

/** One Entra phase: a fresh Graph simulator and server on a fresh store, warm-up, then ENTRA_SECONDS of changes at ENTRA_RATE/s. */
async function runEntraPhase(spec: StoreSpec, mode: Mode, tls: BenchTls): Promise<Latencies> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-bench-containment-entra-'));
  const schema = `warden_bench_${randomBytes(4).toString('hex')}`;
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  if (spec.driver === 'postgres') cleanups.unshift(() => dropSchemas(spec.url, [schema]));
  try {
    const world = await startEntraWorld(tls);
    cleanups.unshift(() => world.close());
    const storeYaml =
      spec.driver === 'pglite'
        ? `dataDir: ${JSON.stringify(path.join(dir, 'data'))}\ndurability: ${spec.durability}\n`
        : `database:\n  url: { env: WARDEN_BENCH_DB_URL }\n  schema: ${schema}\n  poolSize: 10\n`;
    const configFile = path.join(dir, 'warden.yaml');
    // The floor has no subscription and no poller: it fetches by hand at each change.
    writeFileSync(
      configFile,
      `listen: { host: 127.0.0.1, port: 0 }\n${storeYaml}log: { level: error }\ntenants:\n  - id: ${TENANT}\n    policy: ${JSON.stringify(POLICY)}\n` +
        world.yaml(TENANT, { pollIntervalSeconds: ENTRA_POLL_SECONDS, poller: mode === 'warden', subscription: mode === 'warden' }),
    );
    const env = { ...world.env(), ...(spec.driver === 'postgres' ? { WARDEN_BENCH_DB_URL: spec.url } : {}) };
    const connector = createEntraConnector({ env });
    const config = loadConfig({ path: configFile, env, cwd: dir, connectors: [connector], resolveSecrets: true });
    const server = await startServer({ config, connectors: [connector], watchPolicies: false, workers: mode === 'warden', log: createLogger('error') });
    cleanups.unshift(() => server.close());
    world.front.target(server.url);
    if (mode === 'warden') await until(() => world.sim.subscriptions.size > 0, 60_000, 'the Graph subscription');
    const tenant = connector.runtime.tenant(server.context.config, TENANT, server.context.clock)!;

    // Arrival stamps: the simulator's directory is called by the route handler as the call arrives.
    const arrived = new Map<string, { group?: number; sessions?: number }>();
    const directory = world.sim.directory;
    const addMember = directory.addGroupMember.bind(directory);
    directory.addGroupMember = (actor, group, user) => {
      if (group.id === world.holdGroup.id) arrived.set(user.id, { ...arrived.get(user.id), group: arrived.get(user.id)?.group ?? performance.now() });
      addMember(actor, group, user);
    };
    const revoke = directory.revokeSessions.bind(directory);
    directory.revokeSessions = (actor, user) => {
      arrived.set(user.id, { ...arrived.get(user.id), sessions: arrived.get(user.id)?.sessions ?? performance.now() });
      revoke(actor, user);
    };

    const seen = new Set<string>();
    const floorOne = async (since: Date): Promise<void> => {
      const page = await tenant.session.call(
        'listDirectoryAudits',
        {},
        (r) =>
          r
            .filter(`activityDateTime ge ${odataTime(since)}`)
            .orderby('activityDateTime asc')
            .top(100)
            .get() as Promise<{ value: Array<Record<string, unknown> & { id: string; activityDateTime: string; activityDisplayName: string }> }>,
      );
      for (const record of page.value) {
        if (seen.has(record.id) || record.activityDisplayName !== 'Reset password (by admin)') continue;
        seen.add(record.id);
        const entry = {
          tenant: TENANT,
          source: 'entra',
          eventId: record.id,
          eventType: `audit:${record.activityDisplayName}`,
          via: 'poll' as const,
          payload: record,
          receivedAt: new Date(),
          occurredAt: new Date(record.activityDateTime),
        };
        const { id } = await server.store.putInbox(entry);
        const row = { ...entry, id, state: 'pending', attempts: 1 } as unknown as InboxRow;
        const result = await connector.inbox!.toChanges(row, server.context);
        if ('ignored' in result) throw new Error(`floor: the change was ignored: ${result.ignored}`);
        for (const change of result.changes) {
          const decided = await server.context.decide(change, { type: 'idp', id: 'entra' }, { observed: true });
          const calls = decided.actions.filter((a) => a.kind === 'hold_group' || a.kind === 'revoke_sessions');
          await Promise.all(
            calls.map((a) => connector.enforcer!.execute({ ...a, state: 'running', attempts: 1, nextAttemptAt: new Date() } as ActionRow, server.context)),
          );
        }
      }
    };

    const run = async (count: number): Promise<Latencies> => {
      const users = Array.from({ length: count }, () => world.addPerson());
      const started = new Map<string, number>();
      const inFlight: Array<Promise<void>> = [];
      const t0 = performance.now();
      for (const [i, user] of users.entries()) {
        await sleep(t0 + (i * 1000) / ENTRA_RATE - performance.now());
        started.set(user.id, performance.now());
        const since = new Date(Date.now() - 1000);
        world.sim.act.resetPassword(world.helpdesk.id, user.id);
        world.sim.act.updateJobTitle(world.helpdesk.id, user.id, 'Analyst');
        if (mode === 'floor') inFlight.push(floorOne(since).catch((err: unknown) => console.error(`floor change failed: ${(err as Error).message}`)));
      }
      await Promise.all(inFlight);
      const deadline = performance.now() + DRAIN_MS;
      while (performance.now() < deadline && users.some((u) => !(arrived.get(u.id)?.group && arrived.get(u.id)?.sessions))) await sleep(20);
      const out: Latencies = { group: [], sessions: [], both: [], missing: 0 };
      for (const u of users) {
        const a = arrived.get(u.id);
        const s = started.get(u.id)!;
        if (!a?.group || !a.sessions) {
          out.missing++;
          continue;
        }
        out.group.push(a.group - s);
        out.sessions.push(a.sessions - s);
        out.both.push(Math.max(a.group, a.sessions) - s);
      }
      return out;
    };

    await run(Math.max(1, Math.round(WARMUP_SECONDS * ENTRA_RATE)));
    return await run(Math.max(1, Math.round(ENTRA_SECONDS * ENTRA_RATE)));
  } finally {
    for (const c of cleanups) await c();
  }
}

function tmpdir(): string {
  return os.tmpdir();
}

async function main(): Promise<void> {
  const tls = await trustedOrRerun();
  const { chosen } = await benchStoreSpecs();
  const only = process.env.WARDEN_BENCH_STORES;
  const specs = only ? chosen : chosen.filter((s) => s.name !== 'pglite-full');
  console.log(`bench:containment — ${machineLine()}`);
  console.log(
    `load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1/5/15 min)`,
  );
  console.log(
    `Okta: ${RATE} held changes/s for ${SECONDS} s per store after ${WARMUP_SECONDS} s of warm-up; ms from the hook POST (floor: from the event) to the call carried out at the simulator`,
  );
  console.log(
    OKTA_LIMITS === 'okta'
      ? `Okta simulator rate limits: okta (Workforce per-minute defaults, org-wide: ${Object.entries(OKTA_BUCKET_LIMITS)
          .map(([b, n]) => `${b} ${n}`)
          .join(', ')}; a real API token gets 50 % of each by default, not modelled) — WARDEN_BENCH_OKTA_LIMITS=raised to measure the pipeline\n`
      : "Okta simulator rate limits: raised (out of reach, to measure the pipeline) — WARDEN_BENCH_OKTA_LIMITS=okta for Okta's Workforce defaults\n",
  );
  const rows: string[][] = [];
  const bucketRows: string[][] = [];
  const stageRows: string[][] = [];
  let worstP99 = NaN;
  // WARDEN_BENCH_IDPS=okta or =entra runs one of the two.
  for (const spec of process.env.WARDEN_BENCH_IDPS === 'entra' ? [] : specs) {
    const floor = await runPhase(spec, 'floor');
    const warden = await runPhase(spec, 'warden');
    for (const stage of STAGES) {
      const st = stats(warden.stages?.[stage] ?? []);
      stageRows.push([spec.name, stage, ms(st.p50), ms(st.p99), ms(st.max)]);
    }
    for (const [who, phase] of [
      ['warden', warden],
      ['floor', floor],
    ] as const)
      for (const [bucket, b] of Object.entries(phase.buckets ?? {}).sort())
        bucketRows.push([spec.name, who, bucket, String(b.calls), (b.calls / (phase.changes ?? 1)).toFixed(2), String(b.rejected)]);
    for (const [what, key] of [
      ['hold-group add', 'group'],
      ['session clear', 'sessions'],
      ['both (contained)', 'both'],
    ] as const) {
      const w = stats(warden[key]);
      const f = stats(floor[key]);
      rows.push([
        spec.name,
        what,
        ms(w.p50),
        ms(w.p99),
        ms(w.max),
        ms(f.p50),
        ms(f.p99),
        ms(f.max),
        formatRatio(w.p99 / f.p99),
        `${warden.missing}/${floor.missing}`,
      ]);
      if (key === 'both' && !(worstP99 >= w.p99)) worstP99 = w.p99;
    }
  }
  console.log(table(['store', 'call', 'p50', 'p99', 'max', 'floor p50', 'floor p99', 'floor max', 'p99 / floor', 'missing w/f'], rows));
  if (stageRows.length) {
    console.log(`\nWhere Warden's time goes (hold-group add, measured changes; decision time from the audit log, ms resolution)\n`);
    console.log(table(['store', 'stage', 'p50', 'p99', 'max'], stageRows));
  }
  if (bucketRows.length) {
    console.log(
      `\nOkta Management API calls the simulator counted per phase (warm-up included), by rate-limit bucket; 429 = answered E0000047 (limits: ${OKTA_LIMITS})\n`,
    );
    console.log(table(['store', 'phase', 'bucket', 'calls', 'per change', '429'], bucketRows));
  }

  const onlyOkta = process.env.WARDEN_BENCH_IDPS === 'okta';
  let entraP99 = NaN;
  if (!onlyOkta) {
    console.log(
      `\nEntra: ${ENTRA_RATE} held changes/s for ${ENTRA_SECONDS} s per store after ${WARMUP_SECONDS} s of warm-up; poll interval ${ENTRA_POLL_SECONDS} s; ms from the change (its notification is posted in the same tick) to the call at the Graph simulator\n`,
    );
    const entraRows: string[][] = [];
    for (const spec of specs) {
      const floor = await runEntraPhase(spec, 'floor', tls);
      const warden = await runEntraPhase(spec, 'warden', tls);
      for (const [what, key] of [
        ['hold-group add', 'group'],
        ['session revocation', 'sessions'],
        ['both (contained)', 'both'],
      ] as const) {
        const w = stats(warden[key]);
        const f = stats(floor[key]);
        entraRows.push([
          spec.name,
          what,
          ms(w.p50),
          ms(w.p99),
          ms(w.max),
          ms(f.p50),
          ms(f.p99),
          ms(f.max),
          formatRatio(w.p99 / f.p99),
          `${warden.missing}/${floor.missing}`,
        ]);
        if (key === 'both' && !(entraP99 >= w.p99)) entraP99 = w.p99;
      }
    }
    console.log(table(['store', 'call', 'p50', 'p99', 'max', 'floor p50', 'floor p99', 'floor max', 'p99 / floor', 'missing w/f'], entraRows));
  }
  console.log(
    `\nload average at end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1/5/15 min)`,
  );
  console.log(`containment p99: okta ${ms(worstP99)} ms, entra ${ms(entraP99)} ms (targets 250 / poll+250)`);
}

await main();
