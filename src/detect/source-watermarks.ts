import { detectionSource } from '../core/detection-source.js';
import type { IdentityChange } from '../core/identity-change.js';

/**
 * Event-time progress per source. Each source of a tenant (the Okta event
 * hook, the Okta System Log poller, Graph directoryAudits, the Office 365
 * Management Activity API, the API, SSF, …) delivers its records roughly in
 * event-time order, each with its own delay: the hook within seconds, the
 * Management Activity API 60–90 minutes late, a poller that was stopped for
 * two hours two hours late. So a source's progress is its own **watermark**:
 * the newest event time it has delivered.
 *
 * - A change is late when it is older than its own source's watermark minus
 *   the allowed lateness (it is out of order within its source by more than
 *   that), not when another, faster source has moved on.
 * - A correlation window closes (an absence rule falls due, state that can no
 *   longer match is dropped) only once every source that can contribute has
 *   passed it plus the lateness: the *low watermark* is the lowest watermark
 *   among the active sources.
 * - A source that has delivered nothing for `idleMs` of progress (event time
 *   in a replay, the clock in the server) is **idle**: it stops holding
 *   windows open. When it comes back, its records older than the low
 *   watermark minus the lateness are late; newer ones count again and it
 *   holds windows again.
 * - A source never seen is treated like an idle one.
 *
 * `progress` is what idleness is measured on: the newest event time of any
 * source in a replay, the clock in the server.
 */

/**
 * The source of a change for watermarks: the IdP and how the record reached
 * Warden (`okta/hook`, `okta/poll`, `entra/poll`, `api/api`); Office 365
 * Management Activity records, normalized as Entra changes, are `m365/poll`
 * (src/core/detection-source.ts).
 */
export function sourceOf(change: Pick<IdentityChange, 'source'>): string {
  return detectionSource(change.source.idp, change.source.via, change.source.rawType);
}

/** One source's progress. */
export interface SourceMark {
  /** The newest event time it delivered (ms). */
  at: number;
  /** The progress (see the module comment) when it last delivered a record. */
  seen: number;
}

/** The watermarks of one tenant's sources. */
export class SourceWatermarks {
  readonly #marks = new Map<string, SourceMark>();
  /** The same marks as a list: `low` runs on every record, without an iterator. */
  readonly #list: SourceMark[] = [];

  /** @param idleMs how long a source may deliver nothing and still hold windows open */
  constructor(readonly idleMs: number) {}

  /** How many sources are known. */
  get size(): number {
    return this.#marks.size;
  }

  /** Whether `source` has delivered (or was declared). */
  has(source: string): boolean {
    return this.#marks.has(source);
  }

  /** One source's progress (a copy), if known. */
  get(source: string): SourceMark | undefined {
    const m = this.#marks.get(source);
    return m && { ...m };
  }

  /** The sources known, with their progress (a copy). */
  snapshot(): Record<string, SourceMark> {
    return Object.fromEntries([...this.#marks].map(([s, m]) => [s, { ...m }]));
  }

  /** Whether `source` holds windows open at `progress`. */
  active(source: string, progress: number): boolean {
    const m = this.#marks.get(source);
    return m !== undefined && progress - m.seen <= this.idleMs;
  }

  /** Whether any known source holds windows open at `progress`. */
  anyActive(progress: number): boolean {
    for (const m of this.#list) if (progress - m.seen <= this.idleMs) return true;
    return false;
  }

  /**
   * The event time every active source has reached: the lowest watermark
   * among them, and never beyond `progress`. With no active source,
   * `progress` itself.
   */
  low(progress: number): number {
    let low = progress;
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      const m = list[i]!;
      if (progress - m.seen <= this.idleMs && m.at < low) low = m.at;
    }
    return low;
  }

  /**
   * What a record of `source` is measured against for lateness: its own
   * watermark when the source is active, else the low watermark. A change
   * older than this minus the allowed lateness is late.
   */
  reference(source: string, progress: number): number {
    const m = this.#marks.get(source);
    if (m !== undefined && progress - m.seen <= this.idleMs) return Math.min(m.at, progress);
    return this.low(progress);
  }

  /** A record of `source` at event time `at` was delivered when progress was `progress`. */
  advance(source: string, at: number, progress: number): void {
    const m = this.#marks.get(source);
    if (m === undefined) this.#add(source, { at, seen: progress });
    else {
      if (at > m.at) m.at = at;
      if (progress > m.seen) m.seen = progress;
    }
  }

  /**
   * A source expected to deliver (configured, or named by a test) that has
   * not yet: it holds windows open from the start until it delivers or goes
   * idle. No effect on a known source.
   */
  declare(source: string, progress: number): void {
    if (!this.#marks.has(source)) this.#add(source, { at: -Infinity, seen: progress });
  }

  #add(source: string, mark: SourceMark): void {
    this.#marks.set(source, mark);
    this.#list.push(mark);
  }

  /** Every known source has passed `at` (the end of a replay, "13 hours later" in a rule test). */
  passAll(at: number): void {
    for (const m of this.#marks.values()) {
      if (at > m.at) m.at = at;
      if (at > m.seen) m.seen = at;
    }
  }
}
