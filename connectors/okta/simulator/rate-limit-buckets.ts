/**
 * Okta's per-minute rate-limit buckets, as the simulator keeps them: each
 * request counts against the bucket of its endpoint family, org-wide, in a
 * window of one minute on the simulator's clock; the answer carries
 * `x-rate-limit-limit` (the bucket's ceiling), `x-rate-limit-remaining` and
 * `x-rate-limit-reset` (UTC epoch seconds when the window ends), and a
 * request over the ceiling gets 429 `E0000047`.
 *
 * The ceilings are the last published Workforce defaults (research okta.md
 * §6, `DD-RL docs/reference/rl-global-mgmt`). Not modelled: the 50 % share
 * per API token or OAuth app, concurrency limits, burst allowances.
 */

/** The endpoint families the simulator limits. */
export type OktaBucket = 'users' | 'user-write' | 'user-get' | 'logs' | 'api';

/** Workforce per-minute defaults (research okta.md §6). */
export const OKTA_BUCKET_LIMITS: Readonly<Record<OktaBucket, number>> = Object.freeze({
  /** `GET`/`POST /api/v1/users` (list, create). */
  users: 600,
  /** `POST`/`PUT`/`DELETE /api/v1/users/{id}`. */
  'user-write': 600,
  /** `GET /api/v1/users/{idOrLogin}`. */
  'user-get': 2000,
  /** `/api/v1/logs`. */
  logs: 120,
  /** Every other `/api/v1` path: factors, lifecycle, sessions, groups, event hooks, … */
  api: 1200,
});

/** The bucket a Management API request counts against, or undefined for paths outside `/api/v1`. */
export function bucketOf(method: string, path: string): OktaBucket | undefined {
  if (!path.startsWith('/api/v1/')) return undefined;
  if (path === '/api/v1/logs') return 'logs';
  if (path === '/api/v1/users') return method === 'GET' || method === 'POST' ? 'users' : 'api';
  if (/^\/api\/v1\/users\/[^/]+$/.test(path)) return method === 'GET' ? 'user-get' : 'user-write';
  return 'api';
}

/** What a bucket says about one request. */
export interface BucketAnswer {
  bucket: OktaBucket;
  limit: number;
  remaining: number;
  /** Epoch seconds at which the window ends. */
  reset: number;
  /** Over the ceiling: answer 429. */
  exceeded: boolean;
}

/** The counters of every bucket, in one-minute windows of the simulator's clock. */
export class RateLimitBuckets {
  readonly limits: Record<OktaBucket, number>;
  readonly #windows = new Map<OktaBucket, { start: number; count: number }>();

  constructor(limits: Partial<Record<OktaBucket, number>> = {}) {
    this.limits = { ...OKTA_BUCKET_LIMITS, ...limits };
  }

  /** Counts one request against `bucket` at `now` (ms). */
  take(bucket: OktaBucket, now: number): BucketAnswer {
    const start = Math.floor(now / 60_000) * 60_000;
    let window = this.#windows.get(bucket);
    if (!window || window.start !== start) {
      window = { start, count: 0 };
      this.#windows.set(bucket, window);
    }
    window.count++;
    const limit = this.limits[bucket];
    return { bucket, limit, remaining: Math.max(0, limit - window.count), reset: Math.ceil((start + 60_000) / 1000), exceeded: window.count > limit };
  }

  /** Requests counted in the current window of `bucket` at `now`. */
  used(bucket: OktaBucket, now: number): number {
    const window = this.#windows.get(bucket);
    return window && window.start === Math.floor(now / 60_000) * 60_000 ? window.count : 0;
  }
}
