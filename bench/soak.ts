/**
 * Soak (issue 16 §4): a steady stream of Okta event-hook deliveries and
 * Graph change notifications, with held changes whose actions go back to
 * the simulators, through the real server with its workers, for N minutes;
 * then it stops by itself.
 *
 *   npm run soak -- --minutes 30
 *   npm run soak -- --minutes 2 --rate 100 --store postgres
 *
 * Load (per 200 deliveries, scaled to --rate, default 200/s): Okta, through
 * the simulator's event hook: 110 Okta Verify push approvals
 * (`user.authentication.auth_via_mfa`, a signal), 8 self-service factor
 * enrollments and 2 help-desk factor resets (held by the example policy:
 * hold-group add and session clear at the simulator). Entra, through the
 * Graph simulator's change notifications on `/users`: 80 help-desk profile
 * edits (each a notification and an "Update user" audit record the
 * notification makes Warden poll for), one in 80 with a help-desk password
 * reset (held: hold-group add and session revocation in Graph).
 *
 * The simulators and the load run in a child process (bench/soak-load.ts);
 * this process is Warden alone. Every minute and at the end it prints: RSS
 * and V8 heap of this process, its event-loop delay p99,
 * inbox depth (pending entries), outbox depth (queued or running actions),
 * p99 ack latency of the deliveries answered in the minute (Okta and Graph
 * measure them as senders), and the held changes contained so far. At the
 * end: drift as the least-squares slope of RSS and heap over the minutes
 * after the first (MB per minute), and whether the queues went back to 0
 * within 5 minutes after the load (the System Log poller brings back what
 * Okta dropped), and where each held Okta reset not contained stopped.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createEntraConnector } from '../connectors/entra/index.js';
import { oktaConnector } from '../connectors/okta/index.js';
import { createOktaTenants } from '../connectors/okta/okta-tenant.js';
import { registerEventHook } from '../connectors/okta/provision.js';
import { loadConfig } from '../src/config/load-config.js';
import { startServer } from '../src/app/start-server.js';
import { createLogger } from '../src/runtime/logger.js';
import { trustedOrRerun } from './idp-world.js';
import { CYCLE, type FromLoad, type OpenHeld, type ToLoad } from './soak-load.js';
import { benchStoreSpecs, dropSchemas, machineLine, quantileSorted, table } from './support.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const POLICY = path.join(HERE, '..', 'examples/policies/acme.yaml');
const TENANT = 'acme';

const { values: args } = parseArgs({
  options: { minutes: { type: 'string', default: '1' }, rate: { type: 'string', default: '200' }, store: { type: 'string', default: 'pglite-relaxed' } },
});
const MINUTES = Number(args.minutes);
const RATE = Number(args.rate);
if (!(MINUTES > 0) || !(RATE > 0)) throw new Error('--minutes and --rate must be positive numbers');
const DRAIN_MS = 5 * 60_000;
const mixCount = new Map<string, number>();
for (const slot of CYCLE) mixCount.set(slot, (mixCount.get(slot) ?? 0) + 1);
const MIX = [...mixCount].map(([k, v]) => `${k} ${v}`).join(', ');

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const p99 = (values: number[]) => (values.length ? quantileSorted(Float64Array.from(values).sort(), 0.99) : NaN);
const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
/** `p`, or `undefined` when it has not settled within `ms` (a slow Warden or load process must not hold up a minute's line). */
const within = <T>(p: Promise<T>, ms: number, then?: () => void): Promise<T | undefined> => {
  then?.();
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
};
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : NaN;
}

type Db = { query<T>(sql: string, params?: unknown[]): Promise<T[]> };

/**
 * Where each held Okta reset the simulator never saw contained stopped: its
 * System Log events in the inbox (by hook or by poll, and in which state), the
 * change and decision made of them, the actions queued and how they ended.
 */
