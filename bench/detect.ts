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
 * Nothing here asserts on time; the target (≤ 2× the loop) is reported.
 */
import { fork } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
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
  detail?: Record<string, unknown>;
}

const cpuSince = (start: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
};

async function baseline(file: string): Promise<Omit<RunResult, 'contender' | 'maxRssMb'>> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  let records = 0;
  for await (const line of readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line.length === 0) continue;
    JSON.parse(line);
    records++;
  }
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: cpuSince(cpu), records, alerts: 0 };
}

async function replay(file: string): Promise<Omit<RunResult, 'contender' | 'maxRssMb'>> {
  const { compileRulePack } = await import('../src/detect/compile-rule-pack.js');
  const { shippedRuleSources } = await import('../src/detect/rule-sources.js');
  const { replayFiles } = await import('../src/detect/replay.js');
  const { DEFAULT_SETTINGS } = await import('../src/detect/detection-registry.js');
  const pack = compileRulePack(shippedRuleSources());
  const byRule: Record<string, number> = {};
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  // As `warden detect replay` does: alerts are handed over as they become final (here counted, there printed).
  const report = await replayFiles([file], {
    tenant: 'bench',
    pack,
    identities: { domains: {}, aliases: {} },
    latenessMs: DEFAULT_SETTINGS.latenessMs,
    groupForMs: DEFAULT_SETTINGS.groupForMs,
    normalizers: [],
    onAlert: (a) => {
      for (const m of a.matches) byRule[m.rule] = (byRule[m.rule] ?? 0) + 1;
    },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return {
    ms,
    cpuMs: cpuSince(cpu),
    records: report.records,
    alerts: report.alertCount,
    detail: { rules: pack.rules.length, stats: report.stats, byRule, pendingAbsences: report.pendingAbsences },
  };
}

/** Runs one contender in a child process and returns what it measured. */
function runChild(contender: string, file: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', contender, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as RunResult));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${contender} exited with ${code}`))));
  });
}

async function child(contender: string, file: string): Promise<void> {
  const result = contender === 'replay' ? await replay(file) : await baseline(file);
  const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  process.send!({ contender, maxRssMb, ...result } satisfies RunResult, () => process.exit(0));
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

  const results: Record<string, RunResult[]> = { 'readline + JSON.parse': [], 'detect replay (full pack)': [] };
  const contenders = [
    ['readline + JSON.parse', 'baseline'],
    ['detect replay (full pack)', 'replay'],
  ] as const;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const [label, name] of order) {
      const r = await runChild(name, file);
      results[label]!.push(r);
      console.log(`  round ${round + 1}: ${label.padEnd(26)} ${(r.ms / 1000).toFixed(2)} s  (CPU ${(r.cpuMs / 1000).toFixed(2)} s)  peak RSS ${r.maxRssMb} MB`);
    }
  }
  const base = results['readline + JSON.parse']!;
  const cand = results['detect replay (full pack)']!;
  const baseMs = median(base.map((r) => r.ms));
  const candMs = median(cand.map((r) => r.ms));
  const ratio = candMs / baseMs;
  const baseCpu = median(base.map((r) => r.cpuMs));
  const candCpu = median(cand.map((r) => r.cpuMs));
  console.log('');
  console.log(
    table(
      ['contender', 'median time', 'per record', 'records/s', 'median CPU', 'peak RSS (max)'],
      [
        [
          'readline + JSON.parse',
          `${(baseMs / 1000).toFixed(2)} s`,
          `${((baseMs * 1000) / base[0]!.records).toFixed(2)} µs`,
          Math.round((base[0]!.records / baseMs) * 1000).toLocaleString('en-US'),
          `${(baseCpu / 1000).toFixed(2)} s`,
          `${Math.max(...base.map((r) => r.maxRssMb))} MB`,
        ],
        [
          'detect replay (full pack)',
          `${(candMs / 1000).toFixed(2)} s`,
          `${((candMs * 1000) / cand[0]!.records).toFixed(2)} µs`,
          Math.round((cand[0]!.records / candMs) * 1000).toLocaleString('en-US'),
          `${(candCpu / 1000).toFixed(2)} s`,
          `${Math.max(...cand.map((r) => r.maxRssMb))} MB`,
        ],
      ],
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
  console.log(
    `\nratio replay / loop: ${formatRatio(ratio)} wall clock (target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}); ${formatRatio(candCpu / baseCpu)} CPU time`,
  );
  console.log(
    `load average during the run: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (figures from a busy machine move; compare ratios from one run)`,
  );
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!);
else await main();
