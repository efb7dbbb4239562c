import { WardenError } from '../../src/core/errors.js';
/**
 * Every Microsoft Graph and Office 365 Management Activity API call the Entra
 * connector makes, with the application permission that grants it. All calls
 * go through these entries (graph-session.ts refuses a path that is not
 * here, and a test checks no other file calls Graph), so this table is the
 * one source of the permission list: `infra/terraform/azure/permissions.json`
 * is generated from it (`npm run gen:entra-permissions`) and a test keeps the
 * two equal. Permissions are the least privileged among those Warden holds
 * anyway (e.g. reading a user needs only User.Read.All, but Warden holds
 * User.ReadWrite.All to disable accounts, so reading uses that).
 *
 * Sources: the "Permissions" table of each API's page in
 * microsoftgraph/microsoft-graph-docs-contrib (api-reference/v1.0/api/…),
 * office-365-management-activity-api-reference.md.
 */

/** Which API a Graph call goes to: Microsoft Graph, or the Office 365 Management Activity API. */
export type GraphCallApi = 'graph' | 'management';

/** One call the connector makes: method and path, the permission that grants it, and why. */
export interface GraphCall {
  api: GraphCallApi;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path under the API version root, `{name}` for parameters. */
  path: string;
  /** The application permission (app role) that allows it. */
  permission: string;
  /** Why Warden calls it. */
  purpose: string;
  /**
   * The Terraform variable (infra/terraform/azure/variables.tf) that must be
   * set for the app registration to ask for this operation's permission: a
   * permission strong enough to be requested only by those who use the action.
   */
  optIn?: string;
}

