import { z } from 'zod';
import type { IdentityChange } from './identity-change.js';
import { TenantId } from './identity-change.js';

const IsoTime = z.iso.datetime({ offset: true });

/**
 * A policy exception: one rule not applied to one named target (a VIP exempt
 * from a rule, a kiosk account), always with an owner, a reason and an
 * expiry (design §5). Admins create them through the workflow; the policy
 * core only reads them, and a decision that used one names it.
 */
export const PolicyException = z
  .object({
    id: z.string().min(1),
    tenant: TenantId,
    ruleId: z.string().min(1).describe('The rule not applied'),
    target: z.string().min(1).max(320).describe('The target it is not applied to: IdP id, login or email (case-insensitive)'),
    owner: z.string().min(1).max(320).describe('Who answers for the exception'),
    reason: z.string().min(1).max(2000),
    createdBy: z.string().min(1).max(320).describe('The admin who granted it'),
    createdAt: IsoTime,
    expiresAt: IsoTime.describe('It stops applying at this time'),
    revokedAt: IsoTime.optional(),
  })
  .strict();
export type PolicyException = z.infer<typeof PolicyException>;

/** Skew tolerated between Warden's clock and the IdP's (same as for approvals). */
const SKEW_MS = 2 * 60 * 1000;

/**
 * The exception that exempts `change`'s target from rule `ruleId`, if any:
 * same tenant and rule, target named by id, login or email, granted before
 * the change (within clock skew), not expired and not revoked at the time of
 * the change. Expired or revoked exceptions never apply.
 */
export function applicableException(exceptions: readonly PolicyException[] | undefined, ruleId: string, change: IdentityChange): PolicyException | undefined {
  if (!exceptions || exceptions.length === 0) return undefined;
  const at = Date.parse(change.occurredAt);
  const names = new Set([change.target.id, change.target.login, change.target.email].filter((n): n is string => !!n).map((n) => n.toLowerCase()));
  for (const e of exceptions) {
    if (e.ruleId !== ruleId || e.tenant !== change.tenant || !names.has(e.target.toLowerCase())) continue;
    if (Date.parse(e.createdAt) > at + SKEW_MS) continue;
    if (Date.parse(e.expiresAt) <= at) continue;
    if (e.revokedAt !== undefined && Date.parse(e.revokedAt) <= at) continue;
    return e;
  }
  return undefined;
}
