/**
 * The fault suite (`npm run test:faults`, run by `.ci/run`): real `warden
 * serve` processes on 127.0.0.1 against the simulators, killed, cut off and
 * flooded, on PGlite and PostgreSQL. Each scenario prints
 *
 *   fault <name> store=<s> sent=N acked=N decided=N duplicated=N lost=N actions=N double_actions=N audit=ok|FAILED
 *
 * and the run ends with
 *
 *   faults: <S> scenarios, lost <L>, duplicated <D>, double actions <X>, audit failures <A>
 *
 * exiting 1 when any count is not zero or a scenario errored. Not part of
 * `npm test` (vitest does not include test/faults/).
 *
 * Scenarios that need a give-up they can wait for set `retries.inbox` /
 * `retries.outbox` in their warden.yaml (idp-storms 5, poison-throws 3).
 *
 * Environment (all optional):
 *   WARDEN_FAULTS_STORES       pglite,postgres (postgres is skipped, and said so, when it does not answer)
 *   WARDEN_FAULTS_ONLY         comma-separated scenario names to run
 *   WARDEN_FAULTS_DELIVERIES   deliveries of the kill -9 scenario (default 5000; the replica and outage
 *                              scenarios send at most 600 and 1,500)
 *   WARDEN_FAULTS_CUT_SECONDS how long the store outage cuts PostgreSQL off (default 30)
 *   WARDEN_FAULTS_DIST=1       run the built dist/ instead of the sources (.ci/run, after npm ci builds it)
 *   WARDEN_FAULTS_KEEP=1       keep every scenario's directory and server logs
 *   WARDEN_TEST_DATABASE_URL   admin database the scenario databases are created from
 *   WARDEN_FAULTS_TLS          set by the runner for itself (the directory of the suite's certificate, see below)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { throwawayCertificate } from '../../connectors/entra/simulator/self-signed-certificate.js';
import { DeadlineError } from './harness/deadline.js';
import { formatResult, formatSummary, passed, type FaultResult } from './harness/fault-result.js';
import { postgresAvailable, type StoreKind } from './harness/fault-store.js';
import { killAllChildren, useDist } from './harness/warden-process.js';
import { downForAnHour } from './scenarios/down-for-an-hour.js';
import { downForAnHourEntra } from './scenarios/down-for-an-hour-entra.js';
import { idpStorms } from './scenarios/idp-storms.js';
import { idpStormsEntra } from './scenarios/idp-storms-entra.js';
import { killActionInFlight } from './scenarios/kill-action-in-flight.js';
import { killUnderLoad } from './scenarios/kill-under-load.js';
import { poisonNul } from './scenarios/poison-nul.js';
import { poisonThrows } from './scenarios/poison-throws.js';
import { storeOutage } from './scenarios/store-outage.js';
import { threeReplicas } from './scenarios/three-replicas.js';
import { threeReplicasEntra } from './scenarios/three-replicas-entra.js';

interface Scenario {
  name: string;
  stores: readonly StoreKind[];
  run(store: StoreKind): Promise<FaultResult>;
}

const deliveries = Number(process.env.WARDEN_FAULTS_DELIVERIES ?? 5000);
const cutSeconds = Number(process.env.WARDEN_FAULTS_CUT_SECONDS ?? 30);

const SCENARIOS: Scenario[] = [
  {
    name: 'kill9-under-load',
    stores: ['pglite', 'postgres'],
    // Okta's default rate limits apply: an enrichment refused with 429 waits for the bucket's reset (up to four
    // one-minute windows) before deciding without it, so deciding every delivery takes ~5 min (docs/performance.md §8).
    run: (s) => killUnderLoad(s, { deliveries, concurrency: 16, holdEvery: 10, killAt: 0.4, timeoutMs: 600_000 }),
  },
  { name: 'kill9-action-in-flight', stores: ['pglite', 'postgres'], run: (s) => killActionInFlight(s, { timeoutMs: 120_000 }) },
  {
    name: 'three-replicas',
    stores: ['postgres'],
    run: () => threeReplicas({ deliveries: Math.min(600, deliveries), concurrency: 16, holdEvery: 10, timeoutMs: 300_000 }),
  },
  { name: 'three-replicas-entra', stores: ['postgres'], run: () => threeReplicasEntra({ timeoutMs: 120_000 }) },
  {
    name: 'store-outage',
    stores: ['postgres'],
    run: () => storeOutage({ deliveries: Math.min(1500, deliveries), concurrency: 16, holdEvery: 10, cutAt: 0.3, cutSeconds, timeoutMs: 300_000 }),
  },
  { name: 'down-for-an-hour', stores: ['pglite', 'postgres'], run: (s) => downForAnHour(s, { people: 6, timeoutMs: 120_000 }) },
  { name: 'down-for-an-hour-entra', stores: ['pglite'], run: (s) => downForAnHourEntra(s, { people: 3, timeoutMs: 120_000 }) },
  { name: 'idp-storms', stores: ['pglite', 'postgres'], run: (s) => idpStorms(s, { stormed: 3, timeoutMs: 150_000 }) },
  { name: 'idp-storms-entra', stores: ['pglite'], run: (s) => idpStormsEntra(s, { timeoutMs: 150_000 }) },
  { name: 'poison-nul', stores: ['pglite', 'postgres'], run: (s) => poisonNul(s, { timeoutMs: 90_000 }) },
  { name: 'poison-throws', stores: ['pglite', 'postgres'], run: (s) => poisonThrows(s, { timeoutMs: 90_000 }) },
];

async function main(): Promise<number> {
  const only = process.env.WARDEN_FAULTS_ONLY?.split(',').filter(Boolean);
  let stores = (process.env.WARDEN_FAULTS_STORES ?? 'pglite,postgres').split(',').filter(Boolean) as StoreKind[];
  if (stores.includes('postgres') && !(await postgresAvailable())) {
    process.stdout.write('fault suite: PostgreSQL does not answer at WARDEN_TEST_DATABASE_URL; its scenarios do not run\n');
    stores = stores.filter((s) => s !== 'postgres');
  }
  process.stdout.write(`fault suite: ${useDist() ? 'dist/' : 'sources (tsx)'}, stores ${stores.join(', ')}, node ${process.version}\n`);
  const results: FaultResult[] = [];
  let errors = 0;
  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.name)) continue;
    for (const store of scenario.stores) {
      if (!stores.includes(store)) continue;
      const started = performance.now();
      try {
        const result = await scenario.run(store);
        results.push(result);
        process.stdout.write(`${formatResult(result)}\n`);
        for (const note of result.notes) process.stdout.write(`  ${note}\n`);
      } catch (err) {
        errors++;
        process.stdout.write(
          `fault ${scenario.name} store=${store} ERROR ${err instanceof DeadlineError ? err.message : ((err as Error).stack ?? String(err))}\n`,
        );
      }
      process.stdout.write(`  (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
    }
  }
  process.stdout.write(`${formatSummary(results, errors)}\n`);
  return passed(results, errors) ? 0 : 1;
}

/**
 * The Entra scenarios' Graph simulator posts change notifications to Warden
 * through an HTTPS front, so this process must trust the simulator's
 * throw-away certificate; Node reads `NODE_EXTRA_CA_CERTS` only when a
 * process starts. Without `WARDEN_FAULTS_TLS` the runner makes the
 * certificate, then runs itself again with both set, and exits with its code.
 */
function runTrustingSuiteCertificate(): boolean {
  if (process.env.WARDEN_FAULTS_TLS) return false;
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-faults-tls-'));
  const { certPem, keyPem } = throwawayCertificate({ days: 2 });
  writeFileSync(path.join(dir, 'cert.pem'), certPem);
  writeFileSync(path.join(dir, 'key.pem'), keyPem, { mode: 0o600 });
  const existing = process.env.NODE_EXTRA_CA_CERTS ? readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8') : '';
  writeFileSync(path.join(dir, 'ca.pem'), existing + (existing && !existing.endsWith('\n') ? '\n' : '') + certPem);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, WARDEN_FAULTS_TLS: dir, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => child.kill(signal));
  child.once('exit', (code, signal) => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(code ?? (signal ? 130 : 1));
  });
  return true;
}

if (!runTrustingSuiteCertificate()) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      killAllChildren();
      process.exit(130);
    });

  main().then(
    (code) => {
      killAllChildren();
      process.exit(code);
    },
    (err: unknown) => {
      killAllChildren();
      process.stderr.write(`fault suite failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
