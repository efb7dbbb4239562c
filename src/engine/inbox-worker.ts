import { Counter } from 'prom-client';
import { appendAudit } from '../audit/audit-log.js';
import { isWardenError } from '../core/errors.js';
import { isSignalKind, type IdentityChange } from '../core/identity-change.js';
import { keyedChange } from '../core/keyed-change.js';
import { ActionError, type InboxHandler } from '../connector/contract.js';
import type { InboxEntry, InboxRow, StoreTx } from '../store/store.js';
import { BatchWorker } from '../runtime/background-loop.js';
import { decideChange, type DecideDeps, type DecideResult } from './decide-change.js';
import { observeSignalBatch, observeSignals, type SignalDeps, type SignalDetection, type SignalResult } from './observe-signal.js';
import { progressOf } from './source-progress.js';
import { queueWorkerSettings, type QueueWorkerOptions, type QueueWorkerSettings } from './queue-worker.js';

export interface InboxWorkerOptions extends QueueWorkerOptions {
  /** How changes are decided; signals (`SIGNAL_KINDS`) use its detection, clock and alert publishing only. */
  decide: Omit<DecideDeps, 'store' | 'detection'> & { detection?: SignalDetection };
  /** Handler per inbox source (connector name). */
  handlers: ReadonlyMap<string, InboxHandler>;
  /**
   * Called after each change is decided and committed (a replayed one too,
   * with no actions), so whoever runs the outbox can act on the actions it
   * queued at once instead of at the outbox's next idle tick.
   */
  onDecided?: (result: DecideResult) => void;
  /**
   * How many entries of a claimed batch the connectors normalize and enrich
   * (`toChanges`: reads only) ahead of the entry being decided; 1 handles
   * one entry at a time. Default {@link INBOX_PREPARE_AHEAD}.
   */
  prepareAhead?: number;
}

/** The inbox's defaults: 50 entries a batch, each hidden 60 s while handled, failed for good after 10 attempts. */
const INBOX_DEFAULTS = { batch: 50, leaseSeconds: 60, maxAttempts: 10 };

/** How many entries of a batch are normalized ahead of the one being decided, by default. */
export const INBOX_PREPARE_AHEAD = 8;

