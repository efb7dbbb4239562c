/**
 * Detection benchmark: `warden detect replay`'s engine over 1,000,000
 * generated changes through the full shipped rule pack, against the floor any
 * replay has to pay: a raw `readline` + `JSON.parse` loop over the same file.
 *
 *   npm run bench:detect
 *   WARDEN_BENCH_CHANGES=200000 WARDEN_BENCH_ROUNDS=5 npm run bench:detect
 *
 * The workload (bench/detect-changes.ts, seeded) is written once to the
 * temporary directory and reused by later runs. Each measured run is a fresh
 * child process (so each has its own peak RSS and a clean heap), the two
 * contenders alternating, the order rotated every round; the figures are the
 * median over rounds. Timed: reading, parsing and (for the replay) classifying,
 * correlating and raising alerts, from the first byte to the last alert;
 * not timed: process start, module loading, compiling the rule pack. Peak RSS
 * is the child's maximum resident set size (module loading included in both).
 * Nothing here asserts on time; the targets (≤ 2× the loop's wall time and
 * peak RSS) are reported.
 *
 * The children (bench/detect-child.mjs) run the compiled code with plain node,
 * as `warden detect replay` ships (bin/warden.js runs dist/), and then the
 * TypeScript sources under tsx, the loop each time in the same kind of process
 * as the replay. `WARDEN_BENCH_FROM=dist|source` measures one only; the
 * compiled code is measured when dist/ is as new as the sources
 * (`npm run build`).
 */
import { fork } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWorkload } from './detect-changes.js';
import { formatRatio, machineLine, median, table } from './support.js';

const CHANGES = Number(process.env.WARDEN_BENCH_CHANGES ?? 1_000_000);
const ROUNDS = Math.max(3, Number(process.env.WARDEN_BENCH_ROUNDS ?? 3));
const SEED = 20_260_302;
const TARGET_RATIO = 2;
/** Bump when the generator changes, so an old cached file is not reused. */
const WORKLOAD_VERSION = 3;

interface RunResult {
  contender: string;
  ms: number;
  /** CPU time (user + system, all threads of the process, GC helpers included) over the same span. */
  cpuMs: number;
  records: number;
  alerts: number;
  maxRssMb: number;
  /** Resident set size when the child started (before the replay loaded its modules). */
  startRssMb: number;
  detail?: Record<string, unknown>;
}

/** How the measured children run: the compiled code with plain node (as `warden detect replay` ships), or the sources under tsx. */
type From = 'dist' | 'source';

/** Runs one contender in a child process of its own (bench/detect-child.mjs) and returns what it measured. */
function runChild(contender: 'loop' | 'replay', file: string, from: From): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./detect-child.mjs', import.meta.url)), [contender, file, from], {
      // The loop runs in the same kind of process as the replay (tsx alone holds ~30 MB).
      execArgv: from === 'dist' ? [] : ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve(m as RunResult));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${contender} exited with ${code}`))));
  });
}

/** Whether dist/ holds a build at least as new as the detection sources (`npm run build`). */
function distIsFresh(): boolean {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const built = path.join(root, 'dist', '.tsbuildinfo');
  if (!existsSync(built) || !existsSync(path.join(root, 'dist', 'src', 'detect', 'replay.js'))) return false;
  const at = statSync(built).mtimeMs;
  for (const dir of ['src/detect', 'src/core', 'src/config'])
    for (const f of readdirSync(path.join(root, dir), { recursive: true }) as string[])
      if (f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(path.join(root, dir, f)).mtimeMs > at) return false;
  return true;
}

async function main(): Promise<void> {
  const file = path.join(tmpdir(), `warden-bench-detect-v${WORKLOAD_VERSION}-${CHANGES}-${SEED}.ndjson`);
  if (!existsSync(file)) {
    process.stdout.write(`generating ${CHANGES.toLocaleString('en-US')} changes into ${file} (once; later runs reuse it)…\n`);
    const stats = await writeWorkload(`${file}.partial`, CHANGES, SEED);
    const { renameSync } = await import('node:fs');
    renameSync(`${file}.partial`, file);
    process.stdout.write(`  ${stats.changes.toLocaleString('en-US')} changes, ${stats.chains} attack chains mixed in, ${(stats.bytes / 1e6).toFixed(0)} MB\n`);
  }
  const size = statSync(file).size;
  console.log(`machine: ${machineLine()}`);
  console.log(`input:   ${file} (${(size / 1e6).toFixed(0)} MB, NDJSON, one IdentityChange per line)`);
  console.log(`rounds:  ${ROUNDS}, each contender in a fresh process, order rotated\n`);

  const wanted = process.env.WARDEN_BENCH_FROM ?? 'both';
  const fresh = distIsFresh();
  const modes: From[] = wanted === 'dist' ? ['dist'] : wanted === 'source' ? ['source'] : fresh ? ['dist', 'source'] : ['source'];
  if (modes.includes('dist') && !fresh) throw new Error('dist/ is missing or older than the sources: run `npm run build` first');
  if (wanted === 'both' && !fresh)
    console.log('dist/ is missing or older than the sources: measuring the sources only (`npm run build` to measure the compiled code too)\n');
  for (const from of modes) report(from, await measure(from, file));
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (figures from a busy machine move; compare ratios from one run)`,
  );
}

