import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CAEP_CREDENTIAL_CHANGE } from '../../connectors/ssf/event-types.js';
import { ssfConnector } from '../../connectors/ssf/index.js';
import { SsfReceiver, startPollClients } from '../../connectors/ssf/receiver.js';
import { SsfTenants } from '../../connectors/ssf/ssf-tenant.js';
import type { ConnectorContext } from '../../src/connector/contract.js';
import { loadConfig } from '../../src/config/load-config.js';
import { fixedClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { Store } from '../../src/store/store.js';
import { pgliteTestStore } from '../helpers/test-stores.js';

/**
 * Warden's poll client (RFC 8936) against a transmitter on 127.0.0.1 that
 * hands out one good SET, one for another audience and one it already
 * stored: the next poll acknowledges the good one and the replay, and reports
 * the refused one in `setErrs` with its RFC 8935 error code.
 */

const NOW = new Date('2026-12-01T09:00:00Z');
const ISSUER = 'https://partner.example/ssf';
const AUD = 'https://warden.example/ssf/acme';

let transmitter: http.Server;
let key: CryptoKey;
let store: Store;
let dispose: () => Promise<void>;
const polls: Array<Record<string, unknown>> = [];
let hand: Record<string, string> = {};

const set = (jti: string, aud = AUD) =>
  new SignJWT({
    iss: ISSUER,
    aud,
    jti,
    iat: Math.floor(NOW.getTime() / 1000),
    sub_id: { format: 'email', email: 'jane@acme.example' },
    events: { [CAEP_CREDENTIAL_CHANGE]: { credential_type: 'phone-sms', change_type: 'create' } },
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'secevent+jwt', kid: 'p1' })
    .sign(key);

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'p1', alg: 'RS256', use: 'sig' };
  transmitter = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/jwks.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      if (req.headers.authorization !== 'Bearer poll-token') return void res.writeHead(401).end();
      // A stream the transmitter does not know (RFC 8936 poll of a wrong endpoint): 404, as Warden's transmitter answers.
      if (req.url !== '/poll') return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: 'no such stream' }));
      polls.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sets: hand, moreAvailable: false }));
      hand = {};
    });
  });
  await new Promise<void>((r) => transmitter.listen(0, '127.0.0.1', r));
  ({ store, dispose } = await pgliteTestStore());
  await store.ensureTenants(['acme']);
});
afterAll(async () => {
  await dispose?.();
  await new Promise<void>((r) => transmitter.close(() => r()));
});

describe('SSF poll client', () => {
  it('acknowledges what it stored and the replay, reports what it refused in setErrs', async () => {
    const base = `http://127.0.0.1:${(transmitter.address() as AddressInfo).port}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-ssf-poll-'));
    writeFileSync(path.join(dir, 'p.yaml'), 'apiVersion: warden/v1\ntenant: acme\nmode: enforce\ndefault: allow\nfailure: hold\nrules: []\n');
    writeFileSync(
      path.join(dir, 'warden.yaml'),
      `tenants:\n  - id: acme\n    policy: p.yaml\n    secrets: { pollToken: { env: POLL_TOKEN } }\n    ssf:\n      receiver:\n        transmitters:\n          - { name: partner, issuer: "${ISSUER}", jwksUri: "${base}/jwks.json", audience: "${AUD}", poll: { url: "${base}/poll", token: pollToken, intervalSeconds: 3600 } }\n`,
    );
    const config = loadConfig({ path: path.join(dir, 'warden.yaml'), env: { POLL_TOKEN: 'poll-token' }, connectors: [ssfConnector()], resolveSecrets: true });
    const woken: number[] = [];
    const ctx = {
      config,
      store,
      log: createLogger('silent'),
      clock: fixedClock(NOW),
      instanceId: 'test:1',
      wakeInbox: () => woken.push(1),
    } as unknown as ConnectorContext;
    const tenants = new SsfTenants();
    const receiver = new SsfReceiver();
    // Stored once before: its second delivery is a replay, which Warden has and acknowledges.
    await receiver.accept(await set('seen-before'), 'acme', tenants.find(config, 'acme')!.peers[0]!, 'poll', ctx);
    hand = { good: await set('good'), elsewhere: await set('elsewhere', 'https://someone-else.example'), 'seen-before': await set('seen-before') };

    const clients = startPollClients(tenants, receiver, ctx);
    try {
      await vi.waitFor(() => expect(polls.length).toBeGreaterThanOrEqual(2), { timeout: 60_000, interval: 20 });
    } finally {
      await clients.stop();
    }
    expect(polls[0]).toEqual({ ack: [], maxEvents: 100, returnImmediately: true });
    expect(polls[1]).toMatchObject({ ack: ['good', 'seen-before'], setErrs: { elsewhere: { err: 'invalid_audience' } } });
    const stored = await store.claimInbox(10, new Date(NOW.getTime() + 60_000), 0);
    expect(stored.map((e) => e.eventId).sort()).toEqual(['partner:good', 'partner:seen-before']);
    expect(woken.length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('a poll URL naming a stream the transmitter does not know fails with an error naming the setting', async () => {
    const base = `http://127.0.0.1:${(transmitter.address() as AddressInfo).port}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-ssf-poll-'));
    writeFileSync(path.join(dir, 'p.yaml'), 'apiVersion: warden/v1\ntenant: acme\nmode: enforce\ndefault: allow\nfailure: hold\nrules: []\n');
    writeFileSync(
      path.join(dir, 'warden.yaml'),
      `tenants:\n  - id: acme\n    policy: p.yaml\n    secrets: { pollToken: { env: POLL_TOKEN } }\n    ssf:\n      receiver:\n        transmitters:\n          - { name: stranger, issuer: "${ISSUER}", jwksUri: "${base}/jwks.json", audience: "${AUD}", poll: { url: "${base}/poll/unknown-stream", token: pollToken, intervalSeconds: 3600 } }\n`,
    );
    const config = loadConfig({ path: path.join(dir, 'warden.yaml'), env: { POLL_TOKEN: 'poll-token' }, connectors: [ssfConnector()], resolveSecrets: true });
    const errors: string[] = [];
    const log = { ...createLogger('silent'), error: (obj: { err?: Error }) => void errors.push(obj.err?.message ?? '') };
    const ctx = { config, store, log, clock: fixedClock(NOW), instanceId: 'test:2', wakeInbox: () => undefined } as unknown as ConnectorContext;
    // Its own name: the first test's client holds the lease of `partner` on the fixed clock.
    const clients = startPollClients(new SsfTenants(), new SsfReceiver(), ctx);
    try {
      await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(1), { timeout: 60_000, interval: 20 });
    } finally {
      await clients.stop();
    }
    expect(errors[0]).toBe(`SSF poll of ${base}/poll/unknown-stream (tenants[acme].ssf.receiver.transmitters[stranger].poll.url) answered 404`);
  }, 120_000);
});