/** Delay before retry `attempt` (1-based): 2 s, 4 s, 8 s, … at most 5 min. */
export function inboxBackoffMs(attempt: number): number {
  return Math.min(300_000, 2000 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Turns stored deliveries into decisions: claims pending inbox entries
 * (`FOR UPDATE SKIP LOCKED`, so replicas share the work), has the
 * connector that owns each one normalize it, and decides every change it
 * yields. A delivery is processed exactly once in effect: decisions are keyed
 * by vendor event id, so an entry processed again after a crash decides
 * nothing new. Signals (`SIGNAL_KINDS`: MFA challenge outcomes) are not
 * decided: they go to detection only (`observeSignals`), in a transaction
 * that also settles their entry. An entry holding several deliveries (the
 * connector's `split`) is split into one entry per delivery first. Failures
 * are retried with backoff, then marked failed for good, audited
 * `inbox.failed` and counted; a failed entry never holds up the entries
 * behind it.
 *
 * What an entry asks of its connector (`split`, `toChanges`: normalization,
 * the own-change lookup, enrichment from the directory) only reads, so the
 * connectors work on up to `prepareAhead` entries of a batch at once, ahead
 * of the entry being decided: the IdP's and the store's round trips of the
 * next entries overlap the decision of this one. Everything an entry writes
 * (its decisions, detection, its settlement) still happens one entry at a
 * time, in claim order, exactly as without the look-ahead.
 *
 * Consecutive entries of a batch that hold only signals detection reads are
 * observed together, in one transaction (`observeSignalBatch`) when the next
 * entry that writes comes, or the batch ends: entries are still settled in
 * order, each once. If that transaction fails, its entries are handled one
 * by one, as if never batched, so only the entry that fails is retried.
 * Entries that are not changes (Warden's own actions reported back, events
 * Warden does not govern) write nothing but their settlement: they move
 * their source's watermark in order, do not break a run of signals, and are
 * settled `ignored` together, in one statement, when the batch ends.
 */
export class InboxWorker extends BatchWorker {
  readonly #counter: Counter<'source' | 'result'>;
  readonly #signals: Counter<'tenant' | 'kind' | 'result'>;
  readonly #settings: QueueWorkerSettings;
  readonly #clock: () => Date;

  constructor(private readonly options: InboxWorkerOptions) {
    const settings = queueWorkerSettings(options, INBOX_DEFAULTS);
    super(settings.idleMs, (err) => options.log.error({ err }, 'inbox worker failed'));
    this.#settings = settings;
    this.#clock = settings.clock;
    this.#counter = new Counter({
      name: 'warden_inbox_entries_total',
      help: 'Inbox entries handled, by source and result (processed, ignored, retried, failed; split: an entry holding several deliveries, stored as one entry each)',
      labelNames: ['source', 'result'] as const,
      registers: settings.registers,
    });
    this.#signals = new Counter({
      name: 'warden_signals_total',
      help: 'Signals (MFA challenge outcomes) from the inbox, by tenant, kind and result (observed: correlated by detection; dropped: no detection rule of the tenant reads the kind; duplicate: its inbox entry was settled by another worker)',
      labelNames: ['tenant', 'kind', 'result'] as const,
      registers: settings.registers,
    });
  }

  /** Claims and handles one batch; returns how many entries it took. */
  async runOnce(): Promise<number> {
    const { store } = this.options;
    const entries = await store.claimInbox(this.#settings.batch, this.#clock(), this.#settings.leaseSeconds);
    const run: SignalEntry[] = [];
    const flush = () => this.#observeRun(run.splice(0));
    // Entries that are not changes are settled together when the batch ends: their settlement orders nothing.
    const ignored: Array<{ id: number; reason: string }> = [];
    const ahead = Math.max(1, this.options.prepareAhead ?? INBOX_PREPARE_AHEAD);
    const prepared: Array<Promise<Prepared>> = [];
    const prepareUpTo = (end: number) => {
      for (let j = prepared.length; j < Math.min(end, entries.length); j++) prepared.push(this.#prepare(entries[j]!));
    };
    for (const [i, entry] of entries.entries()) {
      prepareUpTo(i + ahead);
      const handled = await this.#handle(entry, await prepared[i]!, flush);
      if (handled && 'signals' in handled) run.push({ entry, signals: handled.signals });
      else if (handled) ignored.push({ id: entry.id, reason: handled.ignored });
    }
    await flush();
    await store.ignoreInboxes(ignored, this.#clock());
    return entries.length;
  }

  /** What the entry's connector makes of it (reads only); never rejects: a failure is the entry's, handled in order. */
  async #prepare(entry: InboxRow): Promise<Prepared> {
    const handler = this.options.handlers.get(entry.source);
    if (!handler) return { handler: undefined };
    try {
      const parts = handler.split?.(entry);
      if (parts) return { handler, parts };
      return { handler, result: await handler.toChanges(entry, this.options.context()) };
    } catch (err) {
      return { handler, error: err };
    }
  }

  #signalDeps(): SignalDeps {
    const { store } = this.options;
    const { detection, clock, onAlerts, publishAlerts } = this.options.decide;
    return {
      store,
      ...(detection ? { detection } : {}),
      ...(clock ? { clock } : {}),
      ...(onAlerts ? { onAlerts } : {}),
      ...(publishAlerts ? { publishAlerts } : {}),
    };
  }

  /** Whether detection reads any of the signals (then the entry's settlement goes with their observation). */
  #watched(signals: readonly IdentityChange[]): boolean {
    const { detection } = this.options.decide;
    return !!detection && signals.some((s) => detection.watches?.(s.tenant, s.kind) ?? true);
  }

  /** Observes a run of signal-only entries in one transaction; if it fails, each entry alone. */
  async #observeRun(run: readonly SignalEntry[]): Promise<void> {
    if (run.length === 0) return;
    if (run.length > 1) {
      let results: SignalResult[] | undefined;
      try {
        results = await observeSignalBatch(
          this.#signalDeps(),
          run.map((r) => ({ signals: r.signals, inboxId: r.entry.id })),
        );
      } catch (err) {
        this.options.log.debug({ err, entries: run.length }, 'inbox signal batch failed: its entries are handled one by one');
      }
      if (results) {
        for (const [i, r] of run.entries()) this.#settled(r, results[i]!);
        return;
      }
    }
    for (const r of run) {
      try {
        const observed = await observeSignals(this.#signalDeps(), { signals: r.signals, inboxId: r.entry.id });
        this.#settled(r, observed);
      } catch (err) {
        await this.#failed(r.entry, err);
      }
    }
  }

  /** Counts a signal-only entry whose signals detection read (settled in their transaction, or by another worker). */
  #settled(r: SignalEntry, observed: SignalResult): void {
    for (const s of r.signals)
      this.#signals.inc({ tenant: s.tenant, kind: s.kind, result: observed.duplicate ? 'duplicate' : observed.dropped.includes(s) ? 'dropped' : 'observed' });
    if (!observed.duplicate) this.#counter.inc({ source: r.entry.source, result: 'processed' });
  }

  /** An entry that failed: retried with backoff, or failed for good after `maxAttempts` (or at once when it can never succeed). */
  async #failed(entry: InboxRow, err: unknown): Promise<void> {
    const { store, log } = this.options;
    const message = (err as Error).message ?? String(err);
    const permanent = isWardenError(err, 'ERR_TENANT_UNKNOWN') || isWardenError(err, 'ERR_VALIDATION');
    if (permanent || entry.attempts >= this.#settings.maxAttempts) {
      await this.#giveUp(entry, message);
      this.#counter.inc({ source: entry.source, result: 'failed' });
      log.error({ err, inboxId: entry.id, source: entry.source, eventId: entry.eventId, attempts: entry.attempts }, 'inbox entry failed for good');
    } else {
      // A connector that knows when the IdP will answer again (a rate limit's reset) says so: no sooner than that.
      const notBefore = err instanceof ActionError && err.retryAfterMs !== undefined ? err.retryAfterMs : 0;
      await store.retryInbox(entry.id, new Date(this.#clock().getTime() + Math.max(inboxBackoffMs(entry.attempts), notBefore)), message);
      this.#counter.inc({ source: entry.source, result: 'retried' });
      log.warn({ err, inboxId: entry.id, source: entry.source, eventId: entry.eventId, attempts: entry.attempts }, 'inbox entry will be retried');
    }
  }

  /**
   * Marks an entry failed for good and audits it (`inbox.failed`) in one
   * transaction; an entry of a tenant the store does not know is only marked.
   */
  async #giveUp(entry: InboxRow, error: string): Promise<void> {
    const { store } = this.options;
    const now = this.#clock();
    try {
      await store.transaction(async (tx) => {
        await tx.finishInbox(entry.id, 'failed', now, error);
        await appendAudit(tx, entry.tenant, {
          type: 'inbox.failed',
          actor: { type: 'system', id: `warden:${entry.source}` },
          subject: { inboxId: String(entry.id), eventId: entry.eventId },
          data: { source: entry.source, eventType: entry.eventType ?? null, attempts: entry.attempts, error },
          at: now,
        });
      });
    } catch (err) {
      // A tenant the store does not know has no audit chain: only mark the entry.
      if ((await store.listTenants()).includes(entry.tenant)) throw err;
      await store.finishInbox(entry.id, 'failed', now, error);
    }
  }

  /**
   * Handles one entry, or, when it holds only signals detection reads,
   * returns them to be observed with the run it joins; when it is not a
   * change at all, returns why, to be settled `ignored` with the batch's
   * others. `flush` observes the run before this entry writes anything, so
   * entries that write settle in order.
   */
  async #handle(entry: InboxRow, prepared: Prepared, flush: () => Promise<void>): Promise<{ signals: IdentityChange[] } | { ignored: string } | undefined> {
    const { store } = this.options;
    const count = (result: string) => this.#counter.inc({ source: entry.source, result });
    // What the run's flush throws (the store gone while retrying an entry of it) is not this entry's failure.
    let flushFailure: { err: unknown } | undefined;
    const flushRun = () =>
      flush().catch((err: unknown) => {
        flushFailure = { err };
        throw err;
      });
    if (!prepared.handler) {
      await flush();
      await store.finishInbox(entry.id, 'ignored', this.#clock(), `no connector handles source "${entry.source}"`);
      count('ignored');
      return;
    }
    try {
      if ('error' in prepared) throw prepared.error;
      if ('parts' in prepared) {
        const { parts } = prepared;
        await flushRun();
        // Each part is keyed by its own event id: a part already stored (a retry, the poller's copy) is kept once.
        const refused: typeof parts = [];
        await store.transaction(async (tx) => {
          for (const part of parts) if (!(await tx.putInbox(part)).inserted) refused.push(part);
          await tx.finishInbox(entry.id, 'processed', this.#clock());
        });
        // A part refused as a copy is not handled again, but still shows how far its source has read.
        for (const part of refused) progressOf(this.options.decide.detection, part, this.#clock());
        count('split');
        return;
      }
      const { result } = prepared;
      if (!('ignored' in result) && result.changes.length > 0 && result.changes.every((c) => isSignalKind(c.kind))) {
        const signals = result.changes.map((change, i) => keyedChange(change, entry.eventId, i, result.changes.length));
        if (this.#watched(signals)) return { signals };
      }
      if ('ignored' in result) {
        // Not a change (a sign-in, an event Warden does not govern), but a record of its source: it moves the source's watermark, as in a replay.
        progressOf(this.options.decide.detection, entry, this.#clock());
        count('ignored');
        return { ignored: result.ignored };
      }
      await flushRun();
      const changes: IdentityChange[] = [];
      const signals: IdentityChange[] = [];
      for (const [i, change] of result.changes.entries())
        (isSignalKind(change.kind) ? signals : changes).push(keyedChange(change, entry.eventId, i, result.changes.length));
      for (const [i, change] of changes.entries()) {
        // An entry of changes only is settled with its last decision, in one commit.
        const settle = signals.length === 0 && i === changes.length - 1;
        const decided = await decideChange(
          { store, ...this.options.decide },
          {
            change,
            actor: { type: 'idp', id: entry.source },
            observed: true,
            ...(settle ? { inTransaction: (tx: StoreTx) => tx.finishInbox(entry.id, 'processed', this.#clock()) } : {}),
          },
        );
        this.options.onDecided?.(decided);
      }
      if (signals.length === 0) {
        if (changes.length === 0) await store.finishInbox(entry.id, 'processed', this.#clock());
        count('processed');
        return;
      }
      const { detection } = this.options.decide;
      const observed = await observeSignals(this.#signalDeps(), { signals, inboxId: entry.id });
      for (const s of signals)
        this.#signals.inc({ tenant: s.tenant, kind: s.kind, result: observed.duplicate ? 'duplicate' : observed.dropped.includes(s) ? 'dropped' : 'observed' });
      if (observed.duplicate) return;
      if (observed.observed.length === 0) {
        // No rule reads them, but they are records of their source: its watermark moves.
        progressOf(detection, entry, this.#clock());
        // Settled here: nothing took the entry in a transaction.
        const unread = [...new Set(signals.map((s) => s.kind))].join(', ');
        await store.finishInbox(
          entry.id,
          changes.length > 0 ? 'processed' : 'ignored',
          this.#clock(),
          changes.length > 0 ? undefined : `signal ${unread}: no detection rule of tenant ${entry.tenant} reads it`,
        );
        count(changes.length > 0 ? 'processed' : 'ignored');
        return;
      }
      count('processed');
    } catch (err) {
      if (flushFailure) throw flushFailure.err;
      await flush();
      await this.#failed(entry, err);
    }
    return undefined;
  }
}

/** What an entry's connector made of it ahead of its turn: no handler, its split parts, its changes, or what it threw. */
type Prepared =
  | { handler: undefined }
  | { handler: InboxHandler; parts: InboxEntry[] }
  | { handler: InboxHandler; result: Awaited<ReturnType<InboxHandler['toChanges']>> }
  | { handler: InboxHandler; error: unknown };

/** An entry holding only signals detection reads, waiting to be observed with its run. */
interface SignalEntry {
  entry: InboxRow;
  signals: IdentityChange[];
}
