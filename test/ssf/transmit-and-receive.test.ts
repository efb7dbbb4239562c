import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, importPKCS8, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CAEP_CREDENTIAL_CHANGE,
  CAEP_SESSION_REVOKED,
  OKTA_USER_RISK_CHANGE,
  POLL_METHOD,
  PUSH_METHOD,
  RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED,
  SSF_STREAM_UPDATED,
  SSF_VERIFICATION,
} from '../../connectors/ssf/event-types.js';
import { ssfOperations } from '../../connectors/ssf/commands.js';
import { SsfTenants } from '../../connectors/ssf/ssf-tenant.js';
import type { RunningServer } from '../../src/app/start-server.js';
import { fakeConnector, type FakeConnector } from '../helpers/fake-connector.js';
import { clockStartingAt } from '../../src/core/clock.js';
import { examplePolicy, freePort, rsaPem, START, startWarden } from './ssf-harness.js';

/**
 * Both directions of Shared Signals between two Wardens over HTTP on
 * 127.0.0.1: Warden A transmits (its decisions on a fake IdP's changes become
 * CAEP / RISC / Okta risk SETs), Warden B receives them by push and by poll
 * and decides them as changes of its own. A's stream management is driven as
 * an SSF receiver would drive it. Key rotation and an expired key are set up
 * on A's tenants.
 */

const POLICY_A = `apiVersion: warden/v1
tenant: acme
mode: enforce
default: allow
failure: hold
rules:
  - id: helpdesk-password-reset
    description: A help-desk password reset is held; the person's sessions are revoked and a new password is required
    when: 'change.channel == "helpdesk" && change.kind == "password.reset"'
    outcome: hold
    onHold: [revoke_sessions, expire_password]
`;

const keyOld = rsaPem();
const keyNew = rsaPem();
const keyNext = rsaPem();
const keyExpired = rsaPem();
const PEER_TOKEN = 'peer-token-5f1c0a';
const OTHER_TOKEN = 'other-token-93bd21';
const PUSH_AUTH = 'Bearer push-secret-77aa';

let a: RunningServer;
let b: RunningServer;
let fake: FakeConnector;
let issuer: string;
let pollStream: Record<string, unknown>;
let pushStream: Record<string, unknown>;

const mgmt = (token: string, method: string, path: string, body?: unknown) =>
  fetch(`${a.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** Posts a change to A's fake IdP hook. */
const happen = (id: string, change: Record<string, unknown>) =>
  fetch(`${a.url}/hooks/fakeidp/acme`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, type: 'fake.change', change }),
  });

const jane = { id: '00u-jane', login: 'jane@acme.example', email: 'jane@acme.example' };
const agent = { id: '00u-agent', login: 'agent@acme.example' };

/** One clock for both Wardens: B checks the iat of A's SETs against it. */
const clock = clockStartingAt(START);

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}/ssf/acme`;
  fake = fakeConnector();
  a = await startWarden({
    port,
    clock,
    connectors: [fake.connector],
    policies: { acme: POLICY_A, expired: examplePolicy('expired') },
    env: { K_OLD: keyOld.privateKey, K_NEW: keyNew.privateKey, K_NEXT: keyNext.privateKey, K_EXPIRED: keyExpired.privateKey, PEER_TOKEN, OTHER_TOKEN },
    tenants: `  - id: acme
    policy: policies/acme.yaml
    secrets: { peerToken: { env: PEER_TOKEN }, otherToken: { env: OTHER_TOKEN }, kOld: { env: K_OLD }, kNew: { env: K_NEW }, kNext: { env: K_NEXT } }
    fakeidp: { org: acme }
    ssf:
      transmitter:
        issuer: ${issuer}
        oktaUserRisk: true
        signingKeys:
          - { kid: k-old, privateKey: kOld, notAfter: "2026-11-30T12:00:00Z" }
          - { kid: k-new, privateKey: kNew, notBefore: "2026-11-15T00:00:00Z" }
          - { kid: k-next, privateKey: kNext, notBefore: "2026-12-24T00:00:00Z" }
        receivers:
          - { name: peer, token: peerToken, audience: "https://globex.example/ssf" }
          - { name: other, token: otherToken, audience: "https://other.example/ssf" }
  - id: expired
    policy: policies/expired.yaml
    secrets: { kExpired: { env: K_EXPIRED }, peerToken: { env: PEER_TOKEN } }
    ssf:
      transmitter:
        issuer: http://127.0.0.1:${port}/ssf/expired
        signingKeys: [{ kid: k-expired, privateKey: kExpired, notAfter: "2026-11-01T00:00:00Z" }]
        receivers: [{ name: peer, token: peerToken, audience: "https://globex.example/ssf" }]
        push: { maxAttempts: 1 }
`,
  });

  // The receiver creates a poll stream first: B's configuration names its endpoint.
  const created = await mgmt(PEER_TOKEN, 'POST', '/ssf/acme/stream', {
    delivery: { method: POLL_METHOD },
    events_requested: [CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED],
    description: 'B by poll',
  });
  expect(created.status).toBe(201);
  pollStream = (await created.json()) as Record<string, unknown>;

  b = await startWarden({
    clock,
    policies: { globex: examplePolicy('globex') },
    env: { PUSH_AUTH, PEER_TOKEN },
    tenants: `  - id: globex
    policy: policies/globex.yaml
    secrets: { pushAuth: { env: PUSH_AUTH }, peerToken: { env: PEER_TOKEN } }
    ssf:
      receiver:
        transmitters:
          - name: wardena
            issuer: ${issuer}
            audience: "https://globex.example/ssf"
            push: { authorization: pushAuth }
            poll: { url: "${(pollStream.delivery as { endpoint_url: string }).endpoint_url}", token: peerToken, intervalSeconds: 1 }
`,
  });

  const push = await mgmt(PEER_TOKEN, 'POST', '/ssf/acme/stream', {
    delivery: { method: PUSH_METHOD, endpoint_url: `${b.url}/ssf/globex/receive/wardena`, authorization_header: PUSH_AUTH },
    events_requested: [CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED],
  });
  expect(push.status).toBe(201);
  pushStream = (await push.json()) as Record<string, unknown>;
}, 300_000);

