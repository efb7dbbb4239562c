import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { WardenError } from '../../src/core/errors.js';
import type { ConnectorContext } from '../../src/connector/index.js';
import type { SsfStreamRow, SsfStreamStatus } from '../../src/connector/index.js';
import { POLL_METHOD, PUSH_METHOD } from './event-types.js';
import { signSet } from './sign-set.js';
import { activeKey, publishedJwks } from './signing-keys.js';
import type { ReceiverRuntime, SsfTenants, TransmitterRuntime } from './ssf-tenant.js';
import { ALWAYS_DELIVERED, eventsSupported, queueSet, verificationIntent, type SsfTransmitter, type StreamConfig } from './transmitter.js';
import { canonicalSubject, isSubject } from './subject-match.js';

/**
 * The transmitter's HTTP side for tenant `<t>` (issuer `<public URL>/ssf/<t>`):
 *
 * | Route | What (spec) |
 * |---|---|
 * | `GET /.well-known/ssf-configuration/ssf/<t>` | transmitter configuration metadata (SSF 1.0 "Transmitter Configuration Discovery", path-style for an issuer with a path) |
 * | `GET /ssf/<t>/jwks.json` | signing keys (JWKS) |
 * | `POST/GET/PATCH/PUT/DELETE /ssf/<t>/stream` | stream configuration: create, read (one or all), update, replace, delete (SSF 1.0 "Stream Configuration") |
 * | `GET/POST /ssf/<t>/status` | stream status: read, update (SSF 1.0 "Stream Status") |
 * | `POST /ssf/<t>/verify` | queue a verification event (SSF 1.0 "Triggering a Verification Event") |
 * | `POST /ssf/<t>/subjects/add`, `/subjects/remove` | add a subject back, remove one (SSF 1.0 "Subjects"; every subject is on a stream by default) |
 * | `POST /ssf/<t>/poll/<stream_id>` | poll delivery: acknowledge, report errors, fetch (RFC 8936) |
 *
 * Stream management and poll need `Authorization: Bearer <token>` of one of
 * `ssf.transmitter.receivers`; each receiver sees and changes only its own
 * streams (another receiver's stream is "not found").
 */

const sha = (s: string) => createHash('sha256').update(s).digest();

/** The receiver a bearer token belongs to. */
function authenticate(req: Request, t: TransmitterRuntime): ReceiverRuntime {
  const header = req.get('authorization');
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!m) throw new WardenError('ERR_AUTH_REQUIRED', 'SSF stream management needs Authorization: Bearer <token> (tenants[].ssf.transmitter.receivers[].token)');
  const given = sha(m[1]!);
  // Every receiver is compared, so the time taken does not tell which matched.
  let found: ReceiverRuntime | undefined;
  for (const r of t.receivers) if (timingSafeEqual(given, sha(r.tokenSecret.reveal()))) found = r;
  if (!found) throw new WardenError('ERR_AUTH_INVALID', 'the bearer token is not one of tenants[].ssf.transmitter.receivers[].token');
  return found;
}

/** The stream `stream_id` names, owned by `receiver`. */
async function ownStream(ctx: ConnectorContext, tenant: string, receiver: ReceiverRuntime, id: unknown): Promise<SsfStreamRow> {
  if (typeof id !== 'string' || id === '') throw new WardenError('ERR_VALIDATION', 'stream_id is required');
  const stream = await ctx.store.getSsfStream(tenant, id);
  if (!stream || stream.receiver !== receiver.name) throw new WardenError('ERR_NOT_FOUND', `no SSF stream "${id}" for receiver "${receiver.name}" (stream_id)`);
  return stream;
}

/** The stream configuration as served (SSF 1.0 "Stream Configuration"): never the push authorization header. */
function streamJson(t: TransmitterRuntime, s: SsfStreamRow, receiver: ReceiverRuntime): Record<string, unknown> {
  const c = s.config as unknown as StreamConfig;
  const { authorization_header: _secret, ...delivery } = c.delivery;
  return {
    stream_id: s.id,
    iss: t.config.issuer,
    aud: receiver.audience,
    delivery,
    events_supported: eventsSupported(t),
    ...(c.events_requested ? { events_requested: c.events_requested } : {}),
    events_delivered: c.events_delivered,
    ...(c.description !== undefined ? { description: c.description } : {}),
  };
}

const strings = (v: unknown, name: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new WardenError('ERR_VALIDATION', `${name} must be an array of strings`);
  return v as string[];
};

