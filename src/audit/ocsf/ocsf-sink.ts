import { WardenError } from '../../core/errors.js';
import type { StoreOps } from '../../store/store.js';
import { auditRowToOcsf } from './audit-to-ocsf.js';

/** One tenant's OCSF stream: where to, and how. */
export interface OcsfSinkTarget {
  tenant: string;
  url: string;
  /** Sent as `authorization: Bearer …` when set. */
  bearer?: () => string;
  batchSize: number;
  timeoutMs: number;
}

/**
 * Where a tenant's stream stands, kept in the store (`cursors`, name
 * `siem.ocsf`): the last audit record delivered, and while the endpoint
 * fails, since when, how often, why, and when the next attempt is due.
 */
export interface OcsfSinkState {
  /** Last audit sequence number delivered (or skipped as having no OCSF class). */
  seq: number;
  attempts: number;
  deliveredAt?: string;
  failingSince?: string;
  lastError?: string;
  nextAttemptAt?: string;
}

export const OCSF_SINK_CURSOR = 'siem.ocsf';
const BACKOFF_FIRST_MS = 5_000;
const BACKOFF_MAX_MS = 60 * 60_000;

/** Delay before attempt `attempts + 1` after `attempts` failures: 5 s doubling, at most an hour. Never gives up: the audit log keeps the records. */
export function ocsfSinkBackoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, attempts - 1));
}

/** The stored state of a tenant's stream (a fresh one starts before the first record). */
export async function ocsfSinkState(store: StoreOps, tenant: string): Promise<OcsfSinkState> {
  const v = (await store.getCursor(tenant, OCSF_SINK_CURSOR)) as OcsfSinkState | undefined;
  return v ?? { seq: 0, attempts: 0 };
}

/**
 * One step of a tenant's OCSF stream: reads the audit records after the
 * stored position, POSTs their OCSF events as NDJSON, and moves the position
 * only when the endpoint answered 2xx. A failure is recorded (attempts, error,
 * next attempt with backoff) and the same records are sent again later:
 * delivery is at least once, in chain order; receivers de-duplicate on
 * `metadata.uid` (the audit record id). Nothing is lost because the audit log
 * itself is the queue: the stream starts at the tenant's first record.
 *
 * Run it under a store lease so one replica streams a tenant.
 * @returns how many audit records it moved past (0: nothing to do, not due, or failed)
 */
export async function streamOcsfOnce(store: StoreOps, target: OcsfSinkTarget, now: Date, onFailure?: (state: OcsfSinkState) => void): Promise<number> {
  const state = await ocsfSinkState(store, target.tenant);
  if (state.nextAttemptAt && Date.parse(state.nextAttemptAt) > now.getTime()) return 0;
  const rows = await store.readAudit(target.tenant, state.seq, target.batchSize);
  if (rows.length === 0) return 0;
  const lines: string[] = [];
  for (const row of rows) {
    const event = auditRowToOcsf(row);
    if (event) lines.push(JSON.stringify(event));
  }
  const last = rows[rows.length - 1]!.seq;
  if (lines.length > 0) {
    const error = await post(target, lines.join('\n') + '\n');
    if (error) {
      const attempts = state.attempts + 1;
      const failed: OcsfSinkState = {
        seq: state.seq,
        attempts,
        ...(state.deliveredAt ? { deliveredAt: state.deliveredAt } : {}),
        failingSince: state.failingSince ?? now.toISOString(),
        lastError: error,
        nextAttemptAt: new Date(now.getTime() + ocsfSinkBackoffMs(attempts)).toISOString(),
      };
      await store.setCursor(target.tenant, OCSF_SINK_CURSOR, failed, now);
      onFailure?.(failed);
      return 0;
    }
  }
  await store.setCursor(target.tenant, OCSF_SINK_CURSOR, { seq: last, attempts: 0, deliveredAt: now.toISOString() } satisfies OcsfSinkState, now);
  return rows.length;
}

/** POSTs one batch; the error, if it failed (a non-2xx answer, a timeout, a refused connection). */
async function post(target: OcsfSinkTarget, body: string): Promise<string | undefined> {
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...(target.bearer ? { authorization: `Bearer ${target.bearer()}` } : {}) },
      body,
      signal: AbortSignal.timeout(target.timeoutMs),
      redirect: 'error',
    });
    const text = await res.text().catch(() => '');
    if (res.ok) return undefined;
    return `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return e.name === 'TimeoutError'
      ? `no answer within ${target.timeoutMs} ms`
      : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : e.cause?.message ? ` (${e.cause.message})` : ''}`;
  }
}

/** Refuses plain http to anything but this machine: events hold people's logins. */
export function checkOcsfSinkUrl(tenant: string, url: string): void {
  const u = new URL(url);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)))
    throw new WardenError('ERR_CONFIG_INVALID', `tenant ${tenant} siem.ocsf.url: ${url} must be https (http only to localhost)`);
}
