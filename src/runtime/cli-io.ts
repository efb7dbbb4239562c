/** Where a CLI command writes: stdout and stderr, or a test's buffers. */
export interface CliIo {
  /** Standard output; may return a promise when the stream wants the caller to wait (back-pressure). */
  out(text: string): void | Promise<void>;
  err(text: string): void;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    out: (text) => (process.stdout.write(text) ? undefined : new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()))),
    err: (text) => void process.stderr.write(text),
  };
}

/** Exit codes: 0 success; 1 what was checked failed; 2 bad usage or configuration. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
