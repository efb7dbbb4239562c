import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import { seedAuditHistory } from '../helpers/audit-history.js';
import { tempConfigDir } from '../helpers/temp-config.js';

/** Resolves when `condition` holds; rejects after `deadlineMs` (bounds a hang, never decides the outcome of a working build). */
async function until(condition: () => boolean, deadlineMs: number): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > deadlineMs) throw new Error(`not within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the server streams OCSF events to tenants[].siem.ocsf', () => {
  let collector: Server | undefined;
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
    await new Promise<void>((r) => (collector ? collector.close(() => r()) : r()));
  });

  it("sends the tenant's history once started, and refuses to start with plain http to another host", async () => {
    const lines: string[] = [];
    collector = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        lines.push(...body.split('\n').filter(Boolean));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => collector!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/ocsf`;

    const { dir, configFile } = tempConfigDir();
    const base = readFileSync(configFile, 'utf8');
    const store = await openPgliteStore({ dataDir: path.join(dir, 'data'), durability: 'relaxed' });
    await seedAuditHistory(store, 'acme');
    const head = (await store.auditHead('acme')).seq;
    await store.close();

    writeFileSync(configFile, base + `    siem:\n      ocsf:\n        url: http://siem.example.com/ocsf\n`);
    await expect(startServer({ config: loadConfig({ path: configFile }), log: createLogger('silent'), watchPolicies: false })).rejects.toThrow(
      /tenant acme siem.ocsf.url: http:\/\/siem.example.com\/ocsf must be https/,
    );

    writeFileSync(configFile, base + `    siem:\n      ocsf:\n        url: ${url}\n        batchSize: 4\n`);
    server = await startServer({ config: loadConfig({ path: configFile }), log: createLogger('silent'), watchPolicies: false, workerIdleMs: 50 });
    await until(() => lines.length >= head, 60_000);
    const seqs = lines.map((l) => (JSON.parse(l) as { unmapped: { warden_audit: { seq: number } } }).unmapped.warden_audit.seq);
    expect(seqs.slice(0, head)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  }, 180_000);
});