async function explainOpen(db: Db, open: OpenHeld[] | undefined): Promise<void> {
  if (!open) return console.log('held Okta resets not contained: the load process did not say');
  if (!open.length) return console.log('held Okta resets not contained: none');
  const stages = new Map<string, number>();
  const examples = new Map<string, string>();
  for (const o of open) {
    const inbox = await db.query<{ via: string; state: string; attempts: number; error: string | null }>(
      'SELECT via, state, attempts, error FROM inbox WHERE event_id = ANY($1)',
      [o.eventIds],
    );
    const actions = await db.query<{ kind: string; state: string; attempts: number; last_error: string | null; outcome: string }>(
      `SELECT a.kind, a.state, a.attempts, a.last_error, d.outcome FROM change_events ce
         JOIN decisions d ON d.change_id = ce.change_id
         LEFT JOIN actions a ON a.decision_id = d.id
        WHERE ce.idp = 'okta' AND ce.event_id = ANY($1)`,
      [o.eventIds],
    );
    const decided = await db.query<{ outcome: string }>(
      `SELECT d.outcome FROM change_events ce JOIN decisions d ON d.change_id = ce.change_id WHERE ce.idp = 'okta' AND ce.event_id = ANY($1)`,
      [o.eventIds],
    );
    let stage: string;
    if (!inbox.length) stage = 'not in the inbox (neither hook nor poll stored it)';
    else if (inbox.some((e) => e.state === 'pending')) stage = 'in the inbox, still pending';
    else if (inbox.every((e) => e.state !== 'processed')) stage = `in the inbox, ${inbox.map((e) => e.state).join('/')}`;
    else if (!decided.length) stage = 'processed, no decision';
    else if (decided.every((d) => d.outcome !== 'hold')) stage = `decided ${decided.map((d) => d.outcome).join('/')}`;
    else if (!actions.some((a) => a.kind)) stage = 'held, no action queued';
    else stage = `held, actions ${[...new Set(actions.filter((a) => a.kind).map((a) => `${a.kind} ${a.state}`))].sort().join(', ')}`;
    stages.set(stage, (stages.get(stage) ?? 0) + 1);
    if (!examples.has(stage))
      examples.set(
        stage,
        `${o.userId} (first reset ${o.firstAt}, ${o.eventIds.length} resets; inbox ${JSON.stringify(inbox)}; actions ${JSON.stringify(actions)})`,
      );
  }
  console.log(`held Okta resets not contained: ${open.length}`);
  for (const [stage, n] of stages) console.log(`  ${n} × ${stage}; e.g. ${examples.get(stage)}`);
}

