/**
 * HTTP benchmark of `POST /v1/decisions`: the real server (startServer:
 * express, API-key auth, JSON + schema validation, policy, one store
 * transaction, metrics) versus a bare `node:http` server that does the same
 * durable work (`decideChange`: policy evaluation, then putChange,
 * putDecision and appendAudit in one transaction) and nothing else, on the
 * same store driver, in the same run.
 *
 *   npm run bench:decisions
 *   WARDEN_BENCH_SECONDS=5 WARDEN_BENCH_CONCURRENCY=32 npm run bench:decisions
 *   WARDEN_BENCH_STORES=pglite-relaxed,postgres npm run bench:decisions
 *
 * Stores: the embedded store (PGlite) in a fresh temporary data directory,
 * with `durability: relaxed` and with `full` (fsync per commit), and
 * PostgreSQL when WARDEN_BENCH_DATABASE_URL or WARDEN_TEST_DATABASE_URL is
 * set or one listens on 127.0.0.1:5432 (postgres://postgres@127.0.0.1:5432/test),
 * each server in a fresh schema, dropped afterwards.
 *
 * The load comes from a worker thread (its own event loop, so on another core
 * than the server) with `concurrency` keep-alive connections, each sending its
 * next request when the previous answer arrived (closed loop). Latency is
 * measured by the client, from sending the request to the end of the answer.
 * Each measured round runs both servers, alternating which goes first; the
 * figures are the median over rounds.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../src/config/load-config.js';
import type { ChangeInput } from '../src/core/identity-change.js';
import { completeChange } from '../src/core/identity-change.js';
import { decideChange } from '../src/engine/decide-change.js';
import { createApiKey } from '../src/access/api-keys.js';
import { createLogger } from '../src/runtime/logger.js';
import { loadPolicyFile } from '../src/config/policy-registry.js';
import { decisionResponse } from '../src/server/routes/decisions.js';
import { startServer } from '../src/app/start-server.js';
import { openPgliteStore } from '../src/store/pglite-store.js';
import { openPostgresStore } from '../src/store/postgres-store.js';
import type { Store } from '../src/store/store.js';
import { generateWorkload } from './policy-changes.js';
import { formatNs, formatRate, formatRatio, machineLine, median, table, benchStoreSpecs, dropSchemas, type StoreSpec } from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POLICY = path.join(ROOT, 'examples/policies/acme.yaml');
const TENANT = 'acme';
const CONCURRENCY = Number(process.env.WARDEN_BENCH_CONCURRENCY ?? 16);
const ROUND_SECONDS = Number(process.env.WARDEN_BENCH_SECONDS ?? 3);
const WARMUP_SECONDS = Number(process.env.WARDEN_BENCH_WARMUP_SECONDS ?? 1.5);
const ROUNDS = Math.max(3, Number(process.env.WARDEN_BENCH_ROUNDS ?? 3));

interface LoadResult {
  count: number;
  errors: number;
  firstError?: string;
  elapsedNs: number;
  p50: number;
  p99: number;
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

// ---------------------------------------------------------------------------
// Load generator (a worker thread; plain JS so it needs no TypeScript loader).

const CLIENT_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
parentPort.on('message', async ({ url, headers, bodies, concurrency, seconds }) => {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies = [];
  let errors = 0;
  let firstError;
  let next = 0;
  const post = (body) =>
    new Promise((resolve) => {
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', (err) => resolve({ status: 0, text: String(err) }));
      req.end(body);
    });
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  const loop = async () => {
    while (process.hrtime.bigint() < end) {
      const body = bodies[next++ % bodies.length];
      const t0 = process.hrtime.bigint();
      const { status, text } = await post(body);
      const t1 = process.hrtime.bigint();
      if (status !== 200) {
        errors++;
        firstError ??= status + ' ' + text.slice(0, 300);
      } else latencies.push(Number(t1 - t0));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedNs = Number(process.hrtime.bigint() - start);
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const q = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);
  parentPort.postMessage({ count: latencies.length, errors, firstError, elapsedNs, p50: q(0.5), p99: q(0.99) });
});
`;

class LoadClient {
  readonly #worker = new Worker(CLIENT_SOURCE, { eval: true });

  run(target: Target, bodies: readonly string[], seconds: number): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#worker.once('error', onError);
      this.#worker.once('message', (r: LoadResult) => {
        this.#worker.off('error', onError);
        resolve(r);
      });
      this.#worker.postMessage({ url: `${target.url}/v1/decisions`, headers: target.headers, bodies, concurrency: CONCURRENCY, seconds });
    });
  }

  close(): Promise<number> {
    return this.#worker.terminate();
  }
}

// ---------------------------------------------------------------------------
// The bare server: the same durable work, without express, auth or validation.

async function startBareServer(store: Store, tenant: string): Promise<{ url: string; close(): Promise<void> }> {
  const policy = loadPolicyFile(tenant, POLICY);
  const deps = { store, policies: { get: () => policy } };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tenant: string; change: ChangeInput };
          const now = new Date();
          const change = completeChange(body.change as Parameters<typeof completeChange>[0], body.tenant, now);
          const result = await decideChange(deps, { change, actor: { type: 'api_key', id: 'bench', name: 'bench' }, observed: false });
          const payload = JSON.stringify(decisionResponse(result.decision));
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
          res.end(payload);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        }
      })();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------

/** Fully spelled-out change inputs (every default present), so the bare server needs no schema to fill them in. */
function requestBodies(count: number): string[] {
  return generateWorkload(count, 7, TENANT, new Date()).map(({ change }) => {
    const { id: _id, tenant: _tenant, source: _source, occurredAt: _o, observedAt: _ob, ...input } = change;
    return JSON.stringify({ tenant: TENANT, change: input });
  });
}

