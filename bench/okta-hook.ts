/**
 * HTTP benchmark of the Okta event hook endpoint (`POST /hooks/okta/:tenant/events`):
 * the real server (startServer with the Okta connector: the receiver's raw
 * route ahead of express, the latency histogram, the constant-time
 * shared-secret check, JSON parsing, envelope validation, one inbox row per
 * LogEvent written through the group commit — the deliveries that arrive
 * together in one statement and one commit —, the connector's counters)
 * versus a bare `node:http` handler doing the same durable work the plain way
 * (parse the body, `putInbox` per event: one statement and one commit per
 * delivery, 200) and nothing else, on the same store driver, in the same run.
 *
 *   npm run bench:okta-hook
 *   WARDEN_BENCH_STORES=pglite-relaxed,postgres WARDEN_BENCH_EVENTS=5 npm run bench:okta-hook
 *
 * Ingest only: both servers run without the inbox worker (the real one with
 * `workers: false`), so what is compared is receiving and storing. Every
 * delivery carries fresh LogEvent uuids (built from Okta's sample delivery,
 * test/fixtures/okta/event-hook-delivery-user-session-start.json), so every
 * request inserts. Load: a worker thread (its own event loop) with N
 * keep-alive connections in a closed loop; warm-up, then rounds alternating
 * which server goes first; the ratios are medians of the per-round ratios
 * (the two servers of a round saw the same machine: robust on a shared host). After the run, each store
 * must hold exactly one inbox row per event answered 200.
 *
 * A third server, for attribution only: the same work in a plain express 5
 * route with express.json, where the receiver ran before it became a raw
 * route (what express itself costs per delivery).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import express from 'express';
import { oktaConnector } from '../connectors/okta/index.js';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/runtime/logger.js';
import { startServer } from '../src/app/start-server.js';
import { openPgliteStore } from '../src/store/pglite-store.js';
import { openPostgresStore } from '../src/store/postgres-store.js';
import type { SqlExecutor } from '../src/store/sql-executor.js';
import type { Store } from '../src/store/store.js';
import {
  countInboxStatements,
  formatNs,
  formatRate,
  formatRatio,
  machineLine,
  median,
  table,
  benchStoreSpecs,
  dropSchemas,
  type StoreSpec,
  startStress,
} from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POLICY = path.join(ROOT, 'examples/policies/acme.yaml');
const SAMPLE = path.join(ROOT, 'test/fixtures/okta/event-hook-delivery-user-session-start.json');
const TENANT = 'acme';
const SECRET = 'bench-shared-secret-0123456789abcdef';
const CONCURRENCY = Number(process.env.WARDEN_BENCH_CONCURRENCY ?? 16);
const ROUND_SECONDS = Number(process.env.WARDEN_BENCH_SECONDS ?? 1.5);
const WARMUP_SECONDS = Number(process.env.WARDEN_BENCH_WARMUP_SECONDS ?? 1.5);
const ROUNDS = Math.max(3, Number(process.env.WARDEN_BENCH_ROUNDS ?? 8));
const EVENTS = Math.max(1, Number(process.env.WARDEN_BENCH_EVENTS ?? 1));

interface LoadResult {
  /** CPU time of this whole process (servers, stores, load thread) per answered request, µs. */
  cpuUs?: number;
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
  prefix: string;
}

