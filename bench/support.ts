import net from 'node:net';
import os from 'node:os';
import pg from 'pg';
import type { Store } from '../src/store/store.js';

/**
 * Shared helpers of the benchmarks in bench/: the machine line, order
 * statistics and number formatting. Benchmarks print figures; they never
 * assert on time (tests must not either).
 */

/** `node v20.x, <CPU model>, <n> cores, <platform>`: printed with every result. */
export function machineLine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length;
  return `node ${process.version}, ${model}, ${cores} cores, ${os.platform()} ${os.arch()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`;
}

/** The value at quantile `q` (0..1) of already sorted numbers (nearest rank). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** p50 and p99 of a sample. */
export function percentiles(sample: ArrayLike<number>): { p50: number; p99: number } {
  const sorted = Float64Array.from(sample).sort();
  return { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99) };
}

/** The median of a few numbers (the per-round figures). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `1.23 µs` / `456 ns` / `7.8 ms` from nanoseconds. */
export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/** `12,345/s` */
export function formatRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

/** `2.41×` */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

/** Left-aligned table, for terminal output and for pasting into docs. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

/** Seeded PRNG (mulberry32): the same seed gives the same workload on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A store a server benchmark runs on: embedded PGlite (with its durability) or a PostgreSQL. */
export type StoreSpec = { name: string; driver: 'pglite'; durability: 'relaxed' | 'full' } | { name: string; driver: 'postgres'; url: string };

const DEFAULT_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

/** Whether something accepts TCP connections at host:port (within a second). */
export function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The stores a server benchmark runs on: PGlite `relaxed` and `full`, and
 * PostgreSQL when `WARDEN_BENCH_DATABASE_URL` / `WARDEN_TEST_DATABASE_URL` is
 * set or one listens on 127.0.0.1:5432; `WARDEN_BENCH_STORES` (comma-separated
 * names) narrows the list. `pgUrl` is undefined when no PostgreSQL was found.
 */
export async function benchStoreSpecs(): Promise<{ chosen: StoreSpec[]; pgUrl: string | undefined }> {
  const only = process.env.WARDEN_BENCH_STORES?.split(',').map((s) => s.trim());
  const specs: StoreSpec[] = [
    { name: 'pglite-relaxed', driver: 'pglite', durability: 'relaxed' },
    { name: 'pglite-full', driver: 'pglite', durability: 'full' },
  ];
  const pgUrl =
    process.env.WARDEN_BENCH_DATABASE_URL || process.env.WARDEN_TEST_DATABASE_URL || ((await reachable('127.0.0.1', 5432)) ? DEFAULT_POSTGRES : undefined);
  if (pgUrl) specs.push({ name: 'postgres', driver: 'postgres', url: pgUrl });
  return { chosen: specs.filter((s) => !only || only.includes(s.name)), pgUrl };
}

/** Drops the throw-away PostgreSQL schemas a benchmark created. */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * The "busy machine" mode of the ingest benchmarks (issue 16 §3): with
 * `WARDEN_BENCH_STRESS=1` (or `--stress`), runs `stress-ng --cpu 1` beside the
 * benchmark (`WARDEN_BENCH_STRESS=2` runs two CPU workers) until `stop()` or
 * the process exits. Returns undefined when the mode is off.
 */
export async function startStress(): Promise<{ line: string; stop(): Promise<void> } | undefined> {
  const asked = process.argv.includes('--stress') ? '1' : process.env.WARDEN_BENCH_STRESS;
  const workers = Number(asked ?? 0);
  if (!(workers > 0)) return undefined;
  const { spawn } = await import('node:child_process');
  const child = spawn('stress-ng', ['--cpu', String(workers), '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new Error(`stress-ng could not start (is it installed?): ${err.message}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', kill);
  return {
    line: `stress-ng --cpu ${workers} running beside the benchmark (pid ${child.pid})`,
    async stop() {
      kill();
      await exited;
      process.off('exit', kill);
    },
  };
}

/**
 * Counts the inbox statements the real server's receivers write through the
 * group commit (`putInboxMany` on its store, which the connectors' view of
 * the store calls): answered deliveries / statements is how many shared one.
 */
export function countInboxStatements(store: Store): { count: number } {
  const counter = { count: 0 };
  const original = store.putInboxMany.bind(store);
  store.putInboxMany = (entries) => {
    counter.count++;
    return original(entries);
  };
  return counter;
}
