import type { EventHook } from '@okta/okta-sdk-nodejs';
import { HOOK_EVENT_TYPES, hookEventTypes } from './event-types.js';
import { findGroupId } from './okta-directory.js';
import { httpStatusOf } from './okta-errors.js';
import type { OktaTenant } from './okta-tenant.js';
import { wardenCommand } from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';

/**
 * Set-up of an Okta org for Warden: the event hook (exactly the event types
 * Warden needs, authenticated by the shared header, verified), the hold
 * group, and the account management policy rule that denies enrollment and
 * recovery to the hold group.
 *
 * Event hooks API: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/EventHook/
 * Account management policy: https://developer.okta.com/docs/guides/okta-account-management-policy/main/
 */

/** The hook's name in Okta, per tenant. */
export const hookName = (tenant: string) => `Warden (${tenant})`;

/** The event hook URL for a tenant: `--url` is Warden's public base URL or the full hook URL. */
export function hookUrl(url: string, tenant: string): string {
  const u = new URL(url);
  if (/\/hooks\/okta\/[^/]+\/events\/?$/.test(u.pathname)) return u.toString();
  u.pathname = `${u.pathname.replace(/\/$/, '')}/hooks/okta/${tenant}/events`;
  return u.toString();
}

/** The Warden event hook as Okta reports it after registering or verifying. */
export interface RegisteredHook {
  id: string;
  /** Why Okta could not verify it, when it could not. */
  error?: string;
  created: boolean;
  status?: string;
  verificationStatus?: string;
  uri: string;
}

/** Event hooks of the org that point at Warden (by name or URL). */
export async function wardenHooks(tenant: OktaTenant, uri?: string): Promise<EventHook[]> {
  const hooks: EventHook[] = [];
  for await (const h of await (await tenant.client()).eventHookApi.listEventHooks()) {
    if (!h) continue;
    if (h.name === hookName(tenant.id) || (uri && h.channel?.config?.uri === uri)) hooks.push(h);
  }
  return hooks;
}

/**
 * Creates the event hook, or replaces the existing Warden hook, with exactly
 * the tenant's hook event types (`hookEventTypes`) and the shared-secret header, then asks Okta to verify it
 * (Okta calls Warden's GET endpoint with a challenge: Warden must be reachable).
 */
export async function registerEventHook(tenant: OktaTenant, url: string): Promise<RegisteredHook> {
  const uri = hookUrl(url, tenant.id);
  const api = (await tenant.client()).eventHookApi;
  const eventHook = {
    name: hookName(tenant.id),
    events: { type: 'EVENT_TYPE', items: [...hookEventTypes({ signals: tenant.config.eventHook.signals })] },
    channel: {
      type: 'HTTP',
      version: '1.0.0',
      config: { uri, headers: [], authScheme: { type: 'HEADER', key: tenant.config.eventHook.header, value: tenant.eventHookSecret.reveal() } },
    },
  } as unknown as EventHook;
  const [existing] = await wardenHooks(tenant, uri);
  let hook: EventHook;
  if (existing?.id) {
    hook = await api.replaceEventHook({ eventHookId: existing.id, eventHook });
    if (hook.status !== 'ACTIVE') hook = await api.activateEventHook({ eventHookId: existing.id });
  } else hook = await api.createEventHook({ eventHook });
  const verified = await api.verifyEventHook({ eventHookId: hook.id! }).catch((err: unknown) => {
    // Okta answers 400 when Warden did not echo its challenge (unreachable, wrong secret): the hook stays UNVERIFIED.
    if (httpStatusOf(err) === 400)
      return { status: hook.status, verificationStatus: 'UNVERIFIED', error: (err as { errorSummary?: string }).errorSummary ?? 'verification failed' };
    throw err;
  });
  return {
    id: hook.id!,
    created: !existing,
    uri,
    ...(verified.status ? { status: verified.status } : {}),
    ...(verified.verificationStatus ? { verificationStatus: verified.verificationStatus } : {}),
    ...('error' in verified ? { error: verified.error } : {}),
  };
}

