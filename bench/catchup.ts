/**
 * Catch-up after an outage (issue 16 §2): how fast Warden reads a day of
 * audit log back and decides it, against the time needed just to fetch the
 * same pages under the same limits (the floor), in the same run.
 *
 *   npm run bench:catchup
 *   WARDEN_BENCH_CATCHUP_OKTA=40000 WARDEN_BENCH_CATCHUP_ENTRA=10000 npm run bench:catchup
 *
 * Okta: the simulator serves WARDEN_BENCH_CATCHUP_OKTA (400,000: Okta's cap
 * of event-hook events per org-day) System Log events of the past 24 h,
 * made on demand in the simulator's LogEvent shape (`generateLog`), in pages
 * of 1,000 with Okta's rate-limit headers on the `/api/v1/logs` bucket
 * (120 requests a minute, Workforce default; research okta.md), about a
 * population of WARDEN_BENCH_CATCHUP_PEOPLE (2,000) people (`draw`). The mix:
 * 88 % Okta Verify push approvals and 2 % denials (signals for detection),
 * 6 % self-service enrollments, 3 % self-service password resets, 1 %
 * help-desk factor resets (held: their actions go to the simulator). Warden:
 * `readSystemLog`, the function `warden okta backfill` runs
 * (connectors/okta/commands.ts, operation `okta.backfill`), with the server's
 * inbox worker deciding and correlating as it goes; done when the inbox has
 * nothing pending. Floor: a plain `fetch` loop over the same pages with the
 * same filter and page size, waiting out the rate limit the same way, on a
 * fresh simulator (a fresh bucket).
 *
 * Entra: WARDEN_BENCH_CATCHUP_ENTRA (100,000) directoryAudits records of the
 * past 24 h, written through the simulator's own audit records (profile
 * edits and help-desk password resets, 1 in 20 of them, held). Warden:
 * `readDirectoryAudits`, what `warden entra backfill` runs
 * (connectors/entra/operations.ts, operation `entra.backfill`), then the
 * inbox drained. Floor: the same pages through the same Graph session.
 *
 * Reported: records/s and wall time of both, the ratio (target ≤ 2×), peak
 * RSS of this process during each phase (sampled every 100 ms). Both are
 * timed from a started server on: the server's own start (a fresh embedded
 * store runs initdb and every migration) is printed apart, with the peak RSS
 * it reached, since a server catching up after an outage is already running.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readDirectoryAudits, odataTime } from '../connectors/entra/audit-poller.js';
import { createEntraConnector } from '../connectors/entra/index.js';
import type { SimUser as EntraUser } from '../connectors/entra/simulator/simulated-directory.js';
import { systemLogFilter } from '../connectors/okta/event-types.js';
import { oktaConnector } from '../connectors/okta/index.js';
import { createOktaTenants } from '../connectors/okta/okta-tenant.js';
import { OktaSimulator, type GeneratedEvent } from '../connectors/okta/simulator/okta-simulator.js';
import { nextLink, readSystemLog } from '../connectors/okta/system-log-poller.js';
import { loadConfig } from '../src/config/load-config.js';
import { startServer, type RunningServer } from '../src/app/start-server.js';
import { createLogger } from '../src/runtime/logger.js';
import { startEntraWorld, trustedOrRerun, type BenchTls, type EntraWorld } from './idp-world.js';
import { benchStoreSpecs, dropSchemas, formatRatio, machineLine, table, type StoreSpec } from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POLICY = path.join(ROOT, 'examples/policies/acme.yaml');
const TENANT = 'acme';
const OKTA_EVENTS = Number(process.env.WARDEN_BENCH_CATCHUP_OKTA ?? 400_000);
const ENTRA_RECORDS = Number(process.env.WARDEN_BENCH_CATCHUP_ENTRA ?? 100_000);
const DAY = 86_400_000;
/**
 * The population both org-days draw from (`WARDEN_BENCH_CATCHUP_PEOPLE`, default 2,000: an org where
 * the same people come back during a day). Event i is about `people[draw(i) % n]`, a fixed hash of i,
 * so any person can be the subject of any kind of event. (A stride, `i × 7919 mod n`, gave the decided
 * changes — slots 90–99 of each hundred — only n/10 people, the help-desk resets n/100; a 2,000-event
 * run had each change about a new person, a 20,000-event run each of 200 people ten times.)
 */