/** Every call, by name: `GraphSession.call(name, …)` takes one of these names. */
export const GRAPH_CALLS = {
  getUser: {
    api: 'graph',
    method: 'GET',
    path: '/users/{user}',
    permission: 'User.ReadWrite.All',
    purpose: 'enrich targets and actors (profile, employee type, account flags)',
  },
  listUsers: {
    api: 'graph',
    method: 'GET',
    path: '/users',
    permission: 'User.ReadWrite.All',
    purpose: 'warden entra directory export: every user of the directory, for a snapshot',
  },
  updateUser: {
    api: 'graph',
    method: 'PATCH',
    path: '/users/{user}',
    permission: 'User.ReadWrite.All',
    purpose: 'suspend / unsuspend (accountEnabled), expire_password (passwordProfile)',
  },
  revokeSignInSessions: {
    api: 'graph',
    method: 'POST',
    path: '/users/{user}/revokeSignInSessions',
    permission: 'User.ReadWrite.All',
    purpose: 'revoke_sessions',
  },
  listUserGroups: {
    api: 'graph',
    method: 'GET',
    path: '/users/{user}/transitiveMemberOf/microsoft.graph.group',
    permission: 'GroupMember.ReadWrite.All',
    purpose: 'enrich: group names for tiers',
  },
  listRoleAssignments: {
    api: 'graph',
    method: 'GET',
    path: '/roleManagement/directory/roleAssignments',
    permission: 'RoleManagement.Read.Directory',
    purpose: 'enrich: directory roles (privileged tier, help-desk channel)',
  },
  listMethods: {
    api: 'graph',
    method: 'GET',
    path: '/users/{user}/authentication/methods',
    permission: 'UserAuthenticationMethod.ReadWrite.All',
    purpose: 'find the new method to remove; reset_factors',
  },
  deleteMethod: {
    api: 'graph',
    method: 'DELETE',
    path: '/users/{user}/authentication/{collection}/{method}',
    permission: 'UserAuthenticationMethod.ReadWrite.All',
    purpose: 'remove_new_factor, reset_factors',
  },
  listTemporaryAccessPasses: {
    api: 'graph',
    method: 'GET',
    path: '/users/{user}/authentication/temporaryAccessPassMethods',
    permission: 'UserAuthenticationMethod.ReadWrite.All',
    purpose: 'TAP broker: find a pass an interrupted attempt issued',
  },
  createTemporaryAccessPass: {
    api: 'graph',
    method: 'POST',
    path: '/users/{user}/authentication/temporaryAccessPassMethods',
    permission: 'UserAuthenticationMethod.ReadWrite.All',
    purpose: 'TAP broker',
  },
  createGroup: { api: 'graph', method: 'POST', path: '/groups', permission: 'Group.Create', purpose: 'warden entra provision: the hold group' },
  findGroups: {
    api: 'graph',
    method: 'GET',
    path: '/groups',
    permission: 'GroupMember.ReadWrite.All',
    purpose: 'warden entra provision: find an existing hold group',
  },
  addGroupMember: { api: 'graph', method: 'POST', path: '/groups/{group}/members/$ref', permission: 'GroupMember.ReadWrite.All', purpose: 'hold_group' },
  removeGroupMember: {
    api: 'graph',
    method: 'DELETE',
    path: '/groups/{group}/members/{user}/$ref',
    permission: 'GroupMember.ReadWrite.All',
    purpose: 'release_hold_group',
  },
  confirmCompromised: {
    api: 'graph',
    method: 'POST',
    path: '/identityProtection/riskyUsers/confirmCompromised',
    permission: 'IdentityRiskyUser.ReadWrite.All',
    purpose: 'raise_risk (Entra ID P2)',
  },
  getServicePrincipal: {
    api: 'graph',
    method: 'GET',
    path: '/servicePrincipals/{object}',
    permission: 'Application.ReadWrite.All',
    optIn: 'enable_revoke_new_credential',
    purpose: 'revoke_new_credential: find the secrets and certificates added since the change',
  },
  removeServicePrincipalPassword: {
    api: 'graph',
    method: 'POST',
    path: '/servicePrincipals/{object}/removePassword',
    permission: 'Application.ReadWrite.All',
    optIn: 'enable_revoke_new_credential',
    purpose: 'revoke_new_credential (service principal secret)',
  },
  getApplication: {
    api: 'graph',
    method: 'GET',
    path: '/applications/{object}',
    permission: 'Application.ReadWrite.All',
    optIn: 'enable_revoke_new_credential',
    purpose: 'revoke_new_credential: find the secrets and certificates added since the change',
  },
  removeApplicationPassword: {
    api: 'graph',
    method: 'POST',
    path: '/applications/{object}/removePassword',
    permission: 'Application.ReadWrite.All',
    optIn: 'enable_revoke_new_credential',
    purpose: 'revoke_new_credential (application secret)',
  },
  updateApplicationKeys: {
    api: 'graph',
    method: 'PATCH',
    path: '/applications/{object}',
    permission: 'Application.ReadWrite.All',
    optIn: 'enable_revoke_new_credential',
    purpose: 'revoke_new_credential (application certificate: keyCredentials without the new one)',
  },
  updateServicePrincipalKeys: {
    api: 'graph',
    method: 'PATCH',
    path: '/servicePrincipals/{object}',
    permission: 'Application.ReadWrite.All',
    optIn: 'enable_revoke_new_credential',
    purpose: 'revoke_new_credential (service principal certificate: keyCredentials without the new one)',
  },
  listDirectoryAudits: {
    api: 'graph',
    method: 'GET',
    path: '/auditLogs/directoryAudits',
    permission: 'AuditLog.Read.All',
    purpose: 'the directoryAudits poller and backfill',
  },
  createSubscription: {
    api: 'graph',
    method: 'POST',
    path: '/subscriptions',
    permission: 'User.ReadWrite.All',
    purpose: 'change notifications on /users (a subscription needs read access to its resource)',
  },
  listSubscriptions: {
    api: 'graph',
    method: 'GET',
    path: '/subscriptions',
    permission: 'User.ReadWrite.All',
    purpose: 'warden entra list; adopt an existing subscription',
  },
  getSubscription: {
    api: 'graph',
    method: 'GET',
    path: '/subscriptions/{subscription}',
    permission: 'User.ReadWrite.All',
    purpose: 'subscription manager: is it still there',
  },
  renewSubscription: { api: 'graph', method: 'PATCH', path: '/subscriptions/{subscription}', permission: 'User.ReadWrite.All', purpose: 'renew before expiry' },
  reauthorizeSubscription: {
    api: 'graph',
    method: 'POST',
    path: '/subscriptions/{subscription}/reauthorize',
    permission: 'User.ReadWrite.All',
    purpose: 'lifecycle reauthorizationRequired',
  },
  deleteSubscription: {
    api: 'graph',
    method: 'DELETE',
    path: '/subscriptions/{subscription}',
    permission: 'User.ReadWrite.All',
    purpose: 'replace a silent subscription',
  },
  startActivitySubscription: {
    api: 'management',
    method: 'POST',
    path: '/{tenant}/activity/feed/subscriptions/start',
    permission: 'ActivityFeed.Read',
    purpose: 'Management Activity API: start Audit.Exchange',
  },
  listActivityContent: {
    api: 'management',
    method: 'GET',
    path: '/{tenant}/activity/feed/subscriptions/content',
    permission: 'ActivityFeed.Read',
    purpose: 'Management Activity API: list content blobs',
  },
  getActivityContent: {
    api: 'management',
    method: 'GET',
    path: '/{tenant}/activity/feed/audit/{content}',
    permission: 'ActivityFeed.Read',
    purpose: 'Management Activity API: read a content blob',
  },
} as const satisfies Record<string, GraphCall>;

