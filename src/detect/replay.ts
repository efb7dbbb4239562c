import { systemClock, type Clock } from '../core/clock.js';
import type { Alert } from '../core/alert.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { Tier } from '../core/tiers.js';
import type { DirectoryIndex } from '../core/directory-snapshot.js';
import { DetectionEngine } from './detection-engine.js';
import type { CompiledRulePack } from './compile-rule-pack.js';
import { IdentityResolver, type IdentityConfig } from './identity-keys.js';
import { isoMillis } from './iso-millis.js';
import { MemoryDetector, type DetectorStats } from './memory-detector.js';
import type { ChangeFacts } from './detection-engine.js';
import { normalizeRecord, readRecordBatches, type NamedNormalizer, type ReadItem, type RecordOrigin, type RecordOutcome } from './replay-records.js';

/** What a replay runs with. */
export interface ReplaySetup {
  tenant: string;
  pack: CompiledRulePack;
  identities: IdentityConfig;
  latenessMs: number;
  /** A source that delivered nothing while event time moved on this much stops holding windows (default: the config's). */
  idleAfterMs?: number;
  groupForMs: number;
  /** Connectors' record normalizers, tried in order for records that are not normalized changes. */
  normalizers: readonly NamedNormalizer[];
  /** Directory snapshots: connectors enrich their records from them as live from the IdP (channel, groups, roles: tiers). */
  directory?: DirectoryIndex;
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
  /** Told of each change as it is replayed (in the order detection sees them), with what the replay knows of it. */
  onChange?: (change: IdentityChange, facts: ChangeFacts) => void;
}

/** A record of one file, normalized, with the event time it is merged on (problems first). */
interface Unit {
  item: ReadItem;
  outcome: RecordOutcome | undefined;
  at: number;
}

/** The records of one file, normalized, for merging several files by event time. */
async function* units(file: string, setup: ReplaySetup, now: Date, onBytes: (bytes: number) => void): AsyncGenerator<Unit> {
  for await (const batch of readRecordBatches(file, onBytes))
    for (const item of batch) {
      if ('error' in item) {
        yield { item, outcome: undefined, at: -Infinity };
        continue;
      }
      const outcome = normalizeRecord(item.record, setup.tenant, setup.normalizers, now, setup.directory);
      let at = -Infinity;
      if (outcome.kind === 'changes' && outcome.changes.length > 0) at = Math.min(...outcome.changes.map((c) => isoMillis(c.occurredAt)));
      else if (outcome.kind === 'ignored' && outcome.progress) at = outcome.progress.at;
      yield { item, outcome, at };
    }
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
 * one file in its order, several merged by event time; every record
 * classified (a normalized change, or a vendor record a connector
 * recognizes), every change correlated, and every record moving its
 * source's watermark (src/detect/source-watermarks.ts). The same
 * input gives the same alerts on every run.
 */
export async function replayFiles(files: readonly string[], setup: ReplaySetup): Promise<ReplayReport> {
  const finals: Alert[] = [];
  let alertCount = 0;
  const detector = new MemoryDetector(new DetectionEngine(setup.pack, new IdentityResolver(setup.identities)), {
    tenant: setup.tenant,
    latenessMs: setup.latenessMs,
    ...(setup.idleAfterMs !== undefined ? { idleAfterMs: setup.idleAfterMs } : {}),
    groupForMs: setup.groupForMs,
    // Streaming: alerts are built once, when final, not held as objects while they can still grow.
    ...(setup.onAlert ? { onFinal: (alert: Alert) => void finals.push(alert), buildWhenFinal: true } : {}),
  });
  const handOver = async () => {
    for (const alert of finals.splice(0)) {
      alertCount++;
      await setup.onAlert!(alert);
    }
  };
  const report: Omit<ReplayReport, 'stats' | 'pendingAbsences' | 'alerts' | 'alertCount'> = {
    files: files.length,
    records: 0,
    changes: {},
    ignored: {},
    unrecognized: 0,
    invalid: 0,
    problems: [],
  };
  const problem = (origin: RecordOrigin, error: string) => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push({ file: origin.file, line: origin.line, error });
  };
  const now = (setup.clock ?? systemClock)();
  const handle = (item: ReadItem, outcome: RecordOutcome | undefined) => {
    report.records++;
    if ('error' in item) {
      report.invalid++;
      problem(item, item.error);
      return;
    }
    outcome ??= normalizeRecord(item.record, setup.tenant, setup.normalizers, now, setup.directory);
    switch (outcome.kind) {
      case 'changes':
        report.changes[outcome.via] = (report.changes[outcome.via] ?? 0) + outcome.changes.length;
        for (const change of outcome.changes) {
          const facts = setup.tierOf ? { tier: setup.tierOf(change) } : undefined;
          setup.onChange?.(change, facts ?? {});
          detector.push(change, facts);
        }
        break;
      case 'ignored':
        report.ignored[outcome.via] = (report.ignored[outcome.via] ?? 0) + 1;
        // A record that is not a change still moves its source's event time (a sign-in closes an absence window).
        if (outcome.progress) detector.progress(outcome.progress.idp, outcome.progress.via, outcome.progress.at);
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
  };
  const bytes = new Array<number>(files.length).fill(0);
  const progress = () =>
    setup.onProgress?.(
      bytes.reduce((a, b) => a + b, 0),
      report.records,
      alertCount + detector.alerts.length,
    );
  if (files.length === 1) {
    for await (const batch of readRecordBatches(files[0]!, (b) => {
      bytes[0] = b;
      progress();
    })) {
      // Alerts that became final are handed over between batches (in the order they became final).
      for (const item of batch) handle(item, undefined);
      if (finals.length > 0) await handOver();
    }
  } else {
    // Several files (one per source, or one source cut in several): merged by event time, so each
    // source is read in its own order and sources advance together, as they would have live.
    const heads = files.map((file, i) =>
      units(file, setup, now, (b) => {
        bytes[i] = b;
        progress();
      }),
    );
    const current: Array<Unit | undefined> = await Promise.all(heads.map(async (h) => (await h.next()).value ?? undefined));
    for (let n = 0; ; n++) {
      let pick = -1;
      for (let i = 0; i < current.length; i++) if (current[i] && (pick === -1 || current[i]!.at < current[pick]!.at)) pick = i;
      if (pick === -1) break;
      handle(current[pick]!.item, current[pick]!.outcome);
      current[pick] = (await heads[pick]!.next()).value ?? undefined;
      if (n % 1024 === 0 && finals.length > 0) await handOver();
    }
  }
  const done = bytes.reduce((a, b) => a + b, 0);
  if (setup.flush && Number.isFinite(detector.newest)) {
    const longest = Math.max(0, ...setup.pack.rules.map((r) => r.windowMs + (r.latenessMs ?? setup.latenessMs)));
    detector.advanceTo(detector.newest + longest + 1);
  }
  detector.finish();
  await handOver();
  setup.onProgress?.(done, report.records, alertCount + detector.alerts.length);
  return {
    ...report,
    stats: detector.stats,
    pendingAbsences: detector.pendingAbsences,
    alerts: detector.alerts,
    alertCount: alertCount + detector.alerts.length,
  };
}
