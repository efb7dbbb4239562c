import { describe, expect, it } from 'vitest';
import type { REQUEST_STATES } from '../core/change-request.js';
import { isWardenError } from '../core/errors.js';
import { assertTransition, canTransition, TRANSITIONS } from './request-states.js';

describe('the change-request life cycle', () => {
  const r = (state: (typeof REQUEST_STATES)[number], breakGlass = false) => ({
    id: 'r1',
    state,
    ...(breakGlass ? { breakGlass: { reason: 'x', reviewId: 'v' } } : {}),
  });

  it("has design §5's forward path and its exits", () => {
    for (const [from, to] of [
      ['draft', 'proofing'],
      ['proofing', 'pending_approval'],
      ['pending_approval', 'approved'],
      ['approved', 'executed'],
      ['executed', 'reviewed'],
      ['pending_approval', 'rejected'],
      ['approved', 'expired'],
      ['proofing', 'cancelled'],
    ] as const)
      expect(canTransition(r(from), to), `${from} → ${to}`).toBe(true);
  });

  it('never leaves a final state, never goes back, never skips approval unless break-glass', () => {
    for (const final of ['reviewed', 'rejected', 'expired', 'cancelled'] as const) expect(TRANSITIONS[final]).toEqual([]);
    expect(canTransition(r('approved'), 'pending_approval')).toBe(false);
    expect(canTransition(r('executed'), 'approved')).toBe(false);
    expect(canTransition(r('executed'), 'cancelled')).toBe(false);
    expect(canTransition(r('draft'), 'approved')).toBe(false);
    expect(canTransition(r('draft', true), 'approved')).toBe(true);
    expect(canTransition(r('proofing', true), 'approved')).toBe(false);
  });

  it('refuses an illegal transition with ERR_ILLEGAL_TRANSITION naming the state and where it can go', () => {
    try {
      assertTransition(r('executed'), 'cancelled', 'cancel it');
      expect.unreachable();
    } catch (err) {
      expect(isWardenError(err, 'ERR_ILLEGAL_TRANSITION')).toBe(true);
      expect((err as Error).message).toBe('request r1 is executed: cannot cancel it (from executed it can go to reviewed)');
    }
    expect(() => assertTransition(r('expired'), 'approved')).toThrow('request r1 is expired: cannot move it to approved (it is final)');
  });
});
