import { systemClock, type Clock } from '../core/clock.js';
import type { Alert } from '../core/alert.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { Tier } from '../core/tiers.js';
import { DetectionEngine } from './detection-engine.js';
import type { CompiledRulePack } from './compile-rule-pack.js';
import { IdentityResolver, type IdentityConfig } from './identity-keys.js';
import { MemoryDetector, type DetectorStats } from './memory-detector.js';
import { normalizeRecord, readRecordBatches, type NamedNormalizer, type RecordOrigin } from './replay-records.js';

/** What a replay runs with. */
export interface ReplaySetup {
  tenant: string;
  pack: CompiledRulePack;
  identities: IdentityConfig;
  latenessMs: number;
  groupForMs: number;
  /** Connectors' record normalizers, tried in order for records that are not normalized changes. */
  normalizers: readonly NamedNormalizer[];
  /** The target's tier per the tenant policy, when one is given. */
  tierOf?: (change: IdentityChange) => Tier;
  /** At the end, let every window pass: absence rules fire for what has no follow-up in the input. */
  flush?: boolean;
  /** Told of progress: bytes read of all files, and records so far. */
  onProgress?: (bytes: number, records: number, alerts: number) => void;
  /**
   * Streams alerts: each is handed over once final (no later match can join
   * it) instead of being kept, so memory stays bounded however long the
   * input. Without it, `report.alerts` has them all.
   */
  onAlert?: (alert: Alert) => void | Promise<void>;
  /** When the replay runs (the `observedAt` of normalized records); default the system clock. */
  clock?: Clock;
}

/** What a replay found. */
export interface ReplayReport {
  files: number;
  records: number;
  /** Changes replayed, by where they came from: `change` (normalized in the file) or a connector's name. */
  changes: Record<string, number>;
  /** Records a connector recognized but does not govern, by connector. */
  ignored: Record<string, number>;
  unrecognized: number;
  invalid: number;
  /** The first problems (unrecognized or invalid records), with file and line. */
  problems: Array<RecordOrigin & { error: string }>;
  stats: DetectorStats;
  /** Absence checks still waiting for their window to pass at the end of the input. */
  pendingAbsences: number;
  /** The alerts (empty when they were streamed to `onAlert`). */
  alerts: Alert[];
  alertCount: number;
}

const MAX_PROBLEMS = 20;

/**
 * Replays recorded events through a rule pack in event time, in memory:
 * every file in order, every record classified (a normalized change, or a
 * vendor record a connector recognizes), every change correlated. The same
 * input gives the same alerts on every run.
 */
export async function replayFiles(files: readonly string[], setup: ReplaySetup): Promise<ReplayReport> {
  const finals: Alert[] = [];
  let alertCount = 0;
  const detector = new MemoryDetector(new DetectionEngine(setup.pack, new IdentityResolver(setup.identities)), {
    tenant: setup.tenant,
    latenessMs: setup.latenessMs,
    groupForMs: setup.groupForMs,
    ...(setup.onAlert ? { onFinal: (alert: Alert) => void finals.push(alert) } : {}),
  });
  const handOver = async () => {
    for (const alert of finals.splice(0)) {
      alertCount++;
      await setup.onAlert!(alert);
    }
  };
  const report: Omit<ReplayReport, 'stats' | 'pendingAbsences' | 'alerts' | 'alertCount'> = { files: files.length, records: 0, changes: {}, ignored: {}, unrecognized: 0, invalid: 0, problems: [] };
  const problem = (origin: RecordOrigin, error: string) => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push({ file: origin.file, line: origin.line, error });
  };
  const now = (setup.clock ?? systemClock)();
  let done = 0;
  for (const file of files) {
    let inFile = 0;
    for await (const batch of readRecordBatches(file, (bytes) => {
      inFile = bytes;
      setup.onProgress?.(done + inFile, report.records, alertCount + detector.alerts.length);
    })) {
      // Alerts that became final are handed over between batches (in the order they became final).
      for (const item of batch) {
        report.records++;
        if ('error' in item) {
          report.invalid++;
          problem(item, item.error);
          continue;
        }
        const outcome = normalizeRecord(item.record, setup.tenant, setup.normalizers, now);
        switch (outcome.kind) {
          case 'changes':
            report.changes[outcome.via] = (report.changes[outcome.via] ?? 0) + outcome.changes.length;
            for (const change of outcome.changes) detector.push(change, setup.tierOf ? { tier: setup.tierOf(change) } : undefined);
            break;
          case 'ignored':
            report.ignored[outcome.via] = (report.ignored[outcome.via] ?? 0) + 1;
            break;
          case 'unrecognized':
            report.unrecognized++;
            problem(item, 'not a normalized change, and no connector recognizes it');
            break;
          case 'invalid':
            report.invalid++;
            problem(item, outcome.error);
            break;
        }
      }
      if (finals.length > 0) await handOver();
    }
    done += inFile;
  }
  if (setup.flush && Number.isFinite(detector.newest)) {
    const longest = Math.max(0, ...setup.pack.rules.map((r) => r.windowMs + (r.latenessMs ?? setup.latenessMs)));
    detector.advanceTo(detector.newest + longest + 1);
  }
  detector.finish();
  await handOver();
  setup.onProgress?.(done, report.records, alertCount + detector.alerts.length);
  return { ...report, stats: detector.stats, pendingAbsences: detector.pendingAbsences, alerts: detector.alerts, alertCount: alertCount + detector.alerts.length };
}