/** Asks Okta to verify the Warden hook again. */
export async function verifyEventHook(tenant: OktaTenant, id?: string): Promise<RegisteredHook> {
  const hookId = id ?? (await wardenHooks(tenant))[0]?.id;
  if (!hookId)
    throw new WardenError(
      'ERR_NOT_FOUND',
      `no Warden event hook in ${tenant.config.orgUrl}: run \`${wardenCommand()} okta hooks register --tenant ${tenant.id} --url …\``,
    );
  const hook = await (await tenant.client()).eventHookApi.verifyEventHook({ eventHookId: hookId });
  return {
    id: hookId,
    created: false,
    uri: hook.channel?.config?.uri ?? '',
    ...(hook.status ? { status: hook.status } : {}),
    ...(hook.verificationStatus ? { verificationStatus: hook.verificationStatus } : {}),
  };
}

/** What the hook subscribes to beyond / short of what Warden needs (`expected`: the tenant's `hookEventTypes`). */
export function hookDrift(items: readonly string[], expected: readonly string[] = HOOK_EVENT_TYPES): { missing: string[]; extra: string[] } {
  return { missing: expected.filter((t) => !items.includes(t)), extra: items.filter((t) => !expected.includes(t)) };
}

/** Name of the account management policy rule Warden provisions. */
export const HOLD_RULE_NAME = 'Warden hold: deny enrollment and recovery';

/**
 * The Okta account management policy rule for the hold group: members may not
 * enroll or unenroll authenticators, recover a password or unlock their
 * account. (`access: DENY` is standard for authentication policy rules; check
 * in a preview org that your org applies it to account management.)
 */
export function holdRule(groupId: string): Record<string, unknown> {
  return {
    name: HOLD_RULE_NAME,
    priority: 1,
    type: 'ACCESS_POLICY',
    conditions: {
      people: { groups: { include: [groupId] } },
      elCondition: {
        condition:
          "accessRequest.operation == 'enroll' || accessRequest.operation == 'unenroll' || accessRequest.operation == 'recover' || accessRequest.operation == 'unlockAccount'",
      },
    },
    actions: { appSignOn: { access: 'DENY', verificationMethod: { factorMode: '1FA', type: 'ASSURANCE', constraints: [] } } },
  };
}

/** The hold group's id, creating the group when it does not exist. */
export async function ensureHoldGroup(tenant: OktaTenant): Promise<{ id: string; created: boolean }> {
  const name = tenant.config.holdGroup.name;
  const existing = tenant.config.holdGroup.id ?? (await findGroupId(tenant, name));
  if (existing) return { id: existing, created: false };
  const group = await (await tenant.client()).groupApi.createGroup({
    group: {
      profile: { name, description: 'Users Warden holds until a change is verified and approved. Managed by Warden: do not add or remove members by hand.' },
    },
  } as Parameters<Awaited<ReturnType<OktaTenant['client']>>['groupApi']['createGroup']>[0]);
  return { id: group.id!, created: true };
}

/**
 * Adds the hold rule to the org's account management policy (the
 * ACCESS_POLICY whose `_embedded.resourceType` is `END_USER_ACCOUNT_MANAGEMENT`),
 * unless a rule of that name is there.
 */
export async function applyHoldRule(tenant: OktaTenant, groupId: string): Promise<{ policyId: string; ruleId: string; created: boolean }> {
  const client = await tenant.client();
  const policies = (await client.http.getJson(`${client.baseUrl}/api/v1/policies?type=ACCESS_POLICY&expand=resourceType`)) as unknown as Array<{
    id: string;
    name?: string;
    _embedded?: { resourceType?: string };
  }>;
  const policy =
    policies.find((p) => p._embedded?.resourceType === 'END_USER_ACCOUNT_MANAGEMENT') ?? policies.find((p) => p.name === 'Okta Account Management Policy');
  if (!policy) throw new WardenError('ERR_NOT_FOUND', 'the org has no Okta account management policy (it needs Identity Engine)');
  const rules = (await client.http.getJson(`${client.baseUrl}/api/v1/policies/${policy.id}/rules`)) as unknown as Array<{ id: string; name?: string }>;
  const existing = rules.find((r) => r.name === HOLD_RULE_NAME);
  if (existing) return { policyId: policy.id, ruleId: existing.id, created: false };
  const rule = (await client.http.postJson(`${client.baseUrl}/api/v1/policies/${policy.id}/rules`, { body: holdRule(groupId) } as Parameters<
    typeof client.http.postJson
  >[1])) as unknown as { id: string };
  return { policyId: policy.id, ruleId: rule.id, created: true };
}
