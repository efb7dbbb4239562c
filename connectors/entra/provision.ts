import type { EntraTenant } from './entra-tenant.js';
import { WardenError } from '../../src/core/errors.js';

/**
 * `warden entra provision`: the hold group, and the Conditional Access policy
 * an administrator creates on the "Register security information" user
 * action so that held users cannot register security info (or only with a
 * Temporary Access Pass that Warden issues after approval). Warden creates the
 * group (Group.Create) but only prints the policy: creating Conditional Access
 * policies needs Policy.ReadWrite.ConditionalAccess, a permission Warden
 * should not hold (docs/entra.md).
 */

export interface HoldGroupResult {
  id: string;
  displayName: string;
  created: boolean;
}

interface Group {
  id: string;
  displayName: string;
}

/** Finds the hold group (by configured id, else by name) or creates it. Safe to run again. */
export async function provisionHoldGroup(tenant: EntraTenant): Promise<HoldGroupResult> {
  const { id, displayName } = tenant.config.holdGroup;
  const filter = id ? `id eq '${id}'` : `displayName eq '${displayName.replace(/'/g, "''")}'`;
  const found = await tenant.session.call('findGroups', {}, (r) => r.filter(filter).select(['id', 'displayName']).get() as Promise<{ value: Group[] }>);
  if (found.value.length > 1)
    throw new WardenError('ERR_CONFLICT', `${found.value.length} groups are named "${displayName}": set entra.holdGroup.id to the one Warden should use`);
  if (found.value[0]) return { id: found.value[0].id, displayName: found.value[0].displayName, created: false };
  if (id) throw new WardenError('ERR_NOT_FOUND', `entra.holdGroup.id ${id} names no group in tenant ${tenant.config.tenantId}`);
  const group = await tenant.session.call(
    'createGroup',
    {},
    (r) =>
      r.post({
        displayName,
        description: 'Users Warden holds until a change to their account is verified and approved. Managed by Warden: do not add members by hand.',
        mailEnabled: false,
        mailNickname: 'warden-hold',
        securityEnabled: true,
      }) as Promise<Group>,
  );
  return { id: group.id, displayName: group.displayName, created: true };
}

/**
 * Conditional Access policy bodies (`POST /identity/conditionalAccess/policies`,
 * conditionalaccesspolicy resource) for the hold group on the user action
 * "Register security information" (`urn:user:registersecurityinfo`). `block`
 * denies registration outright; `tap` requires an authentication strength
 * that only a Temporary Access Pass satisfies, so a held user can register
 * only after Warden issued a pass for an approved request. Both start in
 * report-only mode: switch them on after checking the sign-in logs.
 */
export function holdPolicies(holdGroupId: string): {
  block: Record<string, unknown>;
  tapStrength: Record<string, unknown>;
  tap: (strengthId: string) => Record<string, unknown>;
} {
  const conditions = {
    users: { includeGroups: [holdGroupId] },
    applications: { includeUserActions: ['urn:user:registersecurityinfo'] },
    clientAppTypes: ['all'],
  };
  return {
    block: {
      displayName: 'Warden hold: block security info registration',
      state: 'enabledForReportingButNotEnforced',
      conditions,
      grantControls: { operator: 'OR', builtInControls: ['block'] },
    },
    tapStrength: {
      displayName: 'Warden: Temporary Access Pass only',
      description: 'Satisfied only by a Temporary Access Pass (issued by Warden for an approved request)',
      allowedCombinations: ['temporaryAccessPassOneTime', 'temporaryAccessPassMultiUse'],
    },
    tap: (strengthId: string) => ({
      displayName: 'Warden hold: security info registration needs a Temporary Access Pass',
      state: 'enabledForReportingButNotEnforced',
      conditions,
      grantControls: { operator: 'OR', authenticationStrength: { id: strengthId } },
    }),
  };
}
