/**
 * Embedded store start: the peak resident memory of a process that opens a NEW PGlite data directory,
 * with and without the first start in a child process (src/store/pglite-init.ts), against a process
 * that opens an EXISTING directory (the floor: what a restart costs).
 *
 *   npm run bench:store-start
 *   WARDEN_BENCH_ROUNDS=3 WARDEN_BENCH_FROM=source npm run bench:store-start
 *
 * Each measurement is a fresh process (this file, forked with `measure <mode> <dir>`) that opens the
 * store as `warden serve` does (`openPgliteStore`, durability full, `initInChild` as `openStore` sets it),
 * and reports its peak RSS (maxRSS), its RSS after the open and after a full GC, and the time to open.
 * Modes:
 *   - `in-process`: a new directory, initdb and the migrations in the process itself (before this change);
 *   - `child`: a new directory, initdb and the migrations in a short-lived child (what `openStore` does now);
 *   - `reopen`: the directory `child` made, opened again by a new process (the floor).
 * The peak of the short-lived child itself is not counted: it has exited when the server runs.
 * Nothing is asserted; the ratio in-process / child peak RSS is printed.
 * The measured processes load the compiled dist/ when it exists (`npm run build`; what `npm start`
 * runs), else the sources; WARDEN_BENCH_FROM=dist|source chooses. All of them run under tsx (this
 * file is TypeScript); that costs every mode the same few tens of MB.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, median, table } from './support.js';

type Mode = 'in-process' | 'child' | 'reopen';
interface Measured {
  mode: Mode;
  openMs: number;
  peakRssMb: number;
  rssAfterOpenMb: number;
  rssAfterGcMb: number;
  startRssMb: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MB = 1024 * 1024;

async function measure(mode: Mode, dataDir: string, from: 'dist' | 'source'): Promise<void> {
  const startRssMb = process.memoryUsage().rss / MB;
  const modulePath = from === 'dist' ? path.join(ROOT, 'dist/src/store/pglite-store.js') : path.join(ROOT, 'src/store/pglite-store.ts');
  const { openPgliteStore } = (await import(modulePath)) as typeof import('../src/store/pglite-store.js');
  const t0 = performance.now();
  const store = await openPgliteStore({ dataDir, durability: 'full', command: 'bench', initInChild: mode !== 'in-process' });
  const openMs = performance.now() - t0;
  const rssAfterOpenMb = process.memoryUsage().rss / MB;
  (globalThis as { gc?: () => void }).gc?.();
  const rssAfterGcMb = process.memoryUsage().rss / MB;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  await store.close();
  const result: Measured = { mode, openMs, peakRssMb, rssAfterOpenMb, rssAfterGcMb, startRssMb };
  process.send?.(result);
}

function run(mode: Mode, dataDir: string, from: 'dist' | 'source'): Promise<Measured> {
  return new Promise((resolve, reject) => {
    let result: Measured | undefined;
    const child = fork(fileURLToPath(import.meta.url), ['measure', mode, dataDir, from], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (m) => {
      result = m as Measured;
    });
    child.once('error', reject);
    child.once('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`${mode} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const rounds = Math.max(1, Number(process.env.WARDEN_BENCH_ROUNDS ?? 2));
  const from = (process.env.WARDEN_BENCH_FROM ?? (existsSync(path.join(ROOT, 'dist/src/store/pglite-init-child.js')) ? 'dist' : 'source')) as 'dist' | 'source';
  process.stdout.write(`${machineLine()}\nembedded store start, durability full, ${rounds} round(s), measured processes on ${from}\n`);
  const results: Measured[] = [];
  for (let r = 0; r < rounds; r++) {
    const base = mkdtempSync(path.join(tmpdir(), 'warden-bench-store-start-'));
    try {
      // Alternate which fresh open goes first, so neither always runs on a warmer page cache.
      const fresh: Mode[] = r % 2 === 0 ? ['in-process', 'child'] : ['child', 'in-process'];
      for (const mode of fresh) results.push(await run(mode, path.join(base, mode), from));
      results.push(await run('reopen', path.join(base, 'child'), from));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
    const last = results.slice(-3);
    process.stdout.write(`round ${r + 1}: ${last.map((m) => `${m.mode} ${m.peakRssMb.toFixed(0)} MB peak, ${(m.openMs / 1000).toFixed(1)} s`).join('; ')}\n`);
  }
  const of = (mode: Mode, key: keyof Omit<Measured, 'mode'>) => median(results.filter((m) => m.mode === mode).map((m) => m[key]));
  const modes: Mode[] = ['in-process', 'child', 'reopen'];
  process.stdout.write(
    `${table(
      ['mode (median)', 'open', 'peak RSS', 'RSS after open', 'after GC', 'RSS at start'],
      modes.map((m) => [
        m,
        `${(of(m, 'openMs') / 1000).toFixed(2)} s`,
        `${of(m, 'peakRssMb').toFixed(0)} MB`,
        `${of(m, 'rssAfterOpenMb').toFixed(0)} MB`,
        `${of(m, 'rssAfterGcMb').toFixed(0)} MB`,
        `${of(m, 'startRssMb').toFixed(0)} MB`,
      ]),
    )}\n`,
  );
  const ratio = of('in-process', 'peakRssMb') / of('child', 'peakRssMb');
  process.stdout.write(
    `store start peak RSS: in-process ${of('in-process', 'peakRssMb').toFixed(0)} MB, child ${of('child', 'peakRssMb').toFixed(0)} MB, reopen ${of('reopen', 'peakRssMb').toFixed(0)} MB (in-process / child ${ratio.toFixed(2)}x)\n`,
  );
}

if (process.argv[2] === 'measure') await measure(process.argv[3] as Mode, process.argv[4] as string, process.argv[5] as 'dist' | 'source');
else await main();