/** Median time of an 8 KiB write + fsync in the temporary directory: what `durability: full` adds per commit, roughly. */
function fsyncCost(): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-bench-fsync-'));
  try {
    const fd = openSync(path.join(dir, 'probe'), 'w');
    const block = Buffer.alloc(8192, 1);
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, block, 0, block.length, (i % 16) * block.length);
      fsyncSync(fd);
      samples.push(Number(process.hrtime.bigint() - t0));
    }
    closeSync(fd);
    return median(samples);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  store: string;
  durability: string;
  real: { rps: number; p50: number; p99: number };
  bare: { rps: number; p50: number; p99: number };
  recorded: string;
}

async function benchStore(spec: StoreSpec, client: LoadClient, bodies: readonly string[]): Promise<Row> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-bench-'));
  const schemas = spec.driver === 'postgres' ? [`warden_bench_${randomBytes(4).toString('hex')}`, `warden_bench_${randomBytes(4).toString('hex')}`] : [];
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  if (spec.driver === 'postgres') cleanups.unshift(() => dropSchemas(spec.url, schemas));
  try {
    // The real server, configured as an operator would.
    const configFile = path.join(dir, 'warden.yaml');
    const storeYaml =
      spec.driver === 'pglite'
        ? `dataDir: ${JSON.stringify(path.join(dir, 'real'))}\ndurability: ${spec.durability}\n`
        : `database:\n  url: { env: WARDEN_BENCH_DB_URL }\n  schema: ${schemas[0]}\n  poolSize: 10\n`;
    writeFileSync(
      configFile,
      `listen: { host: 127.0.0.1, port: 0 }\n${storeYaml}log: { level: error }\ntenants:\n  - id: ${TENANT}\n    policy: ${JSON.stringify(POLICY)}\n`,
    );
    const config = loadConfig({ path: configFile, env: spec.driver === 'postgres' ? { WARDEN_BENCH_DB_URL: spec.url } : {}, cwd: dir, resolveSecrets: true });
    const real = await startServer({ config, watchPolicies: false, log: createLogger('error') });
    cleanups.unshift(() => real.close());
    const { key } = await createApiKey(real.store, { tenant: TENANT, name: 'bench', actor: { type: 'cli', id: 'bench' } });

    // The bare server, on a store of the same driver and settings.
    const bareStore =
      spec.driver === 'pglite'
        ? await openPgliteStore({ dataDir: path.join(dir, 'bare'), durability: spec.durability, command: 'bench' })
        : await openPostgresStore({ url: spec.url, schema: schemas[1]!, poolSize: 10 });
    cleanups.unshift(() => bareStore.close());
    await bareStore.ensureTenants([TENANT]);
    const bare = await startBareServer(bareStore, TENANT);
    cleanups.unshift(() => bare.close());

    const targets: Target[] = [
      { name: 'real', url: real.url, headers: { authorization: `Bearer ${key}` } },
      { name: 'bare', url: bare.url, headers: {} },
    ];
    const results = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
    const ok = new Map<string, number>(targets.map((t) => [t.name, 0]));
    const account = (t: Target, r: LoadResult) => {
      if (r.errors > 0) throw new Error(`${spec.name}, ${t.name} server: ${r.errors} failed requests, first: ${r.firstError}`);
      ok.set(t.name, ok.get(t.name)! + r.count);
    };
    for (const t of targets) account(t, await client.run(t, bodies, WARMUP_SECONDS));
    for (let round = 0; round < ROUNDS; round++)
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const r = await client.run(t, bodies, ROUND_SECONDS);
        account(t, r);
        results.get(t.name)!.push(r);
      }

    // Both did the same durable work: one decision and one audit record per answered request.
    const realAudit = (await real.store.auditHead(TENANT)).seq;
    const bareAudit = (await bareStore.auditHead(TENANT)).seq;
    const recorded = `real ${ok.get('real')} answers / ${realAudit} audit records (+policy.loaded, apikey.created), bare ${ok.get('bare')} / ${bareAudit}`;
    if (realAudit !== ok.get('real')! + 2 || bareAudit !== ok.get('bare')!)
      throw new Error(`${spec.name}: audit records do not match the answers: ${recorded}`);

    const summarize = (name: string) => {
      const rs = results.get(name)!;
      return { rps: median(rs.map((r) => r.count / (r.elapsedNs / 1e9))), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)) };
    };
    return { store: spec.name, durability: real.store.durability, real: summarize('real'), bare: summarize('bare'), recorded };
  } finally {
    for (const c of cleanups) await c();
  }
}

