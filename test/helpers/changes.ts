import { ChangeInput, completeChange, type IdentityChange } from '../../src/core/identity-change.js';
import type { Decision } from '../../src/core/decision.js';
import { uuidv7 } from '../../src/core/ids.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** A valid IdentityChange for tests: a help-desk factor reset unless overridden. */
export function makeChange(overrides: DeepPartial<ChangeInput> & { tenant?: string } = {}): IdentityChange {
  const { tenant = 'acme', ...rest } = overrides;
  const input = ChangeInput.parse({
    kind: 'factor.reset_all',
    channel: 'helpdesk',
    target: { id: '00u-target', login: 'alice@example.com' },
    actor: { id: '00u-agent', login: 'agent@example.com' },
    ...rest,
  });
  return completeChange(input, tenant);
}

/** A decision record for a change, for store tests. */
export function makeDecision(change: IdentityChange, overrides: Partial<Decision> = {}): Decision {
  return {
    id: uuidv7(),
    tenant: change.tenant,
    changeId: change.id,
    outcome: 'hold',
    mode: 'enforce',
    tier: 'standard',
    rules: [{ id: 'r1', outcome: 'hold', reason: 'test', obligations: { actions: ['hold_group'], notify: [] } }],
    obligations: { actions: ['hold_group'], notify: [] },
    defaulted: false,
    policyVersion: 'sha256:0000000000000000',
    decidedAt: new Date().toISOString(),
    ...overrides,
  };
}
