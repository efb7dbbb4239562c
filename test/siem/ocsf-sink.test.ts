import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOcsfSinkUrl, ocsfSinkState, streamOcsfOnce, type OcsfSinkTarget } from '../../src/audit/ocsf/ocsf-sink.js';
import { loadConfig } from '../../src/config/load-config.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import type { Store } from '../../src/store/store.js';
import { seedAuditHistory } from '../helpers/audit-history.js';
import { validateJsonSchema } from '../helpers/json-schema.js';
import { cli } from '../helpers/run-cli.js';
import { tempConfigDir } from '../helpers/temp-config.js';

const schema = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../src/audit/ocsf/schema/ocsf-1.8.0-${name}.schema.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const SCHEMAS: Record<number, Record<string, unknown>> = { 3001: schema('account_change'), 2004: schema('detection_finding') };

/** A SIEM collector on 127.0.0.1: answers with the next planned status (200 once the plan is used up), keeps what it accepted. */
class Collector {
  server!: Server;
  plan: number[] = [];
  requests: Array<{ status: number; headers: IncomingMessage['headers']; body: string }> = [];
  accepted: Array<Record<string, unknown> & { class_uid: number }> = [];
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const status = this.plan.shift() ?? 200;
        this.requests.push({ status, headers: req.headers, body });
        if (status === 200)
          for (const line of body.split('\n').filter(Boolean)) this.accepted.push(JSON.parse(line) as Record<string, unknown> & { class_uid: number });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'collector busy');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ingest`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const T0 = Date.parse('2026-03-02T12:00:00Z');
let dir: string;
let configFile: string;
let store: Store;
let collector: Collector;
let target: OcsfSinkTarget;
let head: number;

beforeAll(async () => {
  collector = new Collector();
  const url = await collector.start();
  ({ dir, configFile } = tempConfigDir());
  writeFileSync(
    configFile,
    readFileSync(configFile, 'utf8') +
      `    secrets:\n      siem_token: { env: SIEM_TOKEN }\n    siem:\n      ocsf:\n        url: ${url}\n        secret: siem_token\n        batchSize: 5\n`,
  );
  store = await openPgliteStore({ dataDir: path.join(dir, 'data'), durability: 'relaxed' });
  await seedAuditHistory(store, 'acme');
  head = (await store.auditHead('acme')).seq;
  target = { tenant: 'acme', url, bearer: () => 'tok-123', batchSize: 5, timeoutMs: 10_000 };
}, 120_000);
afterAll(async () => {
  await store.close();
  await collector.stop();
});

/** The operator's view, through the CLI (the store closed meanwhile: PGlite is one process at a time). */
async function sinkStatus(): Promise<{ code: number; out: string }> {
  await store.close();
  const r = await cli('--config', configFile, 'audit', 'sink');
  store = await openPgliteStore({ dataDir: path.join(dir, 'data'), durability: 'relaxed' });
  return r;
}

describe('OCSF stream to a SIEM endpoint (tenants[].siem.ocsf)', () => {
  it('keeps the records while the endpoint fails, backs off, shows the failure, then delivers everything once, in chain order, schema-valid', async () => {
    collector.plan = [503, 503];
    let now = new Date(T0);
    const failures: number[] = [];
    expect(await streamOcsfOnce(store, target, now, (s) => failures.push(s.attempts))).toBe(0);
    let state = await ocsfSinkState(store, 'acme');
    expect(state).toMatchObject({
      seq: 0,
      attempts: 1,
      failingSince: now.toISOString(),
      lastError: 'HTTP 503: collector busy',
      nextAttemptAt: new Date(T0 + 5_000).toISOString(),
    });

    // Not due yet: no request.
    expect(await streamOcsfOnce(store, target, new Date(T0 + 4_000))).toBe(0);
    expect(collector.requests).toHaveLength(1);

    now = new Date(T0 + 5_000);
    expect(await streamOcsfOnce(store, target, now, (s) => failures.push(s.attempts))).toBe(0);
    state = await ocsfSinkState(store, 'acme');
    expect(state).toMatchObject({ seq: 0, attempts: 2, failingSince: new Date(T0).toISOString(), nextAttemptAt: new Date(T0 + 15_000).toISOString() });
    expect(failures).toEqual([1, 2]);

    const failing = await sinkStatus();
    expect(failing.code).toBe(1);
    expect(failing.out).toBe(
      `acme: FAILING since ${new Date(T0).toISOString()}, 2 attempts, ${head} records waiting, next attempt ${new Date(T0 + 15_000).toISOString()}: HTTP 503: collector busy (${target.url})\n`,
    );

    now = new Date(T0 + 15_000);
    let moved = 0;
    for (let step = 0; step < 100; step++) {
      const n = await streamOcsfOnce(store, target, now);
      if (n === 0) break;
      moved += n;
    }
    expect(moved).toBe(head);
    expect(await ocsfSinkState(store, 'acme')).toEqual({ seq: head, attempts: 0, deliveredAt: now.toISOString() });

    // The same first batch was offered three times; accepted once.
    expect(collector.requests.map((r) => r.status).slice(0, 3)).toEqual([503, 503, 200]);
    expect(collector.requests[0]!.body).toBe(collector.requests[2]!.body);
    for (const r of collector.requests) {
      expect(r.headers['content-type']).toBe('application/x-ndjson');
      expect(r.headers.authorization).toBe('Bearer tok-123');
    }
    const seqs = collector.accepted.map((e) => (e.unmapped as { warden_audit: { seq: number } }).warden_audit.seq);
    expect(seqs).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    for (const e of collector.accepted) expect(validateJsonSchema(SCHEMAS[e.class_uid]!, e)).toEqual([]);

    const ok = await sinkStatus();
    expect([ok.code, ok.out]).toEqual([0, `acme: ok, delivered through record ${head} of ${head}, last at ${now.toISOString()} (${target.url})\n`]);

    // Nothing new: nothing sent.
    const before = collector.requests.length;
    expect(await streamOcsfOnce(store, target, new Date(T0 + 20_000))).toBe(0);
    expect(collector.requests).toHaveLength(before);
  }, 180_000);

  it('records a refused connection as the error, with the backoff doubling up to an hour', async () => {
    const closed = new Collector();
    const url = await closed.start();
    await closed.stop();
    const other = 'sink2';
    await store.ensureTenants([other]);
    await seedAuditHistory(store, other);
    let now = T0;
    for (let i = 1; i <= 12; i++) {
      await streamOcsfOnce(store, { ...target, tenant: other, url }, new Date(now));
      const s = await ocsfSinkState(store, other);
      expect(s.attempts).toBe(i);
      expect(s.lastError).toMatch(/ECONNREFUSED/);
      const wait = Date.parse(s.nextAttemptAt!) - now;
      expect(wait).toBe(Math.min(3_600_000, 5_000 * 2 ** (i - 1)));
      now += wait;
    }
    expect((await ocsfSinkState(store, other)).seq).toBe(0);
  }, 120_000);

  it('refuses plain http to another host, and a secret name the tenant does not have, naming the setting', () => {
    expect(() => checkOcsfSinkUrl('acme', 'http://siem.example.com/ingest')).toThrow(
      /tenant acme siem.ocsf.url: http:\/\/siem.example.com\/ingest must be https/,
    );
    expect(() => checkOcsfSinkUrl('acme', 'https://siem.example.com/ingest')).not.toThrow();
    const { configFile: f } = tempConfigDir();
    writeFileSync(f, readFileSync(f, 'utf8') + `    siem:\n      ocsf:\n        url: https://siem.example.com/ingest\n        secret: nope\n`);
    expect(() => loadConfig({ path: f })).toThrow(/tenant acme siem.ocsf: secret "nope" is not in tenants\[\].secrets/);
  });
});