// The load generator: a worker thread, plain JS. Each request is Okta's sample delivery with fresh uuids.
const CLIENT_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
parentPort.on('message', async ({ url, secret, head, tail, event, prefix, events, concurrency, seconds }) => {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies = [];
  let errors = 0, firstError, n = 0;
  const post = (body) => new Promise((resolve) => {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
      headers: { authorization: secret, accept: 'application/json', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (err) => resolve({ status: 0, text: String(err) }));
    req.end(body);
  });
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  const loop = async () => {
    while (process.hrtime.bigint() < end) {
      const list = [];
      for (let i = 0; i < events; i++) list.push(event.replace('__UUID__', prefix + '-' + (n++)));
      const body = head + '[' + list.join(',') + ']' + tail;
      const t0 = process.hrtime.bigint();
      const { status, text } = await post(body);
      const t1 = process.hrtime.bigint();
      if (status !== 200) { errors++; firstError ??= status + ' ' + text.slice(0, 300); } else latencies.push(Number(t1 - t0));
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
  readonly #parts: { head: string; tail: string; event: string };
  constructor() {
    const sample = JSON.parse(readFileSync(SAMPLE, 'utf8')) as { data: { events: Array<Record<string, unknown>> } };
    const [head, tail] = JSON.stringify({ ...sample, data: { events: '__EVENTS__' } }).split('"__EVENTS__"') as [string, string];
    this.#parts = { head, tail, event: JSON.stringify({ ...sample.data.events[0], uuid: '__UUID__' }) };
  }
  async run(target: Target, seconds: number): Promise<LoadResult> {
    const before = process.cpuUsage();
    const result = await this.#run(target, seconds);
    const used = process.cpuUsage(before);
    return { ...result, cpuUs: (used.user + used.system) / Math.max(1, result.count) };
  }
  #run(target: Target, seconds: number): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#worker.once('error', onError);
      this.#worker.once('message', (r: LoadResult) => {
        this.#worker.off('error', onError);
        resolve(r);
      });
      this.#worker.postMessage({
        url: target.url,
        secret: SECRET,
        ...this.#parts,
        prefix: `${target.prefix}-${randomBytes(4).toString('hex')}`,
        events: EVENTS,
        concurrency: CONCURRENCY,
        seconds,
      });
    });
  }
  close(): Promise<number> {
    return this.#worker.terminate();
  }
}

/** The bare server: the same durable work (parse, check the secret, putInbox per event), nothing else. */
async function startBareServer(store: Store): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          if (req.headers.authorization !== SECRET) {
            res.writeHead(401).end();
            return;
          }
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            data: { events: Array<{ uuid: string; eventType: string; published?: string }> };
          };
          const receivedAt = new Date();
          const entries = body.data.events.map((e) => ({
            tenant: TENANT,
            source: 'okta',
            eventId: e.uuid,
            eventType: e.eventType,
            via: 'hook' as const,
            payload: e,
            receivedAt,
            ...(e.published ? { occurredAt: new Date(e.published) } : {}),
          }));
          if (entries.length === 1) await store.putInbox(entries[0]!);
          else
            await store.transaction(async (tx) => {
              for (const entry of entries) await tx.putInbox(entry);
            });
          res.writeHead(200).end();
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
        }
      })();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/okta/${TENANT}/events`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The same work behind express 5 with express.json: what express itself costs, for attribution. */
async function startExpressServer(store: Store): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.post('/hooks/okta/:tenant/events', express.json({ limit: 1024 * 1024 }), async (req, res) => {
    if (req.get('authorization') !== SECRET) {
      res.status(401).end();
      return;
    }
    const body = req.body as { data: { events: Array<{ uuid: string; eventType: string; published?: string }> } };
    const receivedAt = new Date();
    const entries = body.data.events.map((e) => ({
      tenant: TENANT,
      source: 'okta',
      eventId: e.uuid,
      eventType: e.eventType,
      via: 'hook' as const,
      payload: e,
      receivedAt,
      ...(e.published ? { occurredAt: new Date(e.published) } : {}),
    }));
    if (entries.length === 1) await store.putInbox(entries[0]!);
    else
      await store.transaction(async (tx) => {
        for (const entry of entries) await tx.putInbox(entry);
      });
    res.status(200).end();
  });
  const server = app.listen(0, '127.0.0.1');
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/okta/${TENANT}/events`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function inboxRows(store: Store): Promise<number> {
  const [row] = await (store as unknown as { db: SqlExecutor }).db.query<{ n: unknown }>('SELECT count(*) AS n FROM inbox');
  return Number(row!.n);
}

interface Row {
  store: string;
  real: { rps: number; p50: number; p99: number; cpuUs: number };
  bare: { rps: number; p50: number; p99: number; cpuUs: number };
  /** Medians of the per-round ratios (each round runs both servers back to back, so they saw the same machine). */
  paired: { rps: number; p50: number; p99: number };
  express: { rps: number; p50: number; p99: number; cpuUs: number };
  /** Median per-round throughput ratio real / express-only route. */
  vsExpress: number;
  recorded: string;
}

