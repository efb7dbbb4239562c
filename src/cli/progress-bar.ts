import { systemClock, type Clock } from '../core/clock.js';

/**
 * A one-line progress bar on a terminal: `[#####.....] 48%  12.1/25.0 MB  501,222 records  3 alerts`,
 * redrawn at most every 100 ms and cleared when done. Writes nothing anywhere but the stream given.
 */
export class ProgressBar {
  #last = 0;
  #drawn = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly total: number,
    private readonly width = 30,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Redraws (throttled) with `done` of `total` and a free-form tail. */
  update(done: number, tail: string, force = false): void {
    const now = this.clock().getTime();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(fraction * this.width);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    this.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${mb(done)}/${mb(this.total)} MB  ${tail}\u001b[K`,
    );
    this.#drawn = true;
  }

  /** Clears the line (before other output); the next update draws it again. */
  clear(): void {
    if (this.#drawn) this.write('\r\u001b[K');
    this.#drawn = false;
    this.#last = 0;
  }

  /** Clears the line for good. */
  done(): void {
    this.clear();
  }
}
