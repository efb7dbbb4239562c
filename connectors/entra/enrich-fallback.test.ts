import { describe, expect, it } from 'vitest';
import type { IdentityChange } from '../../src/core/identity-change.js';
import { mayRetryInbox } from '../../src/connector/contract.js';
import { directoryAudit } from '../../test/helpers/entra-audit-records.js';
import type { EntraTenant } from './entra-tenant.js';
import { GraphCallError } from './graph-session.js';
import { enrichChange } from './inbox-handler.js';
import { normalizeDirectoryAudit } from './normalize-directory-audit.js';

/**
 * When Graph does not answer enrichment calls, the inbox tries the entry
 * again while it may, and on the last attempt it allows, the change is
 * decided on what the record says (it carries the failure): an entry marked
 * failed for good would leave the change never decided.
 */

const ALICE = { id: 'b2c0d2ef-0000-4000-8000-0000000000b1', upn: 'alice@contoso.example' };
const ADMIN = { user: { id: 'b2c0d2ef-0000-4000-8000-0000000000a9', upn: 'admin@contoso.example' } };

function change(): IdentityChange {
  const record = directoryAudit({
    activity: 'Admin registered security info',
    service: 'Authentication Methods',
    resultReason: 'Admin registered phone method for user',
    actor: ADMIN,
    target: ALICE,
  });
  return (normalizeDirectoryAudit(record, { tenant: 'acme', via: 'poll', observedAt: new Date('2026-11-25T10:00:00Z') }) as { changes: IdentityChange[] })
    .changes[0]!;
}

/** A tenant whose Graph answers every directory read with 429. */
const throttled = {
  helpdeskRoles: [],
  directory: {
    principal: async () => {
      throw new GraphCallError('get user', 429, 'TooManyRequests', 'throttled', 30_000);
    },
  },
} as unknown as EntraTenant;

describe('Entra enrichment when Graph does not answer', () => {
  it('throws for the inbox to retry while it may, else decides without enrichment and says so', async () => {
    await expect(enrichChange(change(), throttled, true)).rejects.toBeInstanceOf(GraphCallError);
    const decided = await enrichChange(change(), throttled, false);
    expect(decided.context).toMatchObject({ enrichmentFailed: true });
    expect(decided.target.id).toBe(ALICE.id);
  });

  it('may retry below both its own limit and retries.inbox, never on the last attempt the inbox allows', () => {
    const config = (inbox: number) => ({ retries: { inbox, outbox: 8 } });
    expect([1, 2, 3, 4].map((attempts) => mayRetryInbox({ attempts }, config(10), 4))).toEqual([true, true, true, false]);
    expect([1, 2].map((attempts) => mayRetryInbox({ attempts }, config(2), 4))).toEqual([true, false]);
    expect(mayRetryInbox({ attempts: 1 }, config(1), 4)).toBe(false);
  });
});
