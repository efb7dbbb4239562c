import { describe, expect, it } from 'vitest';
import { ActionError, ProofingRefused } from '../connector/contract.js';
import { WardenError } from '../core/errors.js';
import { WorkflowContext, type WorkflowDeps } from './request-context.js';

describe('WorkflowContext.upstream: a connector failure as the caller sees it', () => {
  const ctx = new WorkflowContext({} as WorkflowDeps);

  it('wraps an error that is not a WardenError as ERR_UPSTREAM saying what was being done', () => {
    const cause = new RangeError('socket hang up');
    const err = ctx.upstream('the push could not be sent', cause);
    expect(err).toMatchObject({ code: 'ERR_UPSTREAM', message: 'the push could not be sent: socket hang up', cause });
  });

  it('wraps a failed IdP call (ActionError, ERR_UPSTREAM) the same way, though it is a WardenError', () => {
    const cause = new ActionError('Okta answered 500', { retryAfterMs: 1000 });
    const err = ctx.upstream('the IdP did not perform factor.reset_all', cause);
    expect(err).not.toBe(cause);
    expect(err).toMatchObject({ code: 'ERR_UPSTREAM', message: 'the IdP did not perform factor.reset_all: Okta answered 500', cause });
  });

  it('keeps any other WardenError a connector raises as it is', () => {
    for (const err of [
      new WardenError('ERR_CONFLICT', 'request r1 is being served right now'),
      new WardenError('ERR_CONFIG_INVALID', 'no okta section'),
      new ProofingRefused('factor too new'),
    ])
      expect(ctx.upstream('whatever', err)).toBe(err);
  });
});
