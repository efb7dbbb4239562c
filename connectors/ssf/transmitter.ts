import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '../../src/connector/index.js';
import type { ConnectorContext } from '../../src/connector/index.js';
import { isWardenError } from '../../src/core/errors.js';
import { BackgroundLoop } from '../../src/connector/index.js';
import type { SsfSetRow, SsfStreamRow, SsfStreamStatus } from '../../src/connector/index.js';
import type { ConnectorStoreOps } from '../../src/connector/index.js';
import { setIntents, subjectOf, type SetIntent } from './audit-events.js';
import {
  CAEP_CREDENTIAL_CHANGE,
  CAEP_SESSION_REVOKED,
  OKTA_USER_RISK_CHANGE,
  PUSH_METHOD,
  RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED,
  SET_MEDIA_TYPE,
  SSF_STREAM_UPDATED,
  SSF_VERIFICATION,
} from './event-types.js';
import { setJti, signSet } from './sign-set.js';
import { activeKey } from './signing-keys.js';
import { subjectsMatch } from './subject-match.js';
import type { SsfTenants, TransmitterRuntime } from './ssf-tenant.js';

/**
 * Warden as an SSF transmitter, the part behind the HTTP endpoints: turning
 * audit records into SETs on every stream that asked for their type (one
 * transaction with the audit cursor, so nothing is skipped or queued twice),
 * and pushing queued SETs (RFC 8935) with backoff. Poll streams are served by
 * transmitter-routes.ts.
 */

/** What a stream row's `config` holds. */
export interface StreamConfig {
  delivery: { method: string; endpoint_url?: string; authorization_header?: string };
  events_requested?: string[];
  events_delivered: string[];
  description?: string;
  /** Subjects the receiver removed (SSF 1.0 "Removing a Subject"; `default_subjects` is ALL): their events are not queued. Never served back. */
  removed_subjects?: Array<Record<string, unknown>>;
}

/** The event types Warden's transmitter sends for a tenant (verification is always available). */
export function eventsSupported(t: TransmitterRuntime): string[] {
  return [CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED, RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED, ...(t.config.oktaUserRisk ? [OKTA_USER_RISK_CHANGE] : [])];
}

/** The claims of a SET for a stream (signed at delivery; `iat` is added then). */
export function setClaims(
  t: TransmitterRuntime,
  stream: SsfStreamRow,
  jti: string,
  type: string,
  subId: Record<string, string>,
  event: Record<string, unknown>,
  txn?: string,
): Record<string, unknown> {
  const receiver = t.receivers.find((r) => r.name === stream.receiver);
  return { iss: t.config.issuer, jti, aud: receiver?.audience ?? stream.receiver, ...(txn ? { txn } : {}), sub_id: subId, events: { [type]: event } };
}

const methodOf = (s: SsfStreamRow) => ((s.config as unknown as StreamConfig).delivery.method === PUSH_METHOD ? 'push' : 'poll');

/** Wakes long polls waiting for a stream's SETs. */
export class StreamSignals {
  readonly #waiting = new Map<string, Set<() => void>>();