/** Validates a receiver-supplied delivery object; a poll stream's endpoint is Warden's. */
function delivery(v: unknown, t: TransmitterRuntime, streamId: string): StreamConfig['delivery'] {
  if (v === undefined) return { method: POLL_METHOD, endpoint_url: `${t.config.issuer}/poll/${streamId}` };
  if (!v || typeof v !== 'object') throw new WardenError('ERR_VALIDATION', 'delivery must be an object');
  const d = v as Record<string, unknown>;
  if (d.method === POLL_METHOD) return { method: POLL_METHOD, endpoint_url: `${t.config.issuer}/poll/${streamId}` };
  if (d.method !== PUSH_METHOD) throw new WardenError('ERR_VALIDATION', `delivery.method must be ${PUSH_METHOD} or ${POLL_METHOD}`);
  if (typeof d.endpoint_url !== 'string' || !/^https?:\/\//.test(d.endpoint_url))
    throw new WardenError('ERR_VALIDATION', 'a push delivery needs an http(s) delivery.endpoint_url');
  if (d.authorization_header !== undefined && typeof d.authorization_header !== 'string')
    throw new WardenError('ERR_VALIDATION', 'delivery.authorization_header must be a string');
  return { method: PUSH_METHOD, endpoint_url: d.endpoint_url, ...(d.authorization_header ? { authorization_header: d.authorization_header } : {}) };
}

/** Receiver-supplied properties of a create / replace / update body applied to `base`. */
function applyBody(body: Record<string, unknown>, base: StreamConfig | undefined, t: TransmitterRuntime, streamId: string, replace: boolean): StreamConfig {
  const requested = strings(body.events_requested, 'events_requested');
  if (body.description !== undefined && typeof body.description !== 'string') throw new WardenError('ERR_VALIDATION', 'description must be a string');
  const keep = !replace && base;
  const events_requested = requested ?? (keep ? base.events_requested : undefined);
  const supported = eventsSupported(t);
  return {
    delivery: keep && body.delivery === undefined ? base.delivery : delivery(body.delivery, t, streamId),
    ...(events_requested ? { events_requested } : {}),
    // Without events_requested, every supported type is delivered.
    events_delivered: events_requested ? supported.filter((e) => events_requested.includes(e)) : supported,
    ...(body.description !== undefined
      ? { description: (body.description as string).slice(0, 1000) }
      : keep && base.description !== undefined
        ? { description: base.description }
        : {}),
    // Subjects are managed through their own endpoints: an update or a replace keeps them.
    ...(base?.removed_subjects?.length ? { removed_subjects: base.removed_subjects } : {}),
  };
}

/** Most subjects a stream may have removed (they live in the stream's row). */
const MAX_REMOVED_SUBJECTS = 10_000;

/** Transmitter-supplied properties in an update must match (SSF 1.0 "Updating a Stream's Configuration"). */
function checkTransmitterSupplied(body: Record<string, unknown>, current: Record<string, unknown>): void {
  for (const key of ['iss', 'aud', 'events_supported', 'events_delivered'] as const)
    if (body[key] !== undefined && JSON.stringify(body[key]) !== JSON.stringify(current[key]))
      throw new WardenError('ERR_VALIDATION', `${key} is supplied by the transmitter and does not match`);
}

const STATUSES: readonly SsfStreamStatus[] = ['enabled', 'paused', 'disabled'];

/** Mounts the transmitter routes. */
export function mountTransmitter(router: Router, ctx: ConnectorContext, tenants: SsfTenants, transmitter: SsfTransmitter): void {
  const json = express.json({ limit: ctx.config.bodyBytes, type: ['application/json', 'application/*+json'] });
  const runtime = (req: Request) => tenants.transmitter(ctx.config, String(req.params.tenant));
  const noStore = (res: Response) => res.set('cache-control', 'no-store');

  router.get('/.well-known/ssf-configuration/ssf/:tenant', async (req, res) => {
    const t = await runtime(req);
    const base = t.config.issuer;
    res.json({
      spec_version: '1_0',
      issuer: base,
      jwks_uri: `${base}/jwks.json`,
      delivery_methods_supported: [PUSH_METHOD, POLL_METHOD],
      configuration_endpoint: `${base}/stream`,
      status_endpoint: `${base}/status`,
      verification_endpoint: `${base}/verify`,
      add_subject_endpoint: `${base}/subjects/add`,
      remove_subject_endpoint: `${base}/subjects/remove`,
      default_subjects: 'ALL',
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
    });
  });

  router.get('/ssf/:tenant/jwks.json', async (req, res) => {
    const t = await runtime(req);
    res.set('cache-control', 'max-age=300').json(publishedJwks(t.keys, ctx.clock(), t.config.keyOverlapSeconds));
  });

  router.post('/ssf/:tenant/stream', json, async (req, res) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const id = randomUUID().replaceAll('-', '');
    const now = ctx.clock();
    const config = applyBody(body, undefined, t, id, true);
    const stream: SsfStreamRow = {
      tenant: t.tenant,
      id,
      receiver: receiver.name,
      config: config as unknown as Record<string, unknown>,
      status: 'enabled',
      createdAt: now,
      updatedAt: now,
    };
    await ctx.store.putSsfStream(stream);
    ctx.log.info({ tenant: t.tenant, receiver: receiver.name, stream: id, method: config.delivery.method }, 'ssf stream created');
    noStore(res)
      .status(201)
      .json(streamJson(t, stream, receiver));
  });

  router.get('/ssf/:tenant/stream', async (req, res) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    if (req.query.stream_id === undefined) {
      const all = await ctx.store.listSsfStreams(t.tenant, receiver.name);
      return void noStore(res).json(all.map((s) => streamJson(t, s, receiver)));
    }
    noStore(res).json(streamJson(t, await ownStream(ctx, t.tenant, receiver, req.query.stream_id), receiver));
  });

  const update = (replace: boolean) => async (req: Request, res: Response) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const stream = await ownStream(ctx, t.tenant, receiver, body.stream_id);
    checkTransmitterSupplied(body, streamJson(t, stream, receiver));
    const config = applyBody(body, stream.config as unknown as StreamConfig, t, stream.id, replace);
    const updated = { ...stream, config: config as unknown as Record<string, unknown>, updatedAt: ctx.clock() };
    await ctx.store.updateSsfStream(updated);
    noStore(res).json(streamJson(t, updated, receiver));
  };
  router.patch('/ssf/:tenant/stream', json, update(false));
  router.put('/ssf/:tenant/stream', json, update(true));

  router.delete('/ssf/:tenant/stream', async (req, res) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    const stream = await ownStream(ctx, t.tenant, receiver, req.query.stream_id);
    await ctx.store.deleteSsfStream(t.tenant, stream.id);
    ctx.log.info({ tenant: t.tenant, receiver: receiver.name, stream: stream.id }, 'ssf stream deleted');
    noStore(res).status(204).end();
  });

  const statusJson = (s: SsfStreamRow) => ({ stream_id: s.id, status: s.status, ...(s.reason ? { reason: s.reason } : {}) });
  router.get('/ssf/:tenant/status', async (req, res) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    noStore(res).json(statusJson(await ownStream(ctx, t.tenant, receiver, req.query.stream_id)));
  });
  router.post('/ssf/:tenant/status', json, async (req, res) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const stream = await ownStream(ctx, t.tenant, receiver, body.stream_id);
    if (!STATUSES.includes(body.status as SsfStreamStatus)) throw new WardenError('ERR_VALIDATION', `status must be one of ${STATUSES.join(', ')}`);
    if (body.reason !== undefined && typeof body.reason !== 'string') throw new WardenError('ERR_VALIDATION', 'reason must be a string');
    const updated: SsfStreamRow = { ...stream, status: body.status as SsfStreamStatus, updatedAt: ctx.clock() };
    if (typeof body.reason === 'string') updated.reason = body.reason.slice(0, 1000);
    else delete updated.reason;
    await ctx.store.updateSsfStream(updated);
    ctx.log.info({ tenant: t.tenant, receiver: receiver.name, stream: stream.id, status: updated.status }, 'ssf stream status changed');
    // Paused streams hold their SETs; enabling one lets the push worker deliver what waited.
    if (updated.status === 'enabled') transmitter.wakePush();
    noStore(res).json(statusJson(updated));
  });

  /** The stream and subject of an add or remove request (SSF 1.0 "Subjects"). */
  const subjectRequest = async (req: Request) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const stream = await ownStream(ctx, t.tenant, receiver, body.stream_id);
    if (!isSubject(body.subject)) throw new WardenError('ERR_VALIDATION', 'subject must be a subject identifier (an object with a format)');
    if (body.verified !== undefined && typeof body.verified !== 'boolean') throw new WardenError('ERR_VALIDATION', 'verified must be a boolean');
    const cfg = stream.config as unknown as StreamConfig;
    return { t, receiver, stream, cfg, subject: body.subject, removed: cfg.removed_subjects ?? [] };
  };
  const saveSubjects = async (stream: SsfStreamRow, cfg: StreamConfig, removed: Array<Record<string, unknown>>) => {
    const { removed_subjects: _old, ...rest } = cfg;
    await ctx.store.updateSsfStream({
      ...stream,
      config: { ...rest, ...(removed.length ? { removed_subjects: removed } : {}) } as unknown as Record<string, unknown>,
      updatedAt: ctx.clock(),
    });
  };
  // default_subjects is ALL: every person is on a stream until the receiver removes them; adding one back undoes the removal.
  router.post('/ssf/:tenant/subjects/add', json, async (req, res) => {
    const { t, receiver, stream, cfg, subject, removed } = await subjectRequest(req);
    const key = canonicalSubject(subject);
    const left = removed.filter((r) => canonicalSubject(r) !== key);
    if (left.length !== removed.length) await saveSubjects(stream, cfg, left);
    ctx.log.info({ tenant: t.tenant, receiver: receiver.name, stream: stream.id }, 'ssf subject added');
    noStore(res).status(200).end();
  });
  router.post('/ssf/:tenant/subjects/remove', json, async (req, res) => {
    const { t, receiver, stream, cfg, subject, removed } = await subjectRequest(req);
    const key = canonicalSubject(subject);
    if (!removed.some((r) => canonicalSubject(r) === key)) {
      if (removed.length >= MAX_REMOVED_SUBJECTS)
        throw new WardenError('ERR_VALIDATION', `SSF stream "${stream.id}" has ${MAX_REMOVED_SUBJECTS} subjects removed already, the most it keeps`);
      await saveSubjects(stream, cfg, [...removed, subject]);
    }
    ctx.log.info({ tenant: t.tenant, receiver: receiver.name, stream: stream.id }, 'ssf subject removed');
    noStore(res).status(204).end();
  });

  router.post('/ssf/:tenant/verify', json, async (req, res) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const stream = await ownStream(ctx, t.tenant, receiver, body.stream_id);
    if (body.state !== undefined && typeof body.state !== 'string') throw new WardenError('ERR_VALIDATION', 'state must be a string');
    if (stream.status === 'disabled') throw new WardenError('ERR_CONFLICT', `SSF stream "${stream.id}" is disabled`);
    await queueSet(ctx.store, t, stream, verificationIntent(stream, body.state as string | undefined), ctx.clock());
    transmitter.signals.notify(t.tenant, stream.id);
    transmitter.wakePush();
    noStore(res).status(204).end();
  });

  router.post('/ssf/:tenant/poll/:stream', json, async (req, res) => {
    const t = await runtime(req);
    const receiver = authenticate(req, t);
    const stream = await ownStream(ctx, t.tenant, receiver, req.params.stream);
    if ((stream.config as unknown as StreamConfig).delivery.method !== POLL_METHOD)
      throw new WardenError('ERR_CONFLICT', `SSF stream "${stream.id}" is delivered by push, not poll`);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const ack = strings(body.ack, 'ack') ?? [];
    const errs = body.setErrs;
    if (errs !== undefined && (typeof errs !== 'object' || errs === null || Array.isArray(errs)))
      throw new WardenError('ERR_VALIDATION', 'setErrs must be an object keyed by jti');
    const maxEvents = body.maxEvents === undefined ? 100 : Number(body.maxEvents);
    if (!Number.isInteger(maxEvents) || maxEvents < 0 || maxEvents > 1000)
      throw new WardenError('ERR_VALIDATION', 'maxEvents must be an integer from 0 to 1000');
    const now = ctx.clock();
    await ctx.store.ackSsfSets(t.tenant, stream.id, ack, now);
    if (errs)
      await ctx.store.rejectSsfSets(
        t.tenant,
        stream.id,
        Object.entries(errs as Record<string, { err?: unknown; description?: unknown }>).map(([jti, e]) => ({
          jti,
          error: `refused by the receiver: ${String(e?.err)}: ${String(e?.description ?? '')}`.slice(0, 1000),
        })),
      );
    if (maxEvents === 0) return void noStore(res).json({ sets: {}, moreAvailable: false });
    // A stream that is not enabled hands out only the stream-updated event that says so.
    const only = stream.status === 'enabled' ? {} : { onlyTypes: ALWAYS_DELIVERED };
    let pending = await ctx.store.pendingSsfPollSets(t.tenant, stream.id, maxEvents + 1, only);
    if (pending.length === 0 && body.returnImmediately !== true && stream.status === 'enabled') {
      // RFC 8936: a long poll waits for SETs, then answers (empty at the end of the wait).
      await transmitter.signals.wait(t.tenant, stream.id, t.config.pollWaitSeconds * 1000);
      pending = await ctx.store.pendingSsfPollSets(t.tenant, stream.id, maxEvents + 1);
    }
    const key = activeKey(t.keys, t.tenant, ctx.clock());
    const sets: Record<string, string> = {};
    for (const s of pending.slice(0, maxEvents)) sets[s.jti] = await signSet(s.claims, key, ctx.clock());
    noStore(res).json({ sets, moreAvailable: pending.length > maxEvents });
  });
}
