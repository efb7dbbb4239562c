import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTVerifyGetKey } from 'jose';
import { WardenError } from '../../src/core/errors.js';
import type { ConnectorContext, RawRoute } from '../../src/connector/index.js';
import { BackgroundLoop } from '../../src/connector/index.js';
import { writeEmpty, writeJson } from '../../src/connector/index.js';
import { SET_MEDIA_TYPE } from './event-types.js';
import { eventSeconds } from './map-set.js';
import type { PeerRuntime, SsfTenants } from './ssf-tenant.js';
import { SetVerificationError, transmitterKeys, verifySet, type VerifiedSet } from './verify-set.js';

/**
 * Warden as an SSF receiver: the push endpoint (RFC 8935) and the poll
 * client (RFC 8936). Each SET is verified (verify-set.ts), then its `jti` is
 * recorded and the SET stored in the inbox in one transaction — a `jti`
 * already recorded is a replay — and the inbox worker turns it into changes
 * (map-set.ts) that are decided like any other.
 */

export const PUSH_PATH = '/ssf/:tenant/receive/:transmitter';

/** Reads `issuer`'s `/.well-known/ssf-configuration` (SSF 1.0 "Obtaining Transmitter Configuration Metadata", path-style for an issuer with a path) and checks its `issuer`. */
export async function discoverTransmitter(issuer: string): Promise<{ jwks_uri: string; [k: string]: unknown }> {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/$/, '');
  const url = `${u.origin}/.well-known/ssf-configuration${path === '' ? '' : path}`;
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new WardenError('ERR_UPSTREAM', `${url} answered ${res.status}`);
  const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // SSF 1.0 "Transmitter Configuration Validation": the document's issuer must be the one it was read for.
  if (doc.issuer !== issuer) throw new WardenError('ERR_UPSTREAM', `${url} names issuer ${JSON.stringify(doc.issuer)}, not ${issuer}`);
  if (typeof doc.jwks_uri !== 'string') throw new WardenError('ERR_UPSTREAM', `${url} has no jwks_uri`);
  return doc as { jwks_uri: string };
}

/** A SET could not be stored because its jti was accepted before. */
const replay = (jti: string) => new SetVerificationError('replay', `a SET with jti ${jti} was already received from this issuer`);

/** Keys, verification and storage of SETs, shared by the push route and the poll client. */
export class SsfReceiver {
  readonly #keys = new Map<string, Promise<JWTVerifyGetKey>>();