const PEOPLE = Number(process.env.WARDEN_BENCH_CATCHUP_PEOPLE ?? 2_000);

/** A fixed integer hash (the finaliser of a 32-bit mix): who event `i` is about. */
function draw(i: number): number {
  let x = i >>> 0;
  x = Math.imul((x >>> 16) ^ x, 0x45d9f3b) >>> 0;
  x = Math.imul((x >>> 16) ^ x, 0x45d9f3b) >>> 0;
  return ((x >>> 16) ^ x) >>> 0;
}

/**
 * Wall time and peak RSS of `work` (sampled every 100 ms), split where it
 * calls `begin()`: before it the server starts (a fresh store: initdb and
 * migrations), after it the catch-up itself, which is what the ratio
 * compares (a server catching up after an outage is already running).
 */
async function measured<T>(
  work: (begin: () => void) => Promise<T>,
): Promise<{ value: T; seconds: number; peakRss: number; startSeconds: number; startPeakRss: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  const t0 = performance.now();
  let begun: { at: number; peak: number } | undefined;
  const begin = () => {
    const rss = process.memoryUsage().rss;
    begun = { at: performance.now(), peak: Math.max(peak, rss) };
    peak = rss;
  };
  try {
    const value = await work(begin);
    const end = performance.now();
    peak = Math.max(peak, process.memoryUsage().rss);
    const b = begun ?? { at: t0, peak: process.memoryUsage().rss };
    return { value, seconds: (end - b.at) / 1000, peakRss: peak, startSeconds: (b.at - t0) / 1000, startPeakRss: b.peak };
  } finally {
    clearInterval(timer);
  }
}

async function pendingInbox(server: RunningServer): Promise<number> {
  const db = (server.store as unknown as { db: { query<T>(sql: string): Promise<T[]> } }).db;
  const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM inbox WHERE state = 'pending'");
  return Number(row?.n ?? 0);
}

