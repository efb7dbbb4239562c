import { WardenError } from '../../../src/core/errors.js';
/**
 * Test switches that make the Okta simulator misbehave the way a real org
 * can, on any endpoint (the Management API and `/oauth2/v1/token`):
 *
 * ```ts
 * sim.faults.inject({ status: 503, count: 5 });                          // the next 5 requests answer 503
 * sim.faults.inject({ status: 500, count: 2, path: /lifecycle\/suspend$/ }); // only matching paths
 * sim.faults.inject({ status: 429, count: 3, resetSeconds: 30 });        // concurrency-style 429s
 * sim.faults.hangUp({ path: /^\/api\/v1\/logs$/ });                   // close the next matching connection unanswered
 * const stall = sim.faults.stall({ path: /reset_factors$/ });            // hold the next matching call
 * await stall.arrived; … stall.release();                                // then handle it normally
 * sim.faults.clear();
 * ```
 *
 * A faulted request is answered without being performed (nothing changes in
 * the org, nothing is logged), so a client that retries it after a 5xx makes
 * the change once. A 429 carries `x-rate-limit-limit: 0`,
 * `x-rate-limit-remaining: 0` and `x-rate-limit-reset` (Okta's concurrency
 * 429, research okta.md §6); a 500 carries Okta's JSON error `E0000009`;
 * other 5xx a plain-text body, as a load balancer in front of Okta answers.
 * Rules apply in the order they were added; each counts down its own `count`.
 */

/** One injected answer. */
export interface FaultRule {
  /** HTTP status to answer: 429 or 5xx. */
  status: number;
  /** How many matching requests get it (then the rule is spent). Default 1. */
  count?: number;
  /** Only requests whose path matches. Default: every path. */
  path?: RegExp;
  /** Only this method. Default: every method. */
  method?: string;
  /** For 429: seconds from the simulator's clock to `x-rate-limit-reset`. Default: the end of the current minute. */
  resetSeconds?: number;
}

/** A call held by `stall` until released. */
export interface StalledCall {
  /** Resolves when a matching request has arrived and is being held. */
  readonly arrived: Promise<{ method: string; path: string }>;
  /** Lets the held request go on (it is then handled normally). */
  release(): void;
}

interface ActiveRule extends Required<Pick<FaultRule, 'status' | 'count'>> {
  path?: RegExp;
  method?: string;
  resetSeconds?: number;
}

interface ActiveStall {
  path?: RegExp;
  method?: string;
  count: number;
  arrive: (call: { method: string; path: string }) => void;
  release: () => void;
  gate: Promise<void>;
}

/** The fault switches of one simulator. */
export class SimulatorFaults {
  readonly #rules: ActiveRule[] = [];
  readonly #stalls: ActiveStall[] = [];
  readonly #hangUps: Array<{ path?: RegExp; method?: string; count: number }> = [];
  /** How many requests were answered by an injected fault. */
  injected = 0;

  /** Answer the next `count` matching requests with `status` instead of handling them. */
  inject(rule: FaultRule): void {
    if (rule.status !== 429 && (rule.status < 500 || rule.status > 599))
      throw new WardenError('ERR_VALIDATION', `inject: status ${rule.status} is not 429 or 5xx`);
    this.#rules.push({ count: 1, ...rule });
  }

  /** Hold the next `count` (default 1) matching requests until `release()`. */
  stall(match: { path?: RegExp; method?: string; count?: number } = {}): StalledCall {
    let arrive!: (call: { method: string; path: string }) => void;
    let release!: () => void;
    const arrived = new Promise<{ method: string; path: string }>((resolve) => (arrive = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.#stalls.push({ ...match, count: match.count ?? 1, arrive, release, gate });
    return { arrived, release };
  }

  /**
   * Close the connection of the next `count` (default 1) matching requests
   * without answering (the client sees `socket hang up` / `ECONNRESET`, as
   * when it writes to a kept-alive socket the server has just closed).
   */
  hangUp(match: { path?: RegExp; method?: string; count?: number } = {}): void {
    this.#hangUps.push({ ...match, count: match.count ?? 1 });
  }

  /** Whether this request's connection is to be closed unanswered (and counts it down). */
  takeHangUp(method: string, path: string): boolean {
    const rule = this.#hangUps.find((r) => r.count > 0 && (!r.method || r.method === method) && (!r.path || r.path.test(path)));
    if (!rule) return false;
    rule.count--;
    this.injected++;
    return true;
  }

  /** Removes every rule and releases every stalled call. */
  clear(): void {
    this.#rules.length = 0;
    this.#hangUps.length = 0;
    for (const stall of this.#stalls.splice(0)) stall.release();
  }

  /** Rules not yet spent. */
  get pending(): number {
    return this.#rules.reduce((n, r) => n + r.count, 0);
  }

  /** The fault for this request, if one applies (and counts it down). */
  take(method: string, path: string): ActiveRule | undefined {
    for (const rule of this.#rules) {
      if (rule.count <= 0 || (rule.method && rule.method !== method) || (rule.path && !rule.path.test(path))) continue;
      rule.count--;
      this.injected++;
      return rule;
    }
    return undefined;
  }

  /** Waits while a stall holds this request. */
  async hold(method: string, path: string): Promise<void> {
    const stall = this.#stalls.find((s) => s.count > 0 && (!s.method || s.method === method) && (!s.path || s.path.test(path)));
    if (!stall) return;
    stall.count--;
    stall.arrive({ method, path });
    await stall.gate;
  }
}
