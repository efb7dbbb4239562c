import { systemClock } from '../core/clock.js';
import type { Alert } from '../core/alert.js';
import { isSignalKind, type ChangeKind, type IdentityChange } from '../core/identity-change.js';
import type { StoreTx } from '../store/store.js';
import type { ChangeDetection, DecideDeps, DetectionFacts } from './decide-change.js';
import { WardenError } from '../core/errors.js';

/** Detection as signals use it: correlation, and (optionally) whether any rule of a tenant reads a kind at all. */
export interface SignalDetection extends ChangeDetection {
  /** False when no rule of the tenant can match this kind (or the tenant has no detection): the signal is dropped without a transaction. */
  watches?(tenant: string, kind: ChangeKind): boolean;
  /**
   * `observe` for a run of changes in one transaction, in order, with the
   * result of observing them one after another (the store-backed detector
   * locks and writes the run's state rows once: src/detect/store-detector.ts).
   * Without it, each change is observed in turn.
   *
   * @returns for each change, the alerts it raised or extended
   */
  observeMany?(tx: StoreTx, changes: ReadonlyArray<{ change: IdentityChange; facts: DetectionFacts }>): Promise<Alert[][]>;
}

/** Observes `signals` in order in one transaction: for each, the alerts it raised or extended. */
async function observeInOrder(detection: SignalDetection, tx: StoreTx, signals: readonly IdentityChange[], now: Date): Promise<Alert[][]> {
  if (detection.observeMany)
    return detection.observeMany(
      tx,
      signals.map((change) => ({ change, facts: { now } })),
    );
  const out: Alert[][] = [];
  for (const signal of signals) out.push(await detection.observe(tx, signal, { now }));
  return out;
}

/** What observing signals needs: the store, detection, and how raised alerts go out (as `decideChange` has them). */
export interface SignalDeps extends Pick<DecideDeps, 'store' | 'clock' | 'onAlerts' | 'publishAlerts'> {
  detection?: SignalDetection;
}

export interface SignalInput {
  /** Signals (`SIGNAL_KINDS`), keyed by their vendor event ids like any change (`keyedChange`). */
  signals: readonly IdentityChange[];
  /**
   * The inbox entry they came from: settled (`processed`) in the same
   * transaction, so an entry handled again (a crash after commit, a lease
   * that ran out while another worker had it) is observed once.
   */
  inboxId?: number;
}

export interface SignalResult {
  /** Signals handed to detection. */
  observed: IdentityChange[];
  /** Signals no rule of their tenant reads (or the tenant has no detection): not correlated. */
  dropped: IdentityChange[];
  /** The inbox entry had been settled already (by another worker): nothing was observed now. */
  duplicate: boolean;
  /** Alerts the signals raised or extended. */
  alerts: Alert[];
}

/** The signals detection reads (`observed`) and the others (`dropped`); a change passed as a signal is refused. */
function splitSignals(deps: SignalDeps, signals: readonly IdentityChange[], caller: string): { observed: IdentityChange[]; dropped: IdentityChange[] } {
  for (const s of signals)
    if (!isSignalKind(s.kind)) throw new WardenError('ERR_INTERNAL', `${caller}: ${s.kind} is a change, not a signal: decide it (decideChange)`);
  const detection = deps.detection;
  const observed = detection ? signals.filter((s) => detection.watches?.(s.tenant, s.kind) ?? true) : [];
  return { observed, dropped: signals.filter((s) => !observed.includes(s)) };
}

/**
 * The signal path: MFA challenge outcomes (a denied push, a passed
 * verification) go to detection only. They change nothing in the IdP and
 * come by the thousand, so unlike `decideChange` there is no policy
 * evaluation, no decision, no outbox action, no audit record, and the signal
 * is not stored as a change. In one store transaction it settles the inbox
 * entry, feeds detection (`observe`: lateness, duplicates, state under its
 * row lock) and publishes the alerts raised; an alert is audited by the
 * detector (`alert.raised` / `alert.grouped`) with the signal's id, time and
 * vendor event ids among its changes. A tenant whose rules read none of the
 * signals' kinds costs no transaction at all.
 *
 * @example
 *   await observeSignals({ store, detection }, { signals: [deniedPush], inboxId: entry.id })
 *   // → { observed: [deniedPush], dropped: [], duplicate: false, alerts: [] }
 */
