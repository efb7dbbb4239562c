/**
 * Runs `step` again and again: at once when woken, otherwise every `idleMs`,
 * and straight away while a step reports it did work (a backlog drains
 * without waiting). One step at a time; `stop` waits for the running step.
 */
export class BackgroundLoop {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #again = false;

  constructor(
    private readonly step: () => Promise<number>,
    private readonly idleMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.wake();
  }

  /** Runs a step soon (now, or right after the one running). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#run();
  }

  async #run(): Promise<void> {
    let busy = 0;
    try {
      busy = await this.step();
    } catch (err) {
      this.onError(err);
    }
    this.#running = undefined;
    if (this.#stopped) return;
    if (busy > 0 || this.#again) {
      this.#again = false;
      setImmediate(() => this.wake());
    } else this.#timer = setTimeout(() => this.wake(), this.idleMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}

/**
 * A worker that handles one batch per loop step (the inbox, the outbox, the
 * webhook queue): `start`, `wake` and `stop` run its `runOnce` through a
 * `BackgroundLoop`.
 */
export abstract class BatchWorker {
  readonly #loop: BackgroundLoop;

  constructor(idleMs: number, onError: (err: unknown) => void) {
    this.#loop = new BackgroundLoop(() => this.runOnce(), idleMs, onError);
  }

  /** Claims and handles one batch; returns how many items it took. */
  abstract runOnce(): Promise<number>;

  start(): void {
    this.#loop.start();
  }

  /** Work is waiting: run a batch now rather than at the next tick. */
  wake(): void {
    this.#loop.wake();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
