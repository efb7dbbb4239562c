/**
 * Bounded waiting for the fault suite: every wait has a deadline and fails
 * with a message saying what it waited for. No sleeps that hope.
 */

/** Thrown when a fault-suite wait runs past its deadline. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** Resolves after `ms` (used only as the poll interval of `waitUntil`). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Polls `check` until it returns a value other than `undefined`/`false`, or
 * throws `DeadlineError` after `timeoutMs` with `what` and the last state
 * `describe` gives.
 */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { intervalMs?: number; describe?: () => string | Promise<string> } = {},
): Promise<T> {
  const started = performance.now();
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (performance.now() - started > timeoutMs) {
      const state = options.describe ? await Promise.resolve(options.describe()).catch((e: unknown) => `(state unavailable: ${String(e)})`) : '';
      throw new DeadlineError(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${state ? `: ${state}` : ''}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    }
    await pause(options.intervalMs ?? 250);
  }
}

/** Races `promise` against a deadline. */
export async function within<T>(what: string, timeoutMs: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new DeadlineError(`timed out after ${Math.round(timeoutMs / 1000)} s: ${what}`)), timeoutMs)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