export async function observeSignals(deps: SignalDeps, input: SignalInput): Promise<SignalResult> {
  const { observed, dropped } = splitSignals(deps, input.signals, 'observeSignals');
  const detection = deps.detection;
  if (!detection || observed.length === 0) return { observed, dropped, duplicate: false, alerts: [] };

  const now = (deps.clock ?? systemClock)();
  const result = await deps.store.transaction(async (tx) => {
    if (input.inboxId !== undefined && !(await tx.settleInbox(input.inboxId, now))) return { duplicate: true, alerts: [] as Alert[] };
    const alerts = new Map<string, Alert>();
    // The latest version of an alert two signals of one entry both extended is the one that goes out.
    for (const raised of await observeInOrder(detection, tx, observed, now)) for (const alert of raised) alerts.set(alert.id, alert);
    const raised = [...alerts.values()];
    if (raised.length > 0) await deps.publishAlerts?.(tx, raised);
    return { duplicate: false, alerts: raised };
  });
  if (result.alerts.length > 0) deps.onAlerts?.(result.alerts);
  return result.duplicate ? { observed: [], dropped, duplicate: true, alerts: [] } : { observed, dropped, duplicate: false, alerts: result.alerts };
}

/** The signals of one inbox entry, observed with others in one transaction (`observeSignalBatch`). */
export interface SignalBatchInput extends SignalInput {
  inboxId: number;
}

/**
 * `observeSignals` for the signals of several inbox entries at once, in one
 * store transaction instead of one each (catch-up: a day of push approvals
 * comes by the hundred thousand). In entry order, each entry is settled and
 * its signals observed, exactly as `observeSignals` would one entry after
 * another; an entry settled before (another worker) observes nothing and is
 * reported `duplicate`. The alerts raised go out once, in their latest
 * version. All or nothing: if anything fails (detection, a lock conflict
 * between replicas), nothing is settled or observed and the error is
 * thrown, so the caller can handle the entries one by one and retry only the
 * one that fails.
 *
 * @example
 *   await observeSignalBatch({ store, detection }, [{ signals: [pushA], inboxId: 7 }, { signals: [pushB], inboxId: 8 }])
 *   // → [{ observed: [pushA], dropped: [], duplicate: false, alerts: [] }, { observed: [pushB], … }]
 */
export async function observeSignalBatch(deps: SignalDeps, inputs: readonly SignalBatchInput[]): Promise<SignalResult[]> {
  const parts = inputs.map((input) => ({ input, ...splitSignals(deps, input.signals, 'observeSignalBatch') }));
  const detection = deps.detection;
  const watched = parts.filter((p) => p.observed.length > 0);
  if (!detection || watched.length === 0) return parts.map((p) => ({ observed: p.observed, dropped: p.dropped, duplicate: false, alerts: [] }));

  const now = (deps.clock ?? systemClock)();
  const outcome = await deps.store.transaction(async (tx) => {
    const settled = new Set(
      await tx.settleInboxes(
        watched.map((p) => p.input.inboxId),
        now,
      ),
    );
    // The latest version of each alert, and which alerts each entry's signals raised or extended.
    const latest = new Map<string, Alert>();
    const touched = new Map<number, Set<string>>();
    // Every signal of the settled entries, in entry order, observed as one run (its state rows locked and written once).
    const run = watched.filter((p) => settled.has(p.input.inboxId));
    const signals = run.flatMap((p) => p.observed);
    const raisedBy = await observeInOrder(detection, tx, signals, now);
    let n = 0;
    for (const p of run) {
      const ids = new Set<string>();
      for (let i = 0; i < p.observed.length; i++)
        for (const alert of raisedBy[n++]!) {
          latest.set(alert.id, alert);
          ids.add(alert.id);
        }
      touched.set(p.input.inboxId, ids);
    }
    const raised = [...latest.values()];
    if (raised.length > 0) await deps.publishAlerts?.(tx, raised);
    return { settled, latest, touched, raised };
  });
  if (outcome.raised.length > 0) deps.onAlerts?.(outcome.raised);
  return parts.map((p): SignalResult => {
    if (p.observed.length === 0) return { observed: [], dropped: p.dropped, duplicate: false, alerts: [] };
    if (!outcome.settled.has(p.input.inboxId)) return { observed: [], dropped: p.dropped, duplicate: true, alerts: [] };
    const alerts = [...(outcome.touched.get(p.input.inboxId) ?? [])].map((id) => outcome.latest.get(id)!);
    return { observed: p.observed, dropped: p.dropped, duplicate: false, alerts };
  });
}