async function drainInbox(server: RunningServer): Promise<void> {
  for (;;) {
    if ((await pendingInbox(server)) === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Decided changes, and the people (targets and actors) they name, as the store has them. */
async function decidedChanges(server: RunningServer): Promise<{ changes: number; people: number; unenriched: number }> {
  const db = (server.store as unknown as { db: { query<T>(sql: string): Promise<T[]> } }).db;
  const [row] = await db.query<{ n: number; people: number; unenriched: number }>(
    `SELECT count(*)::int AS n,
            (SELECT count(*)::int FROM changes c JOIN decisions d ON d.change_id = c.id
              WHERE c.body->'context'->>'enrichment' = 'failed' OR c.body->'context'->>'enrichmentFailed' = 'true') AS unenriched,
            (SELECT count(*)::int FROM (SELECT c2.target_id FROM changes c2 JOIN decisions d2 ON d2.change_id = c2.id
                                        UNION SELECT c3.actor_id FROM changes c3 JOIN decisions d3 ON d3.change_id = c3.id) p) AS people
       FROM decisions`,
  );
  return { changes: Number(row?.n ?? 0), people: Number(row?.people ?? 0), unenriched: Number(row?.unenriched ?? 0) };
}

/** Directory reads counted at a simulator, per decided change and per person: what enrichment asks the IdP. */
interface DirectoryCalls {
  calls: number;
  byKind: Record<string, number>;
  /** Okta: calls answered 429 (E0000047) by the simulator's rate-limit buckets, by bucket. */
  rejected?: Record<string, number>;
  /** Decided changes whose enrichment failed (decided without the directory after the retries). */
  unenriched?: number;
  changes: number;
  people: number;
}

function directoryLine(idp: string, d: DirectoryCalls): string {
  const kinds = Object.entries(d.byKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const rejected = d.rejected
    ? `; answered 429: ${
        Object.entries(d.rejected)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none'
      }`
    : '';
  const unenriched = d.unenriched !== undefined ? `; decided without enrichment: ${d.unenriched}` : '';
  return `${idp} directory calls: ${d.calls} (${kinds}) for ${d.changes} decided changes over ${d.people} people: ${(d.calls / Math.max(1, d.changes)).toFixed(2)} per decided change, ${(d.calls / Math.max(1, d.people)).toFixed(2)} per person${rejected}${unenriched}`;
}

function storeYaml(spec: StoreSpec, dir: string, schema: string): string {
  return spec.driver === 'pglite'
    ? `dataDir: ${JSON.stringify(path.join(dir, 'data'))}\ndurability: ${spec.durability}\n`
    : `database:\n  url: { env: WARDEN_BENCH_DB_URL }\n  schema: ${schema}\n  poolSize: 10\n`;
}

// ------------------------------------------------------------------ Okta

/** A simulator with the org-day's System Log, generated on demand. */
async function oktaOrg(from: Date): Promise<OktaSimulator> {
  const sim = await new OktaSimulator().start();
  sim.addGroup('Warden Hold');
  const agent = sim.addUser(
    { login: 'sam.agent@acme.example', firstName: 'Sam', lastName: 'Agent' },
    { roles: ['HELP_DESK_ADMIN'], groups: ['Everyone', 'Service Desk'] },
  );
  const people = Array.from({ length: PEOPLE }, (_, i) => {
    const u = sim.addUser({ login: `person${i}@acme.example`, firstName: 'Person', lastName: `N${i}` }, { groups: ['Everyone'] });
    sim.addFactor(u.id, 'push');
    return u;
  });
  const enrollment = (factorId: string, name: string) => ({
    other: { id: factorId, type: 'AuthenticatorEnrollment', alternateId: 'unknown', displayName: name, detailEntry: null },
  });
  sim.generateLog({
    count: OKTA_EVENTS,
    from,
    spacingMs: DAY / OKTA_EVENTS,
    make: (i): GeneratedEvent => {
      const person = people[draw(i) % people.length]!;
      const slot = i % 100;
      // The same event types, messages and debug data the simulator's own operations write (signInPush, selfEnroll, resetPassword, adminResetFactors).
      if (slot < 88 || (slot >= 88 && slot < 90)) {
        const approve = slot < 88;
        return {
          eventType: 'user.authentication.auth_via_mfa',
          displayMessage: 'Authentication of user via MFA',
          actorId: person.id,
          targetIds: [enrollment(`opf${person.id.slice(3)}`, 'Okta Verify')],
          debug: { factor: 'OKTA_VERIFY_PUSH' },
          outcome: approve ? { result: 'SUCCESS', reason: null } : { result: 'FAILURE', reason: 'INVALID_CREDENTIALS' },
        };
      }
      if (slot < 96)
        return {
          eventType: 'user.mfa.factor.activate',
          displayMessage: 'Activate factor or authenticator enrollment method for user',
          actorId: person.id,
          targetIds: [{ userId: person.id }, enrollment(`opf${i.toString(36)}`, 'Okta Verify')],
          debug: { requestUri: '/idp/idx/challenge/answer' },
        };
      if (slot < 99)
        return {
          eventType: 'user.account.reset_password',
          displayMessage: "Fired when the user's Okta password is reset",
          actorId: person.id,
          targetIds: [{ userId: person.id }],
          debug: { requestUri: '/idp/idx/challenge/answer' },
        };
      return {
        eventType: 'user.mfa.factor.reset_all',
        displayMessage: 'Reset all factors for user',
        actorId: agent.id,
        targetIds: [{ userId: person.id }],
        debug: { requestUri: `/api/v1/users/${person.id}/lifecycle/reset_factors` },
      };
    },
  });
  return sim;
}

/** The floor: the same pages, fetched and parsed, waiting out the rate limit as readSystemLog does. */
async function oktaFloor(sim: OktaSimulator, since: Date, until: Date): Promise<number> {
  const params = new URLSearchParams({
    since: since.toISOString(),
    until: until.toISOString(),
    sortOrder: 'ASCENDING',
    limit: '1000',
    filter: systemLogFilter(),
  });
  let url: string | undefined = `${sim.url}/api/v1/logs?${params.toString()}`;
  let events = 0;
  while (url) {
    const res = await fetch(url, { headers: { Accept: 'application/json', Authorization: `SSWS ${sim.token}` } });
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, Math.max(0, Number(res.headers.get('x-rate-limit-reset')) * 1000 - Date.now()) + 50));
      continue;
    }
    const page = (await res.json()) as unknown[];
    events += page.length;
    if (page.length === 0) break;
    url = nextLink(res.headers.get('link'));
    const remaining = res.headers.get('x-rate-limit-remaining');
    if (url && remaining !== null && Number(remaining) <= 2)
      await new Promise((r) => setTimeout(r, Math.max(0, Number(res.headers.get('x-rate-limit-reset')) * 1000 - Date.now()) + 50));
  }
  return events;
}

/** Okta's enrichment reads among the simulator's requests: `GET /api/v1/users/{id}`, `…/groups`, `…/roles`. */
function oktaDirectoryCalls(sim: OktaSimulator): Record<string, number> {
  const byKind: Record<string, number> = { user: 0, groups: 0, roles: 0 };
  for (const r of sim.requests) {
    if (r.method !== 'GET') continue;
    const m = /^\/api\/v1\/users\/([^/]+)(?:\/(groups|roles))?$/.exec(r.path);
    if (!m || m[1] === 'me') continue;
    byKind[m[2] ?? 'user']!++;
  }
  return byKind;
}

async function oktaWarden(
  spec: StoreSpec,
  sim: OktaSimulator,
  since: Date,
  until: Date,
  begin: () => void,
): Promise<{ events: number; directory: DirectoryCalls }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-bench-catchup-'));
  const schema = `warden_bench_${randomBytes(4).toString('hex')}`;
  const configFile = path.join(dir, 'warden.yaml');
  writeFileSync(
    configFile,
    `listen: { host: 127.0.0.1, port: 0 }\n${storeYaml(spec, dir, schema)}log: { level: error }\ntenants:\n  - id: ${TENANT}\n    policy: ${JSON.stringify(POLICY)}\n    secrets: { hook: { env: HOOK }, token: { env: OKTA_TOKEN } }\n` +
      `    okta:\n      orgUrl: ${sim.url}\n      simulator: true\n      auth: { type: api_token, token: token }\n      eventHook: { secret: hook }\n      poller: { enabled: false }\n`,
  );
  // Every call the simulator's rate-limit buckets answered 429, by bucket.
  const rejected: Record<string, number> = {};
  const take = sim.rateLimits.take.bind(sim.rateLimits);
  sim.rateLimits.take = (bucket, now) => {
    const answer = take(bucket, now);
    if (answer.exceeded) rejected[bucket] = (rejected[bucket] ?? 0) + 1;
    return answer;
  };
  const connector = oktaConnector();
  const env = { HOOK: 'bench-hook-secret-0123456789abcdef', OKTA_TOKEN: sim.token, ...(spec.driver === 'postgres' ? { WARDEN_BENCH_DB_URL: spec.url } : {}) };
  const config = loadConfig({ path: configFile, env, cwd: dir, connectors: [connector], resolveSecrets: true });
  const server = await startServer({ config, connectors: [connector], watchPolicies: false, log: createLogger('error') });
  try {
    begin();
    // What `warden okta backfill` runs (the okta.backfill operation in connectors/okta/commands.ts).
    const result = await readSystemLog(createOktaTenants().get(config, TENANT), server.store, { since, until, maxPages: 100_000, now: () => new Date() });
    server.context.wakeInbox?.();
    await drainInbox(server);
    const byKind = oktaDirectoryCalls(sim);
    const calls = Object.values(byKind).reduce((a, b) => a + b, 0);
    return { events: result.events, directory: { calls, byKind, rejected, ...(await decidedChanges(server)) } };
  } finally {
    await server.close();
    if (spec.driver === 'postgres') await dropSchemas(spec.url, [schema]);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ Entra

function entraDay(world: EntraWorld, from: Date): void {
  const directory = world.sim.directory;
  const people: EntraUser[] = Array.from({ length: PEOPLE }, () => world.addPerson());
  const actor = { user: world.helpdesk, ipAddress: '203.0.113.7' };
  for (let i = 0; i < ENTRA_RECORDS; i++) {
    const person = people[draw(i) % people.length]!;
    const at = new Date(from.getTime() + (i * DAY) / ENTRA_RECORDS);
    const target = { id: person.id, displayName: person.displayName, type: 'User', userPrincipalName: person.userPrincipalName };
    // The records the simulator's own operations write (resetPasswordByAdmin, updateUser), at past times.
    if (i % 20 === 0)
      directory.audit({
        service: 'Self-service Password Management',
        category: 'UserManagement',
        activity: 'Reset password (by admin)',
        operationType: 'Update',
        resultReason: 'Successfully completed reset.',
        actor,
        targets: [target],
        additionalDetails: [{ key: 'OnPremisesAgent', value: 'None' }],
        at,
        delayMs: 0,
      });
    else
      directory.audit({
        service: 'Core Directory',
        category: 'UserManagement',
        activity: 'Update user',
        operationType: 'Update',
        resultReason: '',
        actor,
        targets: [
          {
            ...target,
            modifiedProperties: [
              { displayName: 'JobTitle', oldValue: JSON.stringify(['Analyst']), newValue: JSON.stringify([`Analyst ${i}`]) },
              { displayName: 'Included Updated Properties', oldValue: null, newValue: '"JobTitle"' },
            ],
          },
        ],
        at,
        delayMs: 0,
      });
  }
}

/** Entra's enrichment reads among the Graph simulator's requests: the user, its groups (transitiveMemberOf), its role assignments. */
function entraDirectoryCalls(world: EntraWorld): Record<string, number> {
  const byKind: Record<string, number> = { user: 0, groups: 0, roles: 0 };
  for (const r of world.sim.requests) {
    if (r.method !== 'GET') continue;
    if (/\/roleManagement\/directory\/roleAssignments$/.test(r.path)) byKind.roles!++;
    else if (/\/users\/[^/]+\/transitiveMemberOf/.test(r.path)) byKind.groups!++;
    else if (/\/users\/[^/]+$/.test(r.path)) byKind.user!++;
  }
  return byKind;
}

async function entraPhase(
  spec: StoreSpec,
  tls: BenchTls,
  mode: 'floor' | 'warden',
  from: Date,
  to: Date,
  begin: () => void,
): Promise<{ records: number; directory?: DirectoryCalls }> {
  const world = await startEntraWorld(tls);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-bench-catchup-'));
  const schema = `warden_bench_${randomBytes(4).toString('hex')}`;
  try {
    entraDay(world, from);
    const configFile = path.join(dir, 'warden.yaml');
    writeFileSync(
      configFile,
      `listen: { host: 127.0.0.1, port: 0 }\n${storeYaml(spec, dir, schema)}log: { level: error }\ntenants:\n  - id: ${TENANT}\n    policy: ${JSON.stringify(POLICY)}\n` +
        world.yaml(TENANT, { poller: false, subscription: false }),
    );
    const env = { ...world.env(), ...(spec.driver === 'postgres' ? { WARDEN_BENCH_DB_URL: spec.url } : {}) };
    const connector = createEntraConnector({ env });
    const config = loadConfig({ path: configFile, env, cwd: dir, connectors: [connector], resolveSecrets: true });
    const server = await startServer({ config, connectors: [connector], watchPolicies: false, workers: mode === 'warden', log: createLogger('error') });
    try {
      const tenant = connector.runtime.tenant(server.context.config, TENANT, server.context.clock)!;
      begin();
      if (mode === 'floor') {
        // The same listing through the same Graph session, records parsed and counted.
        type Page = { value: unknown[]; '@odata.nextLink'?: string };
        const filter = `activityDateTime ge ${odataTime(from)} and activityDateTime le ${odataTime(to, 'ceil')}`;
        let page = await tenant.session.call(
          'listDirectoryAudits',
          {},
          (r) => r.filter(filter).orderby('activityDateTime asc').top(tenant.config.poller.pageSize).get() as Promise<Page>,
        );
        let n = page.value.length;
        while (page['@odata.nextLink']) {
          page = await tenant.session.next<Page>('listDirectoryAudits', page['@odata.nextLink']);
          n += page.value.length;
        }
        return { records: n };
      }
      // What `warden entra backfill` runs (the entra.backfill operation in connectors/entra/operations.ts).
      const stats = await readDirectoryAudits(tenant, server.store, { from, to, now: () => new Date() });
      server.context.wakeInbox?.();
      await drainInbox(server);
      const byKind = entraDirectoryCalls(world);
      const calls = Object.values(byKind).reduce((a, b) => a + b, 0);
      return { records: stats.read, directory: { calls, byKind, ...(await decidedChanges(server)) } };
    } finally {
      await server.close();
    }
  } finally {
    await world.close();
    if (spec.driver === 'postgres') await dropSchemas(spec.url, [schema]);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const tls = await trustedOrRerun();
  const { chosen } = await benchStoreSpecs();
  const specs = process.env.WARDEN_BENCH_STORES ? chosen : chosen.filter((s) => s.name === 'pglite-relaxed');
  console.log(`bench:catchup — ${machineLine()}`);
  console.log(
    `load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1/5/15 min)`,
  );
  console.log(
    `Okta: ${OKTA_EVENTS} System Log events of the past 24 h, pages of 1,000, 120 requests/min on /api/v1/logs; Entra: ${ENTRA_RECORDS} directoryAudits records; about ${PEOPLE} people each\n`,
  );
  const rows: string[][] = [];
  const directoryLines: string[] = [];
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  for (const spec of specs) {
    if (OKTA_EVENTS > 0) {
      const until = new Date();
      const since = new Date(until.getTime() - DAY);
      const floorSim = await oktaOrg(since);
      const floor = await measured(() => oktaFloor(floorSim, since, until));
      await floorSim.close();
      const sim = await oktaOrg(since);
      const warden = await measured((begin) => oktaWarden(spec, sim, since, until, begin));
      await sim.close();
      const events = warden.value.events;
      rows.push([
        spec.name,
        'okta',
        String(events),
        `${warden.seconds.toFixed(1)} s`,
        `${(events / warden.seconds).toFixed(0)}/s`,
        mb(warden.peakRss),
        `${warden.startSeconds.toFixed(1)} s, ${mb(warden.startPeakRss)}`,
        `${floor.seconds.toFixed(1)} s`,
        `${(floor.value / floor.seconds).toFixed(0)}/s`,
        mb(floor.peakRss),
        formatRatio(warden.seconds / floor.seconds),
      ]);
      console.log(`  ${spec.name} okta: ${rows.at(-1)!.join(' | ')}`);
      directoryLines.push(`${spec.name} ${directoryLine('okta', warden.value.directory)}`);
      console.log(`  ${directoryLines.at(-1)}`);
    }
    if (ENTRA_RECORDS > 0) {
      const to = new Date();
      const from = new Date(to.getTime() - DAY);
      const floor = await measured((begin) => entraPhase(spec, tls, 'floor', from, to, begin));
      const warden = await measured((begin) => entraPhase(spec, tls, 'warden', from, to, begin));
      const records = warden.value.records;
      rows.push([
        spec.name,
        'entra',
        String(records),
        `${warden.seconds.toFixed(1)} s`,
        `${(records / warden.seconds).toFixed(0)}/s`,
        mb(warden.peakRss),
        `${warden.startSeconds.toFixed(1)} s, ${mb(warden.startPeakRss)}`,
        `${floor.seconds.toFixed(1)} s`,
        `${(floor.value.records / floor.seconds).toFixed(0)}/s`,
        mb(floor.peakRss),
        formatRatio(warden.seconds / floor.seconds),
      ]);
      console.log(`  ${spec.name} entra: ${rows.at(-1)!.join(' | ')}`);
      if (warden.value.directory) {
        directoryLines.push(`${spec.name} ${directoryLine('entra', warden.value.directory)}`);
        console.log(`  ${directoryLines.at(-1)}`);
      }
    }
  }
  console.log(
    `\n${table(['store', 'IdP', 'records', 'Warden time', 'Warden records/s', 'Warden peak RSS', 'Warden start (time, peak RSS)', 'floor time', 'floor records/s', 'floor peak RSS', 'Warden / floor [target ≤ 2×]'], rows)}`,
  );
  console.log(`\n${directoryLines.join('\n')}`);
  console.log(
    `\nload average at end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1/5/15 min)`,
  );
}

await main();
