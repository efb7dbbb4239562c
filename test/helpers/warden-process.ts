import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

/**
 * How the tests run `warden` as a process of its own: the compiled dist/
 * (what `npm ci` builds and what ships), not the TypeScript sources through
 * tsx. A `warden` process under tsx spends two to three seconds of CPU more
 * than the same process on dist/ (tsx resolves and loads every source file
 * of the app), and the suite starts about fifteen of them.
 *
 * A stale dist/ must not fool a local run: before the first test of a file
 * that calls useWardenProcess(), a beforeAll checks that no source (src/,
 * connectors/, the tsconfig files, package.json) is newer than the last
 * build, and rebuilds dist/ when one is (`tsc -p tsconfig.build.json
 * --noCheck`: the type check is the first step of `npm test`). Workers that
 * need it at the same time wait for one build.
 * WARDEN_TEST_FROM_SOURCE=1 runs the sources through tsx instead, as before.
 */
const ROOT = packageRoot();
const DIST = path.join(ROOT, 'dist');
/** Written when a build the tests started succeeds; its modification time is when that build began. */
const STAMP = path.join(DIST, '.built-for-tests');
const LOCK = path.join(DIST, '.build-for-tests.lock');

/** The `warden` entry point (bin/warden.js), which runs dist/ unless WARDEN_FROM_SOURCE=1. */
export const WARDEN_BIN = path.join(ROOT, 'bin', 'warden.js');

const fromSource = process.env.WARDEN_TEST_FROM_SOURCE === '1';
/** A cold build takes tens of seconds of CPU; on a busy 2-core machine minutes. Only a guard against a hung build. */
const BUILD_TIMEOUT_MS = 600_000;
let built: Promise<void> | undefined;
let ready = false;

/**
 * Call at the top of a test file that runs `warden` as a process: a `beforeAll` makes dist/ current (builds it
 * if a source is newer), outside any test's own time limit.
 */
export function useWardenProcess(): void {
  beforeAll(async () => {
    await (built ??= ensureBuilt());
    ready = true;
  }, BUILD_TIMEOUT_MS);
}

function assertReady(): void {
  if (!ready && !fromSource) throw new Error('call useWardenProcess() at the top of the test file before starting warden as a process');
}

/** Node's arguments to run `warden <args>` (bin/warden.js on dist/). */
export function wardenNodeArgs(...args: string[]): string[] {
  assertReady();
  return fromSource ? ['--import', import.meta.resolve('tsx'), WARDEN_BIN, ...args] : [WARDEN_BIN, ...args];
}

/**
 * The environment a `warden` process (node bin/warden.js, the ./warden script, `npm start`'s command) needs
 * on top of the test's own. Spread it after process.env.
 */
export function wardenEnv(): Record<string, string> {
  assertReady();
  if (fromSource) return { WARDEN_FROM_SOURCE: '1', NODE_OPTIONS: `--import ${import.meta.resolve('tsx')}` };
  // A runner started with WARDEN_FROM_SOURCE=1 (as `npm run docs:config` is) must not pass it on.
  return { WARDEN_FROM_SOURCE: '' };
}

/** The newest modification time of a file the build compiles or reads its settings from. */
function newestSource(): number {
  let newest = 0;
  const skip = (rel: string) => rel.endsWith('.test.ts') || /^connectors\/[^/]+\/test\//.test(rel);
  const walk = (rel: string) => {
    const abs = path.join(ROOT, rel);
    const st = statSync(abs);
    if (st.isDirectory()) {
      for (const entry of readdirSync(abs)) walk(`${rel}/${entry}`);
    } else if (!skip(rel)) newest = Math.max(newest, st.mtimeMs);
  };
  walk('src');
  walk('connectors');
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) newest = Math.max(newest, statSync(path.join(ROOT, f)).mtimeMs);
  return newest;
}

function mtime(file: string): number {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

/** dist/ holds a build at least as new as every source: the tests' own build, or `npm run build` (npm ci's prepare). */
function current(): boolean {
  if (!existsSync(path.join(DIST, 'src', 'app', 'bin.js')) || !existsSync(path.join(DIST, 'connectors', 'index.js'))) return false;
  return Math.max(mtime(STAMP), mtime(path.join(DIST, '.tsbuildinfo'))) >= newestSource();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Builds dist/ if a source is newer than it; one build at a time across workers and runs (a lock directory). */
async function ensureBuilt(): Promise<void> {
  if (fromSource) return;
  mkdirSync(DIST, { recursive: true });
  while (!current()) {
    try {
      mkdirSync(LOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Another worker builds: wait for it, unless it died holding the lock.
      const owner = Number(existsSync(path.join(LOCK, 'pid')) ? readFileSync(path.join(LOCK, 'pid'), 'utf8') : 'NaN');
      if (Number.isInteger(owner) && !alive(owner)) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    try {
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      if (current()) break;
      // The stamp's time is taken before the build, so a source saved while tsc runs makes the next check rebuild.
      writeFileSync(`${STAMP}.next`, '');
      const tsc = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--noCheck'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      tsc.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
      tsc.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
      const code = await new Promise<number | null>((resolve) => tsc.once('close', resolve));
      if (code !== 0) throw new Error(`building dist/ for the tests that run warden as a process failed (tsc exit ${code}):\n${output}`);
      renameSync(`${STAMP}.next`, STAMP);
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}
