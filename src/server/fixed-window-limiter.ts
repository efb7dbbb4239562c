/**
 * A fixed-window counter per key (an address, a link), in memory: at most
 * `limit` hits per `windowMs`. For pages that anyone with a link can reach,
 * where a few replicas each keeping their own count is good enough. Time comes
 * from the injected clock.
 */
export class FixedWindowLimiter {
  readonly #hits = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => Date,
  ) {}

  /** Counts a hit for `key`; false when the key is over its limit in this window. */
  take(key: string): boolean {
    const now = this.clock().getTime();
    const entry = this.#hits.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      if (this.#hits.size > 10_000) for (const [k, v] of this.#hits) if (now - v.start >= this.windowMs) this.#hits.delete(k);
      this.#hits.set(key, { start: now, count: 1 });
      return true;
    }
    entry.count++;
    return entry.count <= this.limit;
  }
}
