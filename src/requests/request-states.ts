import type { ChangeRequest, RequestState } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';

/**
 * The change-request life cycle (design §5):
 *
 * ```
 * draft → proofing → pending_approval → approved → executed → reviewed
 *                  ↘ rejected   ↘ expired   ↘ cancelled
 * ```
 *
 * `draft` waits for a valid ticket, `proofing` for evidence at the required
 * level, `pending_approval` for the approvers. Any open request can be
 * cancelled, rejected (before approval) or expire. A break-glass request goes
 * from `draft` straight to `approved`; only it does.
 */
export const TRANSITIONS: Readonly<Record<RequestState, readonly RequestState[]>> = Object.freeze({
  draft: ['proofing', 'approved', 'rejected', 'cancelled', 'expired'],
  proofing: ['pending_approval', 'rejected', 'cancelled', 'expired'],
  pending_approval: ['approved', 'rejected', 'cancelled', 'expired'],
  approved: ['executed', 'cancelled', 'expired'],
  executed: ['reviewed'],
  reviewed: [],
  rejected: [],
  expired: [],
  cancelled: [],
});

/** States in which a request still waits for something (it can be cancelled and it expires). */
export const OPEN_STATES: readonly RequestState[] = ['draft', 'proofing', 'pending_approval', 'approved'];

/** States a request never leaves. */
export const FINAL_STATES: readonly RequestState[] = ['reviewed', 'rejected', 'expired', 'cancelled'];

/** Whether `from → to` is a transition of the life cycle for this request. */
export function canTransition(request: Pick<ChangeRequest, 'state' | 'breakGlass'>, to: RequestState): boolean {
  if (request.state === 'draft' && to === 'approved') return request.breakGlass !== undefined;
  return TRANSITIONS[request.state].includes(to);
}

/**
 * Refuses a transition the life cycle does not have, naming the state the
 * request is in and what can still happen to it.
 *
 * @throws WardenError `ERR_ILLEGAL_TRANSITION`
 */
export function assertTransition(request: Pick<ChangeRequest, 'id' | 'state' | 'breakGlass'>, to: RequestState, what: string = `move it to ${to}`): void {
  if (canTransition(request, to)) return;
  const next = TRANSITIONS[request.state].filter((s) => canTransition(request, s));
  throw new WardenError(
    'ERR_ILLEGAL_TRANSITION',
    `request ${request.id} is ${request.state}: cannot ${what}${next.length ? ` (from ${request.state} it can go to ${next.join(', ')})` : ' (it is final)'}`,
    { details: { state: request.state, to } },
  );
}