afterAll(async () => {
  await b?.close();
  await a?.close();
});

/** B's decisions on changes reported by A, as audit records. */
async function bDecisions() {
  const rows = await b.store.readAudit('globex', 0, 1000);
  return rows
    .filter((r) => r.type === 'decision.recorded')
    .map(
      (r) =>
        JSON.parse(r.record) as {
          data: { outcome: string; change: { kind: string; source: { idp: string; via: string; rawType: string }; targetLogin?: string; channel: string } };
        },
    )
    .filter((r) => r.data.change.source.idp === 'wardena');
}

describe('discovery and keys', () => {
  it('publishes its configuration at the path-style well-known URL, naming its own issuer', async () => {
    const res = await fetch(`${a.url}/.well-known/ssf-configuration/ssf/acme`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      spec_version: '1_0',
      issuer,
      jwks_uri: `${issuer}/jwks.json`,
      delivery_methods_supported: [PUSH_METHOD, POLL_METHOD],
      configuration_endpoint: `${issuer}/stream`,
      status_endpoint: `${issuer}/status`,
      verification_endpoint: `${issuer}/verify`,
    });
  });

  it('publishes the retired key (within its overlap), the signing key and the next key; signs with the current one', async () => {
    const jwks = (await (await fetch(`${issuer}/jwks.json`)).json()) as { keys: Array<{ kid: string; d?: string; alg: string }> };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual(['k-new', 'k-next', 'k-old']);
    expect(jwks.keys.every((k) => k.d === undefined && k.alg === 'RS256')).toBe(true);
  });

  it('an unknown tenant has no configuration (404)', async () => {
    expect((await fetch(`${a.url}/.well-known/ssf-configuration/ssf/nobody`)).status).toBe(404);
  });
});

