import { ActionError } from '../../src/connector/index.js';

/**
 * Errors of Okta API calls (the SDK's `OktaApiError` and `HttpError` carry
 * `status` and the response `headers`), turned into what the outbox needs.
 *
 * Rate limits: https://developer.okta.com/docs/reference/rl2-monitor/
 */

interface HeadersLike {
  get(name: string): string | null;
}

/** The HTTP status of a failed Okta call, if it was an HTTP failure. */
export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown })?.status;
  return typeof status === 'number' ? status : typeof status === 'string' && /^\d{3}$/.test(status) ? Number(status) : undefined;
}

function header(err: unknown, name: string): string | undefined {
  const headers = (err as { headers?: HeadersLike | Record<string, string> })?.headers;
  if (!headers) return undefined;
  if (typeof (headers as HeadersLike).get === 'function') return (headers as HeadersLike).get(name) ?? undefined;
  return (headers as Record<string, string>)[name] ?? (headers as Record<string, string>)[name.toLowerCase()];
}

/**
 * How long to wait after a 429: `X-Rate-Limit-Reset` (epoch seconds) minus
 * the response `Date` (or now), plus a second — what Okta documents.
 */
export function rateLimitWaitMs(resetHeader: string | undefined | null, dateHeader: string | undefined | null, now: Date): number | undefined {
  const reset = Number(resetHeader);
  if (!resetHeader || !Number.isFinite(reset)) return undefined;
  const date = dateHeader ? Date.parse(dateHeader) : NaN;
  const base = Number.isNaN(date) ? now.getTime() : date;
  return Math.max(1000, reset * 1000 - base + 1000);
}

/**
 * Classifies a failed call for the outbox: 429 and 5xx (and network
 * failures) are retried — after `X-Rate-Limit-Reset` for 429s; other 4xx are
 * permanent (Okta refused: permissions, a user in the wrong state).
 */
export function toActionError(err: unknown, what: string, now: Date): ActionError {
  const status = httpStatusOf(err);
  const summary = (err as { errorSummary?: string }).errorSummary ?? (err as Error).message ?? String(err);
  const message = `${what}: ${status ? `HTTP ${status} ` : ''}${summary}`.slice(0, 500);
  if (status === 429) {
    const wait = rateLimitWaitMs(header(err, 'x-rate-limit-reset'), header(err, 'date'), now);
    return new ActionError(message, { cause: err, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (status !== undefined && status >= 400 && status < 500) return new ActionError(message, { permanent: true, cause: err });
  return new ActionError(message, { cause: err });
}
