/**
 * The fault suite's one clock: the simulators read it, and every Warden
 * process the suite starts begins at its current instant
 * (`WARDEN_CLOCK_START`, the test-only process clock). It ticks at the real
 * rate and can jump forward, as time passes while Warden is down: a
 * restarted process then finds the leases of the crashed one expired, as it
 * would after that much real time.
 */
export class SuiteClock {
  #startMs: number;
  #origin = performance.now();
  #jumpedMs = 0;

  constructor(start: Date = new Date()) {
    this.#startMs = start.getTime();
  }

  /** The current simulated instant. */
  readonly now = (): Date => new Date(this.#startMs + this.#jumpedMs + Math.round(performance.now() - this.#origin));

  /** The simulated instant of a `performance.now()` reading taken since the last jump (e.g. a proxy's request times). */
  at(perfMs: number): Date {
    return new Date(this.#startMs + this.#jumpedMs + Math.round(perfMs - this.#origin));
  }

  /** Moves the clock forward by `ms` (affects processes started afterwards). */
  jump(ms: number): void {
    this.#jumpedMs += ms;
  }

  /** Environment for a Warden process starting now on this clock. */
  env(): NodeJS.ProcessEnv {
    return { WARDEN_CLOCK_START: this.now().toISOString() };
  }
}