/** The name of a Graph call (a key of {@link GRAPH_CALLS}). */
export type GraphCallName = keyof typeof GRAPH_CALLS;

/** The app registration's required resource access, by API: what `infra/terraform/azure/permissions.json` holds. */
/** The permissions requested only when a Terraform variable says so (every call that needs them is opt-in), with that variable. */
export function graphCallOptInPermissions(): Record<string, string> {
  const calls = Object.values(GRAPH_CALLS as Record<string, GraphCall>);
  const out: Record<string, string> = {};
  for (const permission of new Set(calls.map((c) => c.permission))) {
    const users = calls.filter((c) => c.permission === permission);
    const variable = users[0]?.optIn;
    if (variable && users.every((c) => c.optIn === variable)) out[permission] = variable;
  }
  return out;
}

export function graphCallPermissions(): { microsoftGraph: string[]; office365ManagementApis: string[] } {
  const of = (api: GraphCallApi) =>
    [
      ...new Set(
        Object.values(GRAPH_CALLS as Record<string, GraphCall>)
          .filter((o) => o.api === api)
          .map((o) => o.permission),
      ),
    ].sort();
  return { microsoftGraph: of('graph'), office365ManagementApis: of('management') };
}

/** The Graph call a request (method and path under the version root) is, if any: used to prove the table is complete. */
export function graphCallFor(api: GraphCallApi, method: string, path: string): GraphCallName | undefined {
  for (const [name, op] of Object.entries(GRAPH_CALLS) as Array<[GraphCallName, GraphCall]>) {
    if (op.api !== api || op.method !== method.toUpperCase()) continue;
    const pattern = new RegExp(`^${op.path.replace(/[.$]/g, (c) => `\\${c}`).replace(/\{[a-z]+\}/g, '[^/]+')}$`);
    if (pattern.test(path)) return name;
  }
  return undefined;
}

/** Builds a Graph call's path from its parameters (each URL-encoded). */
export function graphCallPath(name: GraphCallName, params: Record<string, string> = {}): string {
  return GRAPH_CALLS[name].path.replace(/\{([a-z]+)\}/g, (_m, key: string) => {
    const value = params[key];
    if (value === undefined) throw new WardenError('ERR_INTERNAL', `Graph call ${name} needs the parameter ${key}`);
    return encodeURIComponent(value);
  });
}