async function main(): Promise<void> {
  const { chosen, pgUrl } = await benchStoreSpecs();

  console.log('Warden HTTP benchmark: POST /v1/decisions, real server vs bare node:http doing the same store transaction');
  console.log(`machine: ${machineLine()}`);
  console.log(
    `load: ${CONCURRENCY} keep-alive connections (closed loop) from a worker thread; ${WARMUP_SECONDS}s warm-up per server, then ${ROUNDS} rounds of ${ROUND_SECONDS}s per server (alternating order); median over rounds; policy ${path.relative(ROOT, POLICY)}`,
  );
  console.log(`disk: 8 KiB write + fsync in ${tmpdir()}: median ${formatNs(fsyncCost())}`);
  if (!pgUrl) console.log('PostgreSQL: not configured (WARDEN_BENCH_DATABASE_URL / WARDEN_TEST_DATABASE_URL) and none on 127.0.0.1:5432: skipped');

  const bodies = requestBodies(500);
  const client = new LoadClient();
  const rows: Row[] = [];
  try {
    for (const spec of chosen) {
      const t0 = Date.now();
      const row = await benchStore(spec, client, bodies);
      rows.push(row);
      console.log(`  ${spec.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)}s; store durability: ${row.durability}; ${row.recorded}`);
    }
  } finally {
    await client.close();
  }

  if (rows.length === 0) return;
  console.log(
    '\n' +
      table(
        ['store', 'server', 'requests/s', 'p50', 'p99'],
        rows.flatMap((r) => [
          [r.store, 'real (startServer)', formatRate(r.real.rps), formatNs(r.real.p50), formatNs(r.real.p99)],
          [r.store, 'bare node:http', formatRate(r.bare.rps), formatNs(r.bare.p50), formatNs(r.bare.p99)],
        ]),
      ),
  );
  console.log(
    '\n' +
      table(
        ['store', 'throughput real / bare', 'p50 real / bare', 'p99 real / bare'],
        rows.map((r) => [r.store, formatRatio(r.real.rps / r.bare.rps), formatRatio(r.real.p50 / r.bare.p50), formatRatio(r.real.p99 / r.bare.p99)]),
      ),
  );
}

await main();