/** Rounds of both contenders run the same way, the order alternated. */
async function measure(from: From, file: string): Promise<{ loop: RunResult[]; replay: RunResult[] }> {
  console.log(from === 'dist' ? 'compiled code (dist/, plain node: as `warden detect replay` runs):' : 'TypeScript sources (node --import tsx):');
  const results = { loop: [] as RunResult[], replay: [] as RunResult[] };
  const label = { loop: 'readline + JSON.parse', replay: 'detect replay (full pack)' };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Array<'loop' | 'replay'> = round % 2 === 0 ? ['loop', 'replay'] : ['replay', 'loop'];
    for (const name of order) {
      const r = await runChild(name, file, from);
      results[name].push(r);
      console.log(
        `  round ${round + 1}: ${label[name].padEnd(26)} ${(r.ms / 1000).toFixed(2)} s  (CPU ${(r.cpuMs / 1000).toFixed(2)} s)  peak RSS ${r.maxRssMb} MB (${r.startRssMb} MB at start)  load ${os.loadavg()[0]!.toFixed(1)}`,
      );
    }
  }
  return results;
}

function report(from: From, { loop: base, replay: cand }: { loop: RunResult[]; replay: RunResult[] }): void {
  const baseMs = median(base.map((r) => r.ms));
  const candMs = median(cand.map((r) => r.ms));
  const ratio = candMs / baseMs;
  const baseCpu = median(base.map((r) => r.cpuMs));
  const candCpu = median(cand.map((r) => r.cpuMs));
  const baseRss = Math.max(...base.map((r) => r.maxRssMb));
  const candRss = Math.max(...cand.map((r) => r.maxRssMb));
  const row = (name: string, rs: RunResult[], ms: number, cpu: number, rss: number) => [
    name,
    `${(ms / 1000).toFixed(2)} s`,
    `${((ms * 1000) / rs[0]!.records).toFixed(2)} µs`,
    Math.round((rs[0]!.records / ms) * 1000).toLocaleString('en-US'),
    `${(cpu / 1000).toFixed(2)} s`,
    `${rss} MB`,
  ];
  console.log('');
  console.log(
    table(
      ['contender', 'median time', 'per record', 'records/s', 'median CPU', 'peak RSS (max)'],
      [row('readline + JSON.parse', base, baseMs, baseCpu, baseRss), row('detect replay (full pack)', cand, candMs, candCpu, candRss)],
    ),
  );
  const detail = cand[0]!.detail as { rules: number; stats: Record<string, number>; byRule: Record<string, number>; pendingAbsences: number };
  console.log(
    `\nreplay: ${detail.rules} rules, ${cand[0]!.alerts.toLocaleString('en-US')} alerts from ${Object.values(detail.byRule)
      .reduce((a, b) => a + b, 0)
      .toLocaleString('en-US')} matches; ${JSON.stringify(detail.stats)}; ${detail.pendingAbsences} absence checks open at the end`,
  );
  console.log(
    `matches by rule: ${Object.entries(detail.byRule)
      .sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `${r} ${n}`)
      .join(', ')}`,
  );
  const rssRatio = candRss / baseRss;
  console.log(
    `\n${from}: ratio replay / loop: ${formatRatio(ratio)} wall clock (target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}); ${formatRatio(candCpu / baseCpu)} CPU time; ${formatRatio(rssRatio)} peak RSS (target ≤ ${TARGET_RATIO}×: ${rssRatio <= TARGET_RATIO ? 'met' : 'NOT met'})\n`,
  );
}

await main();