  /** The transmitter's key set: its configured `jwksUri`, or the one its configuration document names. */
  keysFor(tenant: string, peer: PeerRuntime): Promise<JWTVerifyGetKey> {
    const key = `${tenant}\u0000${peer.name}\u0000${peer.issuer}`;
    let keys = this.#keys.get(key);
    if (!keys) {
      keys = (peer.jwksUri ? Promise.resolve(peer.jwksUri) : discoverTransmitter(peer.issuer).then((d) => d.jwks_uri)).then((uri) => transmitterKeys(uri));
      // A failed discovery is tried again with the next SET.
      keys.catch(() => this.#keys.delete(key));
      this.#keys.set(key, keys);
    }
    return keys;
  }

  /**
   * Verifies a SET and stores it in the inbox (its jti recorded in the same
   * transaction). Returns the claims; throws `SetVerificationError`.
   */
  async accept(token: string, tenant: string, peer: PeerRuntime, via: 'push' | 'poll', ctx: ConnectorContext): Promise<VerifiedSet> {
    const now = ctx.clock();
    const set = await verifySet(token, {
      issuer: peer.issuer,
      audience: peer.audience,
      algorithms: peer.algorithms,
      maxAgeSeconds: peer.maxAgeSeconds,
      clockToleranceSeconds: peer.clockToleranceSeconds,
      now,
      keys: await this.keysFor(tenant, peer),
    });
    const type = Object.keys(set.events)[0]!;
    const occurred = new Date((eventSeconds(set.events[type]?.event_timestamp) ?? set.iat) * 1000);
    await ctx.store.transaction(async (tx) => {
      if (!(await tx.rememberSsfJti(tenant, peer.issuer, set.jti, now))) throw replay(set.jti);
      await tx.putInbox({
        tenant,
        source: 'ssf',
        eventId: `${peer.name}:${set.jti}`,
        eventType: type,
        via: 'ssf',
        payload: { transmitter: peer.name, via, set },
        receivedAt: now,
        ...(Number.isFinite(occurred.getTime()) ? { occurredAt: occurred } : {}),
      });
    });
    ctx.wakeInbox();
    return set;
  }
}

const sameSecret = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/** The body as text, at most `limit` bytes. */
function readText(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new WardenError('ERR_BODY_TOO_LARGE', `the request body exceeds ${limit} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (err) => reject(new WardenError('ERR_BODY_MALFORMED', 'the request body could not be read', { cause: err })));
  });
}

/** An RFC 8935 §2.4 error answer. */
const setError = (res: ServerResponse, status: number, err: string, description: string) => writeJson(res, status, { err, description });

/**
 * `POST /ssf/<tenant>/receive/<transmitter>`: one pushed SET
 * (`Content-Type: application/secevent+jwt`), answered 202 once stored, or
 * 400 / 401 with `{ err, description }` (RFC 8935).
 */
export function pushReceiver(tenants: SsfTenants, receiver: SsfReceiver): RawRoute {
  return {
    method: 'POST',
    path: PUSH_PATH,
    async handle(req, res, { params }, ctx) {
      const tenant = tenants.find(ctx.config, params.tenant!);
      const peer = tenant?.peers.find((p) => p.name === params.transmitter && p.pushAuthorization);
      if (!tenant || !peer)
        throw new WardenError(
          'ERR_NOT_FOUND',
          `no SSF transmitter "${params.transmitter}" pushing to tenant "${params.tenant}" (tenants[].ssf.receiver.transmitters[].push)`,
        );
      const auth = req.headers.authorization;
      if (!auth || !sameSecret(auth, peer.pushAuthorization!.reveal())) {
        ctx.log.warn({ tenant: tenant.id, transmitter: peer.name, ip: req.socket.remoteAddress }, 'ssf push refused: authorization');
        return setError(res, 401, 'authentication_failed', 'missing or wrong Authorization header');
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== SET_MEDIA_TYPE) return setError(res, 400, 'invalid_request', `Content-Type must be ${SET_MEDIA_TYPE}`);
      const body = await readText(req, ctx.config.bodyBytes);
      try {
        await receiver.accept(body, tenant.id, peer, 'push', ctx);
      } catch (err) {
        if (!(err instanceof SetVerificationError)) throw err;
        ctx.log.warn({ tenant: tenant.id, transmitter: peer.name, reason: err.reason }, `ssf SET refused: ${err.message}`);
        return setError(res, 400, err.setErr, err.message);
      }
      writeEmpty(res, 202);
    },
  };
}

/**
 * Polls one transmitter (RFC 8936): acknowledges what it stored (and
 * replays of what it had stored before), reports what it refused in
 * `setErrs`, and polls again at once while the transmitter has more.
 */
export function startPollClients(tenants: SsfTenants, receiver: SsfReceiver, ctx: ConnectorContext): { stop(): Promise<void>; loops: BackgroundLoop[] } {
  const loops: BackgroundLoop[] = [];
  for (const id of tenants.ids(ctx.config)) {
    for (const peer of tenants.find(ctx.config, id)!.peers) {
      if (!peer.poll || !peer.pollToken) continue;
      let ack: string[] = [];
      let setErrs: Record<string, { err: string; description: string }> = {};
      const lease = `ssf:poll:${id}:${peer.name}`;
      const step = async (): Promise<number> => {
        if (!(await ctx.store.acquireLease(lease, ctx.instanceId, ctx.clock(), Math.max(30, peer.poll!.intervalSeconds * 3)))) return 0;
        const res = await fetch(peer.poll!.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${peer.pollToken!.reveal()}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ ack, ...(Object.keys(setErrs).length ? { setErrs } : {}), maxEvents: peer.poll!.maxEvents, returnImmediately: true }),
          signal: AbortSignal.timeout(30_000),
        });
        if (res.status !== 200)
          throw new WardenError(
            'ERR_UPSTREAM',
            `SSF poll of ${peer.poll!.url} (tenants[${id}].ssf.receiver.transmitters[${peer.name}].poll.url) answered ${res.status}`,
          );
        // Sent: the transmitter has them now.
        ack = [];
        setErrs = {};
        const body = (await res.json()) as { sets?: Record<string, unknown>; moreAvailable?: boolean };
        const sets = Object.entries(body.sets ?? {});
        for (const [jti, token] of sets) {
          try {
            if (typeof token !== 'string') throw new SetVerificationError('malformed', 'the SET is not a string');
            await receiver.accept(token, id, peer, 'poll', ctx);
            ack.push(jti);
          } catch (err) {
            if (err instanceof SetVerificationError && err.reason === 'replay') ack.push(jti);
            else if (err instanceof SetVerificationError) {
              setErrs[jti] = { err: err.setErr, description: err.message };
              ctx.log.warn({ tenant: id, transmitter: peer.name, reason: err.reason }, `ssf SET refused: ${err.message}`);
            } else throw err;
          }
        }
        // Acknowledge at once when there is nothing more to fetch, rather than an interval later.
        return sets.length > 0 || body.moreAvailable ? sets.length || 1 : ack.length + Object.keys(setErrs).length;
      };
      const loop = new BackgroundLoop(step, peer.poll.intervalSeconds * 1000, (err) =>
        ctx.log.error({ err, tenant: id, transmitter: peer.name }, 'ssf poll failed'),
      );
      loop.start();
      loops.push(loop);
    }
  }
  return { loops, stop: async () => void (await Promise.all(loops.map((l) => l.stop()))) };
}