  /** Resolves when `notify` is called for the stream or `ms` passed, whichever first. */
  wait(tenant: string, streamId: string, ms: number): Promise<void> {
    const key = `${tenant}\u0000${streamId}`;
    return new Promise((resolve) => {
      const set = this.#waiting.get(key) ?? new Set();
      this.#waiting.set(key, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  notify(tenant: string, streamId: string): void {
    for (const done of [...(this.#waiting.get(`${tenant}\u0000${streamId}`) ?? [])]) done();
  }
}

/** Queues a SET on a stream in `tx`; true when it was new. */
export async function queueSet(
  tx: ConnectorStoreOps,
  t: TransmitterRuntime,
  stream: SsfStreamRow,
  intent: SetIntent | { type: string; jti: string; subId: Record<string, string>; event: Record<string, unknown> },
  now: Date,
): Promise<boolean> {
  const receiver = t.receivers.find((r) => r.name === stream.receiver);
  const jti = 'jti' in intent ? intent.jti : setJti(stream.id, intent.txn, intent.type);
  const subId = 'subId' in intent ? intent.subId : subjectOf(intent.person, receiver?.subjectFormat ?? 'email');
  // A subject the receiver removed gets no events; the stream's own subject (verification, stream-updated) is never removed.
  const removed = (stream.config as unknown as StreamConfig).removed_subjects ?? [];
  if (!('jti' in intent) && removed.some((r) => subjectsMatch(r, subId))) return false;
  const claims = setClaims(t, stream, jti, intent.type, subId, intent.event, 'txn' in intent ? intent.txn : undefined);
  return tx.putSsfSet({ tenant: stream.tenant, streamId: stream.id, jti, eventType: intent.type, claims, method: methodOf(stream), createdAt: now }, now);
}

/** A verification SET (SSF 1.0 "Verification Event"): `sub_id` is the stream as an opaque subject, `state` echoed. */
export function verificationIntent(stream: SsfStreamRow, state: string | undefined) {
  return {
    type: SSF_VERIFICATION,
    jti: randomUUID().replaceAll('-', ''),
    subId: { format: 'opaque', id: stream.id },
    event: state === undefined ? {} : { state },
  };
}

/** A stream-updated SET (SSF 1.0 "Stream Updated Event"): `sub_id` is the stream as an opaque subject; the new status and why. */
export function streamUpdatedIntent(stream: SsfStreamRow, status: SsfStreamStatus, reason: string | undefined) {
  return {
    type: SSF_STREAM_UPDATED,
    jti: randomUUID().replaceAll('-', ''),
    subId: { format: 'opaque', id: stream.id },
    event: { status, ...(reason ? { reason } : {}) },
  };
}

/**
 * Warden, not the receiver, changes a stream's status (an operator's
 * `warden ssf status`): in one transaction, the stream-updated SET is queued
 * and the status changed. It is delivered even when the stream is no longer
 * enabled, so a receiver hears of a pause before the stream stops (SSF 1.0
 * "Stream Status"). Returns false when the status was already that.
 */
export async function changeStreamStatus(
  store: ConnectorContext['store'],
  t: TransmitterRuntime,
  stream: SsfStreamRow,
  status: SsfStreamStatus,
  reason: string | undefined,
  now: Date,
): Promise<boolean> {
  if (stream.status === status) return false;
  await store.transaction(async (tx) => {
    await queueSet(tx, t, stream, streamUpdatedIntent(stream, status, reason), now);
    const updated: SsfStreamRow = { ...stream, status, updatedAt: now };
    if (reason) updated.reason = reason;
    else delete updated.reason;
    await tx.updateSsfStream(updated);
  });
  return true;
}

/** Event types delivered on a stream whatever its status. */
export const ALWAYS_DELIVERED: readonly string[] = [SSF_STREAM_UPDATED];

/** Backoff of a failed push: 5 s doubling, at most an hour. */
export const pushBackoffMs = (attempts: number) => Math.min(3_600_000, 5_000 * 2 ** Math.max(0, attempts - 1));

/** The transmitter's background work: the audit-to-SET queueing step and the push worker. */
export class SsfTransmitter {
  readonly signals = new StreamSignals();
  #queue: BackgroundLoop | undefined;
  #push: BackgroundLoop | undefined;

  constructor(private readonly tenants: SsfTenants) {}

  /**
   * Reads the tenant's audit log after the cursor (`ssf:audit`) and queues
   * the SETs its records give rise to on every stream that existed when the
   * record was written and delivers their type; the cursor moves in the same
   * transaction. Returns how many records it read.
   */
  async queueStep(tenant: string, ctx: ConnectorContext): Promise<number> {
    const t = await this.tenants.transmitter(ctx.config, tenant);
    const now = ctx.clock();
    if (!(await ctx.store.acquireLease(`ssf:transmit:${tenant}`, ctx.instanceId, now, 60))) return 0;
    const cursor = ((await ctx.store.getCursor(tenant, 'ssf:audit')) as { seq?: number } | undefined)?.seq ?? 0;
    // The head is read before the streams: a stream created after this read is newer than every record up to the head.
    const head = await ctx.store.auditHead(tenant);
    if (head.seq <= cursor) return 0;
    const streams = (await ctx.store.listSsfStreams(tenant)).filter((s) => s.status !== 'disabled');
    if (streams.length === 0) {
      // No stream is owed anything written so far: skip to the head instead of reading the whole log.
      await ctx.store.setCursor(tenant, 'ssf:audit', { seq: head.seq }, now);
      return 0;
    }
    const rows = await ctx.store.readAudit(tenant, cursor, 200);
    if (rows.length === 0) return 0;
    const touched = new Set<string>();
    await ctx.store.transaction(async (tx) => {
      for (const row of rows) {
        const record = JSON.parse(row.record) as AuditRecord;
        const intents = await setIntents(record, tx, { oktaUserRisk: t.config.oktaUserRisk });
        for (const intent of intents)
          for (const stream of streams) {
            if (stream.createdAt.toISOString() > record.at) continue;
            if (!(stream.config as unknown as StreamConfig).events_delivered.includes(intent.type)) continue;
            if (await queueSet(tx, t, stream, intent, now)) touched.add(stream.id);
          }
      }
      await tx.setCursor(tenant, 'ssf:audit', { seq: rows[rows.length - 1]!.seq }, now);
    });
    for (const id of touched) this.signals.notify(tenant, id);
    if (touched.size > 0) this.#push?.wake();
    return rows.length;
  }

  /** Pushes one batch of due SETs; returns how many it tried. */
  async pushStep(ctx: ConnectorContext): Promise<number> {
    const now = ctx.clock();
    const sets = await ctx.store.claimSsfPushSets(20, now, 60, { alwaysTypes: ALWAYS_DELIVERED });
    for (const set of sets) await this.#pushOne(set, ctx);
    return sets.length;
  }

  async #pushOne(set: SsfSetRow, ctx: ConnectorContext): Promise<void> {
    const stream = await ctx.store.getSsfStream(set.tenant, set.streamId);
    const t = await this.tenants.transmitter(ctx.config, set.tenant);
    const cfg = stream?.config as unknown as StreamConfig | undefined;
    const retry = async (error: string, status: number | null) => {
      const last = set.attempts >= t.config.push.maxAttempts;
      await ctx.store.failSsfSet(set.id, error, status, last ? null : new Date(ctx.clock().getTime() + pushBackoffMs(set.attempts)));
      ctx.log.warn(
        { tenant: set.tenant, stream: set.streamId, jti: set.jti, attempts: set.attempts, status },
        `ssf push ${last ? 'failed for good' : 'failed, will retry'}: ${error}`,
      );
    };
    if (!cfg?.delivery.endpoint_url) return retry('the stream has no delivery.endpoint_url', null);
    let token: string;
    try {
      token = await signSet(set.claims, activeKey(t.keys, set.tenant, ctx.clock()), ctx.clock());
    } catch (err) {
      // An expired signing key: the message names the setting; the SET waits for a valid key.
      if (isWardenError(err)) return retry(err.message, null);
      throw err;
    }
    let res: Response;
    try {
      res = await fetch(cfg.delivery.endpoint_url, {
        method: 'POST',
        headers: {
          'content-type': SET_MEDIA_TYPE,
          accept: 'application/json',
          ...(cfg.delivery.authorization_header ? { authorization: cfg.delivery.authorization_header } : {}),
        },
        body: token,
        signal: AbortSignal.timeout(t.config.push.timeoutMs),
      });
    } catch (err) {
      return retry(`POST ${cfg.delivery.endpoint_url} failed: ${(err as Error).message}`, null);
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) {
      await ctx.store.completeSsfSet(set.id, ctx.clock(), res.status);
      return;
    }
    // RFC 8935 §2.4: a 400 with { err, description } is the receiver refusing this SET; sending it again changes nothing.
    if (res.status === 400) {
      let detail = text.slice(0, 500);
      try {
        const body = JSON.parse(text) as { err?: string; description?: string };
        if (body.err) detail = `${body.err}: ${body.description ?? ''}`;
      } catch {
        /* not JSON: kept as text */
      }
      await ctx.store.failSsfSet(set.id, `refused by the receiver: ${detail}`, 400, null);
      ctx.log.warn({ tenant: set.tenant, stream: set.streamId, jti: set.jti }, `ssf push refused by the receiver: ${detail}`);
      return;
    }
    return retry(`POST ${cfg.delivery.endpoint_url} answered ${res.status}`, res.status);
  }

  /** Starts the queueing and push loops. */
  start(ctx: ConnectorContext, idleMs: number): { stop(): Promise<void> } {
    const onError = (what: string) => (err: unknown) => ctx.log.error({ err }, `ssf ${what} failed`);
    this.#queue = new BackgroundLoop(
      async () => {
        let n = 0;
        for (const id of this.tenants.ids(ctx.config)) if (this.tenants.find(ctx.config, id)?.transmitter !== undefined) n += await this.queueStep(id, ctx);
        return n;
      },
      idleMs,
      onError('queueing'),
    );
    this.#push = new BackgroundLoop(() => this.pushStep(ctx), idleMs, onError('push'));
    this.#queue.start();
    this.#push.start();
    return {
      stop: async () => {
        await this.#queue?.stop();
        await this.#push?.stop();
      },
    };
  }

  /** Runs the queueing step soon (after a stream changed, a verification was asked for). */
  wakePush(): void {
    this.#push?.wake();
  }
}
