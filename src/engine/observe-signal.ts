import { systemClock } from '../core/clock.js';
import type { Alert } from '../core/alert.js';
import { isSignalKind, type ChangeKind, type IdentityChange } from '../core/identity-change.js';
import type { ChangeDetection, DecideDeps } from './decide-change.js';
import { WardenError } from '../core/errors.js';

/** Detection as signals use it: correlation, and (optionally) whether any rule of a tenant reads a kind at all. */
export interface SignalDetection extends ChangeDetection {
  /** False when no rule of the tenant can match this kind (or the tenant has no detection): the signal is dropped without a transaction. */
  watches?(tenant: string, kind: ChangeKind): boolean;
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
  for (const s of input.signals)
    if (!isSignalKind(s.kind)) throw new WardenError('ERR_INTERNAL', `observeSignals: ${s.kind} is a change, not a signal: decide it (decideChange)`);
  const detection = deps.detection;
  const observed = detection ? input.signals.filter((s) => detection.watches?.(s.tenant, s.kind) ?? true) : [];
  const dropped = input.signals.filter((s) => !observed.includes(s));
  if (!detection || observed.length === 0) return { observed, dropped, duplicate: false, alerts: [] };

  const now = (deps.clock ?? systemClock)();
  const result = await deps.store.transaction(async (tx) => {
    if (input.inboxId !== undefined && !(await tx.settleInbox(input.inboxId, now))) return { duplicate: true, alerts: [] as Alert[] };
    const alerts = new Map<string, Alert>();
    // The latest version of an alert two signals of one entry both extended is the one that goes out.
    for (const signal of observed) for (const alert of await detection.observe(tx, signal, { now })) alerts.set(alert.id, alert);
    const raised = [...alerts.values()];
    if (raised.length > 0) await deps.publishAlerts?.(tx, raised);
    return { duplicate: false, alerts: raised };
  });
  if (result.alerts.length > 0) deps.onAlerts?.(result.alerts);
  return result.duplicate ? { observed: [], dropped, duplicate: true, alerts: [] } : { observed, dropped, duplicate: false, alerts: result.alerts };
}