async function main(): Promise<void> {
  await trustedOrRerun();
  // It stops by itself: the load, a drain of at most 5 minutes, and setup and teardown fit well inside
  // this; past it something hangs, and the run ends with what it printed so far.
  const deadline = setTimeout(
    () => {
      console.error(`soak: still running ${MINUTES + 12} minutes after the start: stopped`);
      process.exit(2);
    },
    (MINUTES + 12) * 60_000,
  );
  deadline.unref();
  const { chosen } = await benchStoreSpecs();
  const spec = chosen.find((s) => s.name === args.store);
  if (!spec) throw new Error(`--store ${args.store}: not available (${chosen.map((s) => s.name).join(', ')})`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-soak-'));
  const schema = `warden_soak_${randomUUID().slice(0, 8)}`;
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  if (spec.driver === 'postgres') cleanups.unshift(() => dropSchemas(spec.url, [schema]));

  const child = fork(path.join(HERE, 'soak-load.ts'), [], { execArgv: process.execArgv, stdio: 'inherit' });
  const waiting: Array<{ type: FromLoad['type']; resolve: (m: FromLoad) => void; reject: (err: Error) => void }> = [];
  child.on('message', (m: FromLoad) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(m);
  });
  const childExited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      for (const w of waiting.splice(0)) w.reject(new Error(`the load process exited (${code}) before it answered ${w.type}`));
      resolve();
    }),
  );
  const next = <T extends FromLoad['type']>(type: T) =>
    new Promise<Extract<FromLoad, { type: T }>>((resolve, reject) => {
      if (child.exitCode !== null) reject(new Error(`the load process exited (${child.exitCode})`));
      else waiting.push({ type, resolve: resolve as (m: FromLoad) => void, reject });
    });
  const tell = (m: ToLoad) => child.send(m);
  cleanups.unshift(async () => {
    if (child.exitCode === null) {
      tell({ type: 'exit' });
      await Promise.race([childExited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill();
    }
  });
  try {
    const ready = await next('ready');
    const storeYaml =
      spec.driver === 'pglite'
        ? `dataDir: ${JSON.stringify(path.join(dir, 'data'))}\ndurability: ${spec.durability}\n`
        : `database:\n  url: { env: WARDEN_BENCH_DB_URL }\n  schema: ${schema}\n  poolSize: 10\n`;
    const configFile = path.join(dir, 'warden.yaml');
    writeFileSync(
      configFile,
      `listen: { host: 127.0.0.1, port: 0 }\n${storeYaml}log: { level: error }\ntenants:\n  - id: ${TENANT}\n    policy: ${JSON.stringify(POLICY)}\n${ready.yaml}`,
    );
    const env = { HOOK: 'soak-hook-secret-0123456789abcdef', ...ready.env, ...(spec.driver === 'postgres' ? { WARDEN_BENCH_DB_URL: spec.url } : {}) };
    const connectors = [oktaConnector(), createEntraConnector({ env })];
    const config = loadConfig({ path: configFile, env, cwd: dir, connectors, resolveSecrets: true });
    const server = await startServer({ config, connectors, watchPolicies: false, log: createLogger('error') });
    cleanups.unshift(() => server.close());
    const subscribed = next('subscribed');
    tell({ type: 'server', url: server.url });
    const hook = await registerEventHook(createOktaTenants().get(config, TENANT), server.url);
    if (hook.verificationStatus !== 'VERIFIED') throw new Error(`event hook not verified: ${hook.error ?? hook.verificationStatus}`);
    await subscribed;

    const db = (server.store as unknown as { db: Db }).db;
    const depth = async () => {
      const [inbox] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM inbox WHERE state = 'pending'");
      const [outbox] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM actions WHERE state IN ('queued', 'running')");
      return { inbox: Number(inbox?.n ?? 0), outbox: Number(outbox?.n ?? 0) };
    };

    console.log(`soak — ${machineLine()}`);
    console.log(`store ${spec.name}; ${RATE} deliveries/s for ${MINUTES} min (Okta event hooks and Graph notifications; per 200: ${MIX})`);
    console.log(`Warden in this process (pid ${process.pid}); simulators and load in pid ${child.pid}`);
    console.log(`uptime load average at start: ${load()} (1/5/15 min)\n`);

    const eld = monitorEventLoopDelay({ resolution: 10 });
    eld.enable();
    const rows: string[][] = [];
    const samples: Array<{ minute: number; rss: number; heap: number }> = [];
    const allAcks: number[] = [];
    const offered: Array<{ label: string; perSecond: number }> = [];
    let last: Extract<FromLoad, { type: 'stats' }> | undefined;
    let badTotal = 0;
    // A minute's line is printed whatever answers late: the load process's statistics and the queue
    // depths (a statement waiting its turn in a busy store) get 15 s each, then show as n/a; late
    // statistics are counted in the next line that gets them.
    let pendingStats: Promise<Extract<FromLoad, { type: 'stats' }>> | undefined;
    const report = async (label: string) => {
      const mem = process.memoryUsage();
      const delay = eld.percentile(99) / 1e6;
      eld.reset();
      if (!pendingStats) {
        pendingStats = next('stats');
        tell({ type: 'stats' });
      }
      const s = await within(pendingStats, 15_000);
      if (s) pendingStats = undefined;
      const q = await within(depth(), 15_000);
      if (s) {
        last = s;
        badTotal += s.bad;
        for (const a of s.acks) allAcks.push(a);
        offered.push({ label, perSecond: s.offered / s.seconds });
      }
      const na = 'n/a';
      const row = [
        label,
        mb(mem.rss),
        mb(mem.heapUsed),
        fmt(delay),
        q ? String(q.inbox) : na,
        q ? String(q.outbox) : na,
        s ? fmt(p99(s.acks)) : na,
        s ? String(s.acks.length) : na,
        s ? String(s.bad) : na,
        s ? fmt(s.offered / s.seconds) : na,
        s ? `${s.contained.okta}/${s.held.okta}` : na,
        s ? `${s.contained.entra}/${s.held.entra}` : na,
        os.loadavg()[0]!.toFixed(2),
      ];
      rows.push(row);
      const loadSide = s
        ? `ack p99 ${row[6]} ms over ${row[7]} deliveries (${s.bad} not 2xx${s.bad ? `: ${JSON.stringify(s.statuses)}` : ''}), offered ${row[9]} load actions/s, load process event-loop delay p99 ${fmt(s.loadDelayP99)} ms, ${s.behind} behind schedule, held contained okta ${row[10]}, entra ${row[11]}`
        : 'the load process did not answer within 15 s (its figures go into the next line)';
      console.log(
        `[${label}] rss ${row[1]} MB, heap ${row[2]} MB, event-loop delay p99 ${row[3]} ms, inbox ${row[4]}, outbox ${row[5]}${q ? '' : ' (the store did not answer within 15 s)'}, ${loadSide}, load ${row[12]}`,
      );
      return { rss: mem.rss, heap: mem.heapUsed, q, open: s?.open };
    };

    const t0 = performance.now();
    tell({ type: 'start', rate: RATE });
    for (let minute = 1; minute <= MINUTES; minute++) {
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + minute * 60_000 - performance.now())));
      const s = await report(`min ${minute}`);
      samples.push({ minute, rss: s.rss, heap: s.heap });
    }
    // Stop the load; let what was sent be answered, decided and contained (bounded).
    const stopped = next('stopped');
    tell({ type: 'stop' });
    const { sent } = await stopped;
    const drainStart = performance.now();
    let drained = false;
    // Up to 5 minutes: a delivery Okta dropped after its retry comes back by the System Log poller
    // (every 60 s by default), behind whatever backlog the inbox holds.
    while (performance.now() - drainStart < DRAIN_MS) {
      const s = await report('drain');
      rows.pop();
      if (s.q?.inbox === 0 && s.q.outbox === 0 && s.open === 0) {
        drained = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 10_000));
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    await report('end');
    eld.disable();

    console.log(
      `\n${table(['minute', 'RSS MB', 'heap MB', 'ELD p99 ms', 'inbox', 'outbox', 'ack p99 ms', 'acks', 'not 2xx', 'offered/s', 'okta held contained', 'entra held contained', 'load 1m'], rows)}`,
    );
    const after = samples.filter((s) => s.minute >= 2);
    const rssSlope = slope(
      after.map((s) => s.minute),
      after.map((s) => s.rss / 2 ** 20),
    );
    const heapSlope = slope(
      after.map((s) => s.minute),
      after.map((s) => s.heap / 2 ** 20),
    );
    console.log(
      `\nsent ${sent} load actions (${(sent / MINUTES / 60).toFixed(1)}/s), ${allAcks.length} deliveries answered, ${badTotal} not 2xx, ${last?.failed ?? 0} load errors; ack p99 over the whole run ${fmt(p99(allAcks))} ms (Okta's guidance: well under 400 ms)`,
    );
    console.log(`held changes contained: okta ${last?.contained.okta}/${last?.held.okta}, entra ${last?.contained.entra}/${last?.held.entra}`);
    console.log(
      `queues after the load: ${drained ? `empty after ${drainSeconds.toFixed(1)} s` : `NOT empty after ${drainSeconds.toFixed(0)} s`}; drift (least-squares slope over minutes 2..${MINUTES}): RSS ${fmt(rssSlope)} MB/min, heap ${fmt(heapSlope)} MB/min`,
    );
    await explainOpen(
      db,
      await within(
        next('open').then((m) => m.okta),
        15_000,
        () => tell({ type: 'open' }),
      ),
    );
    console.log(`uptime load average at end: ${load()} (1/5/15 min)`);
  } finally {
    for (const c of cleanups) await c();
  }
}

await main();