describe('stream management (SSF 1.0 "Management API for SET Event Streams")', () => {
  it("creates a poll stream with Warden's poll endpoint and the events delivered", () => {
    expect(pollStream).toMatchObject({
      iss: issuer,
      aud: 'https://globex.example/ssf',
      delivery: { method: POLL_METHOD, endpoint_url: `${issuer}/poll/${pollStream.stream_id as string}` },
      events_requested: [CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED],
      events_delivered: [CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED],
      description: 'B by poll',
    });
    expect(pollStream.events_supported).toEqual([CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED, RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED, OKTA_USER_RISK_CHANGE]);
  });

  it('never echoes the push authorization header', () => {
    expect(pushStream.delivery).toEqual({ method: PUSH_METHOD, endpoint_url: `${b.url}/ssf/globex/receive/wardena` });
  });

  it("reads one stream by stream_id, and all of the receiver's streams without it", async () => {
    const one = await mgmt(PEER_TOKEN, 'GET', `/ssf/acme/stream?stream_id=${pollStream.stream_id as string}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as { stream_id: string }).stream_id).toBe(pollStream.stream_id);
    const all = (await (await mgmt(PEER_TOKEN, 'GET', '/ssf/acme/stream')).json()) as Array<{ stream_id: string }>;
    expect(all.map((s) => s.stream_id).sort()).toEqual([pollStream.stream_id, pushStream.stream_id].sort());
  });

  it('another receiver sees none of them, and cannot read one by id (404)', async () => {
    expect(await (await mgmt(OTHER_TOKEN, 'GET', '/ssf/acme/stream')).json()).toEqual([]);
    expect((await mgmt(OTHER_TOKEN, 'GET', `/ssf/acme/stream?stream_id=${pollStream.stream_id as string}`)).status).toBe(404);
  });

  it('updates (PATCH) only what is given, replaces (PUT) everything, refuses a changed transmitter-supplied property', async () => {
    const created = (await (
      await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/stream', { events_requested: [CAEP_CREDENTIAL_CHANGE], description: 'first' })
    ).json()) as { stream_id: string };
    expect(created).toMatchObject({ delivery: { method: POLL_METHOD } }); // no delivery: poll (SSF 1.0 "Creating a Stream")
    const patched = (await (await mgmt(OTHER_TOKEN, 'PATCH', '/ssf/acme/stream', { stream_id: created.stream_id, description: 'second' })).json()) as Record<
      string,
      unknown
    >;
    expect(patched).toMatchObject({ description: 'second', events_requested: [CAEP_CREDENTIAL_CHANGE], events_delivered: [CAEP_CREDENTIAL_CHANGE] });
    const put = (await (
      await mgmt(OTHER_TOKEN, 'PUT', '/ssf/acme/stream', {
        stream_id: created.stream_id,
        events_requested: [CAEP_SESSION_REVOKED, 'urn:example:not-supported'],
      })
    ).json()) as Record<string, unknown>;
    expect(put.description).toBeUndefined();
    expect(put.events_delivered).toEqual([CAEP_SESSION_REVOKED]);
    const wrongIss = await mgmt(OTHER_TOKEN, 'PATCH', '/ssf/acme/stream', { stream_id: created.stream_id, iss: 'https://elsewhere.example' });
    expect(wrongIss.status).toBe(400);
    expect((await mgmt(OTHER_TOKEN, 'DELETE', `/ssf/acme/stream?stream_id=${created.stream_id}`)).status).toBe(204);
    expect((await mgmt(OTHER_TOKEN, 'GET', `/ssf/acme/stream?stream_id=${created.stream_id}`)).status).toBe(404);
  });

  it('reads and updates status; an invalid status is refused', async () => {
    const created = (await (await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/stream', {})).json()) as { stream_id: string };
    expect(await (await mgmt(OTHER_TOKEN, 'GET', `/ssf/acme/status?stream_id=${created.stream_id}`)).json()).toEqual({
      stream_id: created.stream_id,
      status: 'enabled',
    });
    const paused = await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/status', { stream_id: created.stream_id, status: 'paused', reason: 'maintenance' });
    expect(await paused.json()).toEqual({ stream_id: created.stream_id, status: 'paused', reason: 'maintenance' });
    expect(await (await mgmt(OTHER_TOKEN, 'GET', `/ssf/acme/status?stream_id=${created.stream_id}`)).json()).toEqual({
      stream_id: created.stream_id,
      status: 'paused',
      reason: 'maintenance',
    });
    expect((await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/status', { stream_id: created.stream_id, status: 'sleeping' })).status).toBe(400);
    await mgmt(OTHER_TOKEN, 'DELETE', `/ssf/acme/stream?stream_id=${created.stream_id}`);
  });

  it('an unknown stream is a 404 naming stream_id, on every endpoint', async () => {
    for (const [method, path, body] of [
      ['GET', '/ssf/acme/stream?stream_id=nope', undefined],
      ['PATCH', '/ssf/acme/stream', { stream_id: 'nope', description: 'x' }],
      ['DELETE', '/ssf/acme/stream?stream_id=nope', undefined],
      ['GET', '/ssf/acme/status?stream_id=nope', undefined],
      ['POST', '/ssf/acme/status', { stream_id: 'nope', status: 'paused' }],
      ['POST', '/ssf/acme/verify', { stream_id: 'nope' }],
      ['POST', '/ssf/acme/poll/nope', {}],
    ] as const) {
      const res = await mgmt(PEER_TOKEN, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { detail: string }).detail).toContain('no SSF stream "nope"');
    }
  });

  it('refuses a missing (401) or unknown (401) bearer token and a push stream without endpoint_url (400)', async () => {
    expect((await fetch(`${a.url}/ssf/acme/stream`)).status).toBe(401);
    expect((await mgmt('not-a-token', 'GET', '/ssf/acme/stream')).status).toBe(401);
    expect((await mgmt(PEER_TOKEN, 'POST', '/ssf/acme/stream', { delivery: { method: PUSH_METHOD } })).status).toBe(400);
    expect((await mgmt(PEER_TOKEN, 'POST', '/ssf/acme/stream', { delivery: { method: 'urn:example:carrier-pigeon' } })).status).toBe(400);
  });
});

describe('A transmits, B receives (push and poll)', () => {
  it('a held help-desk reset at A reaches B by push and by poll and is decided there as a change', async () => {
    expect((await happen('evt-1', { kind: 'password.reset', channel: 'helpdesk', target: jane, actor: agent })).status).toBe(202);
    await vi.waitFor(
      async () => {
        const ds = await bDecisions();
        expect(ds.map((d) => (d as unknown as { data: { change: { source: { via: string } } } }).data.change.source.via)).toEqual(['ssf', 'ssf']);
      },
      { timeout: 90_000, interval: 50 },
    );
    const [d] = await bDecisions();
    expect(d!.data.change).toMatchObject({
      kind: 'password.change',
      channel: 'admin',
      targetLogin: 'jane@acme.example',
      source: { idp: 'wardena', rawType: CAEP_CREDENTIAL_CHANGE },
    });
    // Delivered on both streams: pushed (202) and acknowledged by B's poll client.
    await vi.waitFor(
      async () => {
        const sets = await a.store.listSsfSets('acme', undefined, 100);
        const cred = sets.filter((s) => s.eventType === CAEP_CREDENTIAL_CHANGE && (s.streamId === pushStream.stream_id || s.streamId === pollStream.stream_id));
        expect(cred.map((s) => s.state)).toEqual(['delivered', 'delivered']);
      },
      { timeout: 90_000, interval: 50 },
    );
  }, 180_000);

  it('B keeps session-revoked SETs without deciding them', async () => {
    await vi.waitFor(
      async () => {
        const ignored = await b.store.listInbox('globex', 'ignored', 100);
        expect(ignored.some((e) => e.eventType === CAEP_SESSION_REVOKED)).toBe(true);
      },
      { timeout: 90_000, interval: 50 },
    );
  }, 180_000);

  it('B refuses a replayed SET (same jti) pushed again, and a push with the wrong authorization', async () => {
    const key = await importPKCS8(keyNew.privateKey, 'RS256');
    const now = Math.floor(b.context.clock().getTime() / 1000);
    const set = await new SignJWT({
      iss: issuer,
      aud: 'https://globex.example/ssf',
      jti: 'replay-1',
      iat: now,
      sub_id: { format: 'email', email: 'bob@acme.example' },
      events: { [CAEP_CREDENTIAL_CHANGE]: { credential_type: 'phone-sms', change_type: 'create' } },
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'secevent+jwt', kid: 'k-new' })
      .sign(key);
    const push = (auth: string, body: string, type = 'application/secevent+jwt') =>
      fetch(`${b.url}/ssf/globex/receive/wardena`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': type, accept: 'application/json' },
        body,
      });
    expect((await push(PUSH_AUTH, set)).status).toBe(202);
    const again = await push(PUSH_AUTH, set);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ err: 'invalid_request', description: expect.stringContaining('replay-1') });
    const wrong = await push('Bearer nope', set);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ err: 'authentication_failed' });
    expect((await push(PUSH_AUTH, set, 'application/json')).status).toBe(400);
    expect(await (await push(PUSH_AUTH, 'garbage')).json()).toMatchObject({ err: 'invalid_request' });
  });
});

describe('poll delivery (RFC 8936) as a receiver sees it', () => {
  let stream: string;
  const poll = (body: Record<string, unknown>) => mgmt(OTHER_TOKEN, 'POST', `/ssf/acme/poll/${stream}`, body);
  /** Acknowledges whatever is waiting, so a test starts from an empty stream. */
  const drain = async () => {
    for (;;) {
      const res = (await (await poll({ returnImmediately: true, maxEvents: 100 })).json()) as { sets: Record<string, string> };
      if (Object.keys(res.sets).length === 0) return;
      await poll({ ack: Object.keys(res.sets), maxEvents: 0 });
    }
  };

  beforeAll(async () => {
    stream = ((await (await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/stream', { delivery: { method: POLL_METHOD } })).json()) as { stream_id: string }).stream_id;
  });

  it('hands out signed SETs for a held reset: credential-change, credential change required, session-revoked, Okta user risk; acks remove them', async () => {
    await happen('evt-2', {
      kind: 'password.reset',
      channel: 'helpdesk',
      target: { id: '00u-bob', login: 'bob@acme.example', email: 'bob@acme.example' },
      actor: agent,
    });
    const got: Record<string, string> = {};
    await vi.waitFor(
      async () => {
        const res = (await (await poll({ returnImmediately: true, maxEvents: 50 })).json()) as { sets: Record<string, string> };
        Object.assign(got, res.sets);
        const types = Object.values(got).map(
          (t) => Object.keys((JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { events: object }).events)[0],
        );
        // user-risk-change comes twice: bob is held, and the example detection rules raise an alert on him.
        expect([...new Set(types)].sort()).toEqual(
          [CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED, RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED, OKTA_USER_RISK_CHANGE].sort(),
        );
      },
      { timeout: 90_000, interval: 50 },
    );
    const keys = createRemoteJWKSet(new URL(`${issuer}/jwks.json`));
    const byType: Record<string, Record<string, unknown>> = {};
    for (const [jti, token] of Object.entries(got)) {
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', typ: 'secevent+jwt', kid: 'k-new' });
      const { payload } = await jwtVerify(token, keys, { issuer, audience: 'https://other.example/ssf', typ: 'secevent+jwt', currentDate: a.context.clock() });
      expect(payload.jti).toBe(jti);
      expect(payload.sub).toBeUndefined();
      expect(payload.exp).toBeUndefined();
      expect(payload.sub_id).toEqual({ format: 'email', email: 'bob@acme.example' });
      const [type, event] = Object.entries(payload.events as Record<string, Record<string, unknown>>)[0]!;
      byType[type] = { ...event, txn: payload.txn };
    }
    expect(byType[CAEP_CREDENTIAL_CHANGE]).toMatchObject({ credential_type: 'password', change_type: 'update', initiating_entity: 'admin' });
    expect(byType[OKTA_USER_RISK_CHANGE]).toMatchObject({ current_level: 'high', subject: { user: { format: 'email', email: 'bob@acme.example' } } });
    // One cause, one txn: the decision's SETs share it (SSF 1.0 "The txn claim").
    expect(byType[CAEP_CREDENTIAL_CHANGE]!.txn).toBe(byType[RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED]!.txn);

    const acked = (await (await poll({ ack: Object.keys(got), returnImmediately: true })).json()) as { sets: Record<string, string>; moreAvailable: boolean };
    expect(acked).toEqual({ sets: {}, moreAvailable: false });
    const delivered = (await a.store.listSsfSets('acme', 'delivered', 200)).filter((s) => s.streamId === stream);
    expect(delivered.map((d) => d.jti).sort()).toEqual(Object.keys(got).sort());
  }, 180_000);

  it('maxEvents limits a batch and says more are available; setErrs mark SETs failed, kept and listed', async () => {
    await drain();
    for (const state of ['s1', 's2', 's3']) expect((await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/verify', { stream_id: stream, state })).status).toBe(204);
    const first = (await (await poll({ maxEvents: 2, returnImmediately: true })).json()) as { sets: Record<string, string>; moreAvailable: boolean };
    expect(Object.keys(first.sets)).toHaveLength(2);
    expect(first.moreAvailable).toBe(true);
    const [bad, good] = Object.keys(first.sets);
    const second = (await (
      await poll({ ack: [good], setErrs: { [bad!]: { err: 'invalid_key', description: 'test refusal' } }, maxEvents: 10, returnImmediately: true })
    ).json()) as {
      sets: Record<string, string>;
      moreAvailable: boolean;
    };
    expect(Object.keys(second.sets)).toHaveLength(1);
    expect(second.moreAvailable).toBe(false);
    const failed = (await a.store.listSsfSets('acme', 'failed', 10)).find((s) => s.jti === bad);
    expect(failed?.lastError).toContain('invalid_key: test refusal');
    await poll({ ack: Object.keys(second.sets), returnImmediately: true });
  });

  it('a long poll (returnImmediately false) answers when a SET arrives; the verification event echoes state with the stream as subject', async () => {
    await drain();
    const waiting = poll({ maxEvents: 5 });
    await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/verify', { stream_id: stream, state: 'long-poll-state' });
    const res = (await (await waiting).json()) as { sets: Record<string, string> };
    const [token] = Object.values(res.sets);
    const claims = JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims.sub_id).toEqual({ format: 'opaque', id: stream });
    expect(claims.events).toEqual({ [SSF_VERIFICATION]: { state: 'long-poll-state' } });
    await poll({ ack: Object.keys(res.sets), returnImmediately: true });
  }, 300_000);

  it('a paused stream hands out nothing; enabled again, what waited is there', async () => {
    await drain();
    await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/status', { stream_id: stream, status: 'paused' });
    await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/verify', { stream_id: stream, state: 'while-paused' });
    expect(await (await poll({ returnImmediately: true })).json()).toEqual({ sets: {}, moreAvailable: false });
    await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/status', { stream_id: stream, status: 'enabled' });
    const res = (await (await poll({ returnImmediately: true })).json()) as { sets: Record<string, string> };
    expect(Object.keys(res.sets)).toHaveLength(1);
    await poll({ ack: Object.keys(res.sets), returnImmediately: true });
  });

  it('Warden pausing the stream on its own (warden ssf status) tells the receiver first: stream-updated is handed out while paused, and again when enabled', async () => {
    await drain();
    const ops = ssfOperations(new SsfTenants());
    const run = async (args: Record<string, unknown>) => {
      let out = '';
      const code = await ops.status!.run(
        {
          store: a.store,
          config: a.context.config,
          actor: { type: 'cli', id: 'test' },
          out: (t) => void (out += t),
          err: () => undefined,
          clock: a.context.clock,
        },
        ops.status!.args.parse(args),
      );
      return { code, out };
    };
    const events = (sets: Record<string, string>) =>
      Object.values(sets).map((t) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { sub_id: unknown; events: Record<string, unknown> });

    expect((await run({ tenant: 'acme', stream, status: 'paused', reason: 'maintenance window' })).out).toContain('stream-updated');
    await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/verify', { stream_id: stream, state: 'held-while-paused' });
    const whilePaused = (await (await poll({ returnImmediately: true })).json()) as { sets: Record<string, string> };
    expect(events(whilePaused.sets)).toEqual([
      expect.objectContaining({
        sub_id: { format: 'opaque', id: stream },
        events: { [SSF_STREAM_UPDATED]: { status: 'paused', reason: 'maintenance window' } },
      }),
    ]);
    await poll({ ack: Object.keys(whilePaused.sets), maxEvents: 0 });
    expect(await (await mgmt(OTHER_TOKEN, 'GET', `/ssf/acme/status?stream_id=${stream}`)).json()).toEqual({
      stream_id: stream,
      status: 'paused',
      reason: 'maintenance window',
    });
    expect((await run({ tenant: 'acme', stream, status: 'paused' })).out).toContain('already');

    await run({ tenant: 'acme', stream, status: 'enabled' });
    const enabled = (await (await poll({ returnImmediately: true })).json()) as { sets: Record<string, string> };
    expect(events(enabled.sets).map((e) => e.events)).toEqual([
      { [SSF_VERIFICATION]: { state: 'held-while-paused' } },
      { [SSF_STREAM_UPDATED]: { status: 'enabled' } },
    ]);
    await poll({ ack: Object.keys(enabled.sets), maxEvents: 0 });
    await expect(run({ tenant: 'acme', stream: 'nope', status: 'paused' })).rejects.toThrow(/no SSF stream "nope".*--stream/);
  });

  it('a removed subject gets no events on that stream until it is added back (SSF 1.0 "Subjects", default_subjects ALL)', async () => {
    const doc = (await (await fetch(`${a.url}/.well-known/ssf-configuration/ssf/acme`)).json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      add_subject_endpoint: `${issuer}/subjects/add`,
      remove_subject_endpoint: `${issuer}/subjects/remove`,
      default_subjects: 'ALL',
    });
    await drain();
    const carol = { id: '00u-carol', login: 'carol@acme.example', email: 'carol@acme.example' };
    const dave = { id: '00u-dave', login: 'dave@acme.example', email: 'dave@acme.example' };
    const removed = await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/subjects/remove', { stream_id: stream, subject: { email: carol.email, format: 'email' } });
    expect(removed.status).toBe(204);
    // The subject list is the transmitter's own: never served back, kept across an update.
    await mgmt(OTHER_TOKEN, 'PATCH', '/ssf/acme/stream', { stream_id: stream, description: 'subjects test' });
    const config = (await (await mgmt(OTHER_TOKEN, 'GET', `/ssf/acme/stream?stream_id=${stream}`)).json()) as Record<string, unknown>;
    expect(config.removed_subjects).toBeUndefined();

    /** The subjects of the SETs handed out until one about `last` arrives (the audit log is read in order). */
    const subjectsUntil = async (last: string) => {
      const seen: string[] = [];
      await vi.waitFor(
        async () => {
          const res = (await (await poll({ returnImmediately: true, maxEvents: 50 })).json()) as { sets: Record<string, string> };
          for (const t of Object.values(res.sets))
            seen.push((JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { sub_id: { email?: string } }).sub_id.email ?? '');
          if (Object.keys(res.sets).length) await poll({ ack: Object.keys(res.sets), maxEvents: 0 });
          expect(seen).toContain(last);
        },
        { timeout: 90_000, interval: 50 },
      );
      return seen;
    };
    await happen('evt-subject-1', { kind: 'password.reset', channel: 'helpdesk', target: carol, actor: agent });
    await happen('evt-subject-2', { kind: 'password.reset', channel: 'helpdesk', target: dave, actor: agent });
    expect(await subjectsUntil(dave.email)).not.toContain(carol.email);

    expect((await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/subjects/add', { stream_id: stream, subject: { format: 'email', email: carol.email } })).status).toBe(
      200,
    );
    await happen('evt-subject-3', { kind: 'password.reset', channel: 'helpdesk', target: carol, actor: agent });
    expect(await subjectsUntil(carol.email)).toContain(carol.email);

    // Refused: not a subject (400), another receiver's or an unknown stream (404), no token (401).
    expect((await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/subjects/remove', { stream_id: stream, subject: 'carol@acme.example' })).status).toBe(400);
    expect((await mgmt(PEER_TOKEN, 'POST', '/ssf/acme/subjects/remove', { stream_id: stream, subject: { format: 'email', email: carol.email } })).status).toBe(
      404,
    );
    expect((await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/subjects/add', { stream_id: 'nope', subject: { format: 'email', email: carol.email } })).status).toBe(
      404,
    );
    expect((await fetch(`${issuer}/subjects/add`, { method: 'POST' })).status).toBe(401);
  }, 300_000);
});

describe('an expired signing key', () => {
  it('fails the push with an error naming the setting; the SET is kept and listed by `warden ssf sets`', async () => {
    const created = await mgmt(PEER_TOKEN, 'POST', '/ssf/expired/stream', {
      delivery: { method: PUSH_METHOD, endpoint_url: `${b.url}/ssf/globex/receive/wardena` },
    });
    expect(created.status).toBe(201);
    const { stream_id } = (await created.json()) as { stream_id: string };
    expect((await mgmt(PEER_TOKEN, 'POST', '/ssf/expired/verify', { stream_id })).status).toBe(204);
    await vi.waitFor(
      async () => {
        const [failed] = await a.store.listSsfSets('expired', 'failed', 10);
        expect(failed?.lastError).toContain('tenants[expired].ssf.transmitter.signingKeys');
        expect(failed?.lastError).toContain('"k-expired" expired at 2026-11-01T00:00:00.000Z');
      },
      { timeout: 90_000, interval: 50 },
    );
    let out = '';
    const ops = ssfOperations(new SsfTenants());
    await ops.sets!.run(
      { store: a.store, config: a.context.config, actor: { type: 'cli', id: 'test' }, out: (t) => void (out += t), err: () => undefined },
      { tenant: 'expired', state: 'failed', limit: 10, json: false },
    );
    expect(out).toContain(SSF_VERIFICATION);
    expect(out).toContain('tenants[expired].ssf.transmitter.signingKeys');
  }, 180_000);

  it('a poll on a tenant whose keys are all expired is a server error, not an unsigned answer', async () => {
    const { stream_id } = (await (await mgmt(PEER_TOKEN, 'POST', '/ssf/expired/stream', {})).json()) as { stream_id: string };
    await mgmt(PEER_TOKEN, 'POST', '/ssf/expired/verify', { stream_id });
    expect((await mgmt(PEER_TOKEN, 'POST', `/ssf/expired/poll/${stream_id}`, { returnImmediately: true })).status).toBe(500);
  });
});

describe('push delivery (RFC 8935) to a receiver that fails', () => {
  let receiver: http.Server;
  let base: string;
  const seen: Array<{ path: string; type: string | undefined; auth: string | undefined; body: string }> = [];
  let unavailable = 1;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', type: req.headers['content-type'], auth: req.headers.authorization, body });
        if (req.url === '/refuses')
          return void res
            .writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ err: 'invalid_key', description: 'we do not trust that key' }));
        if (unavailable-- > 0) return void res.writeHead(503).end();
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  it('a 503 is retried with backoff until the receiver takes the SET; nothing is lost', async () => {
    const { stream_id } = (await (
      await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/stream', {
        delivery: { method: PUSH_METHOD, endpoint_url: `${base}/events`, authorization_header: 'Bearer to-the-receiver' },
      })
    ).json()) as { stream_id: string };
    await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/verify', { stream_id, state: 'retry-me' });
    await vi.waitFor(
      async () => {
        const [set] = (await a.store.listSsfSets('acme', undefined, 200)).filter((x) => x.streamId === stream_id);
        expect(set).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 202 });
      },
      { timeout: 90_000, interval: 100 },
    );
    const calls = seen.filter((c) => c.path === '/events');
    expect(calls).toHaveLength(2);
    expect(calls[1]).toMatchObject({ type: 'application/secevent+jwt', auth: 'Bearer to-the-receiver' });
    // Signed again for the retry (a fresh iat), the same SET: one jti.
    const jtiOf = (t: string) => (JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    expect(jtiOf(calls[0]!.body)).toBe(jtiOf(calls[1]!.body));
    const { payload } = await jwtVerify(calls[1]!.body, createRemoteJWKSet(new URL(`${issuer}/jwks.json`)), {
      issuer,
      audience: 'https://other.example/ssf',
      currentDate: a.context.clock(),
    });
    expect(payload.events).toEqual({ [SSF_VERIFICATION]: { state: 'retry-me' } });
  }, 180_000);

  it("a 400 with an RFC 8935 error fails the SET at once, keeping the receiver's reason", async () => {
    const { stream_id } = (await (
      await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/stream', { delivery: { method: PUSH_METHOD, endpoint_url: `${base}/refuses` } })
    ).json()) as { stream_id: string };
    await mgmt(OTHER_TOKEN, 'POST', '/ssf/acme/verify', { stream_id });
    await vi.waitFor(
      async () => {
        const [set] = (await a.store.listSsfSets('acme', 'failed', 200)).filter((x) => x.streamId === stream_id);
        expect(set).toMatchObject({ attempts: 1, lastStatus: 400, lastError: 'refused by the receiver: invalid_key: we do not trust that key' });
      },
      { timeout: 90_000, interval: 50 },
    );
  }, 180_000);
});
