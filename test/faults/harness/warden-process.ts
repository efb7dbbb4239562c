import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './deadline.js';

/** The repository root (test/faults/harness → ../../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Whether to run the built `dist/` (what `npm ci` builds through `prepare`,
 * and what `.ci/run` asks for with WARDEN_FAULTS_DIST=1) or the TypeScript
 * sources through tsx (the default: a stale dist/ cannot fool a local run).
 */
export function useDist(): boolean {
  return process.env.WARDEN_FAULTS_DIST === '1';
}

/** How long a `warden serve` may take to answer /readyz (a PGlite start on a busy 2-core machine takes tens of seconds). */
export const START_TIMEOUT_MS = 150_000;

const children = new Set<ChildProcess>();

/** SIGKILLs every child the suite started that is still running (exit handler). */
export function killAllChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.once('exit', killAllChildren);

/** Starts `node bin/warden.js <args>`; stdout and stderr go to `logFile`. The child is tracked and killed on exit. */
export function spawnWardenCli(args: string[], options: { env: NodeJS.ProcessEnv; logFile: string; cwd?: string }): ChildProcess {
  const dist = useDist();
  if (dist && !existsSync(path.join(ROOT, 'dist/src/app/bin.js'))) throw new Error('WARDEN_FAULTS_DIST=1 but dist/ is not built: run `npm run build`');
  const nodeArgs = dist ? [path.join(ROOT, 'bin/warden.js'), ...args] : ['--import', 'tsx', path.join(ROOT, 'bin/warden.js'), ...args];
  const child = spawn(process.execPath, nodeArgs, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env, ...(dist ? {} : { WARDEN_FROM_SOURCE: '1' }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  children.add(child);
  child.once('exit', () => {
    children.delete(child);
    log.end();
  });
  return child;
}

/** Runs a `warden` command to completion (bounded) and returns its exit code, standard output and both streams together. */
export async function runWardenCli(
  args: string[],
  options: { env: NodeJS.ProcessEnv; logFile: string; timeoutMs?: number },
): Promise<{ code: number | null; out: string; stdout: string }> {
  const child = spawnWardenCli(args, options);
  let out = '';
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timeout);
  return { code, out, stdout };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One `warden serve` process. */
export class WardenProcess {
  readonly url: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly configFile: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts the server (with `env` on top of the process's) and waits (bounded) until `/readyz` answers 200. */
  async start(timeoutMs = START_TIMEOUT_MS, env: NodeJS.ProcessEnv = {}): Promise<this> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const child = spawnWardenCli(['serve', '--config', this.configFile, '--port', String(this.port)], { env: { ...this.env, ...env }, logFile: this.logFile });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitUntil(
      `${this.name} to answer /readyz 200 on ${this.url} (log ${this.logFile})`,
      timeoutMs,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${this.name} exited with ${child.exitCode ?? child.signalCode} while starting (log ${this.logFile})`);
        const res = await fetch(`${this.url}/readyz`);
        await res.arrayBuffer();
        return res.status === 200;
      },
      { intervalMs: 200 },
    );
    return this;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** kill -9: no shutdown code runs. Resolves when the process is gone. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.#child!.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM (the graceful stop), SIGKILL if it is not gone within `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.#child!.kill('SIGTERM');
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