async function benchStore(spec: StoreSpec, client: LoadClient): Promise<Row> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-bench-okta-'));
  const schemas = spec.driver === 'postgres' ? [0, 1, 2].map(() => `warden_bench_${randomBytes(4).toString('hex')}`) : [];
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  if (spec.driver === 'postgres') cleanups.unshift(() => dropSchemas(spec.url, schemas));
  try {
    const storeYaml =
      spec.driver === 'pglite'
        ? `dataDir: ${JSON.stringify(path.join(dir, 'real'))}\ndurability: ${spec.durability}\n`
        : `database:\n  url: { env: WARDEN_BENCH_DB_URL }\n  schema: ${schemas[0]}\n  poolSize: 10\n`;
    const configFile = path.join(dir, 'warden.yaml');
    writeFileSync(
      configFile,
      `listen: { host: 127.0.0.1, port: 0 }\n${storeYaml}log: { level: error }\ntenants:\n  - id: ${TENANT}\n    policy: ${JSON.stringify(POLICY)}\n    secrets: { hook: { env: HOOK }, token: { env: HOOK } }\n` +
        `    okta:\n      orgUrl: https://acme.okta.com\n      auth: { type: api_token, token: token }\n      eventHook: { secret: hook }\n      poller: { enabled: false }\n`,
    );
    const connector = oktaConnector();
    const config = loadConfig({
      path: configFile,
      env: { HOOK: SECRET, ...(spec.driver === 'postgres' ? { WARDEN_BENCH_DB_URL: spec.url } : {}) },
      cwd: dir,
      connectors: [connector],
      resolveSecrets: true,
    });
    const real = await startServer({ config, connectors: [connector], watchPolicies: false, workers: false, log: createLogger('error') });
    cleanups.unshift(() => real.close());
    const statements = countInboxStatements(real.store);
    const bareStore =
      spec.driver === 'pglite'
        ? await openPgliteStore({ dataDir: path.join(dir, 'bare'), durability: spec.durability, command: 'bench' })
        : await openPostgresStore({ url: spec.url, schema: schemas[1]!, poolSize: 10 });
    cleanups.unshift(() => bareStore.close());
    await bareStore.ensureTenants([TENANT]);
    const bare = await startBareServer(bareStore);
    cleanups.unshift(() => bare.close());
    const expressStore =
      spec.driver === 'pglite'
        ? await openPgliteStore({ dataDir: path.join(dir, 'express'), durability: spec.durability, command: 'bench' })
        : await openPostgresStore({ url: spec.url, schema: schemas[2]!, poolSize: 10 });
    cleanups.unshift(() => expressStore.close());
    await expressStore.ensureTenants([TENANT]);
    const plain = await startExpressServer(expressStore);
    cleanups.unshift(() => plain.close());

    const targets: Target[] = [
      { name: 'real', url: `${real.url}/hooks/okta/${TENANT}/events`, prefix: 'real' },
      { name: 'bare', url: bare.url, prefix: 'bare' },
      { name: 'express', url: plain.url, prefix: 'express' },
    ];
    const results = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
    const ok = new Map<string, number>(targets.map((t) => [t.name, 0]));
    const account = (t: Target, r: LoadResult) => {
      if (r.errors > 0) throw new Error(`${spec.name}, ${t.name} server: ${r.errors} failed requests, first: ${r.firstError}`);
      ok.set(t.name, ok.get(t.name)! + r.count);
    };
    for (const t of targets) account(t, await client.run(t, WARMUP_SECONDS));
    for (let round = 0; round < ROUNDS; round++)
      for (const t of [...targets.slice(round % targets.length), ...targets.slice(0, round % targets.length)]) {
        const r = await client.run(t, ROUND_SECONDS);
        account(t, r);
        results.get(t.name)!.push(r);
      }
    const realRows = await inboxRows(real.store);
    const bareRows = await inboxRows(bareStore);
    const expressRows = await inboxRows(expressStore);
    const recorded = `real ${ok.get('real')! * EVENTS} events answered / ${realRows} inbox rows in ${statements.count} statements (group commit: ${(ok.get('real')! / Math.max(1, statements.count)).toFixed(1)} deliveries per statement), bare ${ok.get('bare')! * EVENTS} / ${bareRows}, express ${ok.get('express')! * EVENTS} / ${expressRows}`;
    if (realRows !== ok.get('real')! * EVENTS || bareRows !== ok.get('bare')! * EVENTS || expressRows !== ok.get('express')! * EVENTS)
      throw new Error(`${spec.name}: inbox rows do not match the answers: ${recorded}`);
    const summarize = (name: string) => {
      const rs = results.get(name)!;
      return {
        rps: median(rs.map((r) => r.count / (r.elapsedNs / 1e9))),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        cpuUs: median(rs.map((r) => r.cpuUs ?? NaN)),
      };
    };
    const realRounds = results.get('real')!;
    const bareRounds = results.get('bare')!;
    const rate = (r: LoadResult) => r.count / (r.elapsedNs / 1e9);
    const paired = {
      rps: median(realRounds.map((r, i) => rate(r) / rate(bareRounds[i]!))),
      p50: median(realRounds.map((r, i) => r.p50 / bareRounds[i]!.p50)),
      p99: median(realRounds.map((r, i) => r.p99 / bareRounds[i]!.p99)),
    };
    const expressRounds = results.get('express')!;
    const vsExpress = median(realRounds.map((r, i) => rate(r) / rate(expressRounds[i]!)));
    return { store: spec.name, real: summarize('real'), bare: summarize('bare'), express: summarize('express'), paired, vsExpress, recorded };
  } finally {
    for (const c of cleanups) await c();
  }
}

async function main(): Promise<void> {
  const { chosen, pgUrl } = await benchStoreSpecs();
  console.log('Warden benchmark: Okta event hook ingest, real server (startServer + Okta connector) vs bare node:http doing the same inbox insert');
  console.log(`machine: ${machineLine()}`);
  const stress = await startStress();
  console.log(stress ? stress.line : 'stress-ng: off (WARDEN_BENCH_STRESS=1 or --stress runs `stress-ng --cpu 1` beside the benchmark)');
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1/5/15 min)`,
  );
  console.log(
    `load: ${CONCURRENCY} keep-alive connections (closed loop) from a worker thread; ${EVENTS} LogEvent(s) per delivery; ${WARMUP_SECONDS}s warm-up per server, then ${ROUNDS} rounds of ${ROUND_SECONDS}s per server (alternating order); median over rounds`,
  );
  if (!pgUrl) console.log('PostgreSQL: not configured and none on 127.0.0.1:5432: skipped');
  const client = new LoadClient();
  const rows: Row[] = [];
  try {
    for (const spec of chosen) {
      const t0 = Date.now();
      const row = await benchStore(spec, client);
      rows.push(row);
      console.log(`  ${spec.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)}s; ${row.recorded}`);
    }
  } finally {
    await client.close();
    await stress?.stop();
  }
  console.log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1/5/15 min)`,
  );
  if (rows.length === 0) return;
  console.log(
    '\n' +
      table(
        ['store', 'server', 'deliveries/s', 'p50', 'p99', 'CPU per delivery (whole process)'],
        rows.flatMap((r) => [
          [r.store, 'real (startServer + okta)', formatRate(r.real.rps), formatNs(r.real.p50), formatNs(r.real.p99), `${r.real.cpuUs.toFixed(0)} µs`],
          [r.store, 'bare node:http', formatRate(r.bare.rps), formatNs(r.bare.p50), formatNs(r.bare.p99), `${r.bare.cpuUs.toFixed(0)} µs`],
          [
            r.store,
            '(express route, same work)',
            formatRate(r.express.rps),
            formatNs(r.express.p50),
            formatNs(r.express.p99),
            `${r.express.cpuUs.toFixed(0)} µs`,
          ],
        ]),
      ),
  );
  console.log(
    '\n' +
      table(
        ['store', 'throughput real / bare [target ≥ 0.85×]', 'p50 real / bare', 'p99 real / bare [target ≤ 1.30×]', 'throughput real / express route'],
        rows.map((r) => [r.store, formatRatio(r.paired.rps), formatRatio(r.paired.p50), formatRatio(r.paired.p99), formatRatio(r.vsExpress)]),
      ) +
      '\n(median of the per-round ratios; each round runs both servers back to back. Ratios of the medians above: ' +
      rows.map((r) => `${r.store} ${formatRatio(r.real.rps / r.bare.rps)} / ${formatRatio(r.real.p99 / r.bare.p99)}`).join(', ') +
      ')',
  );
  console.log(
    `\np99 ack latency of the real server (Okta's guidance: answer well under 400 ms): ${rows.map((r) => `${r.store} ${formatNs(r.real.p99)}`).join(', ')}${stress ? ' — with stress-ng' : ''}`,
  );
}

await main();
