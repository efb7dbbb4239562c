import type { IdentityChange } from '../../src/core/identity-change.js';
import { ActionError, wardenCommand, type ActionRow, type ConnectorContext, type Enforcer } from '../../src/connector/index.js';
import type { EntraRuntime } from './entra-runtime.js';
import type { EntraTenant } from './entra-tenant.js';
import { GraphCallError } from './graph-session.js';
import { actionRef } from '../../src/connector/index.js';
import { ENTRA_OWN_CHANGES, ENTRA_OWN_EVENT_TYPES } from './own-changes.js';

/**
 * Makes Entra honour a decision through Microsoft Graph (shared/research/entra.md
 * §4): remove the authentication method the change added, revoke sign-in
 * sessions, put the user in (or take them out of) the hold group, disable and
 * re-enable the account, force a password change, confirm the user
 * compromised (Entra ID P2).
 *
 * Every action is recorded as Warden's own change before the Graph call
 * (src/connector/own-changes.ts), so the audit record Entra writes for it is
 * recognised when the poller reads it back and not judged again.
 *
 * Every action is safe to repeat, because the outbox may run it again after a
 * crash and the Graph client's retry handler re-sends POSTs and DELETEs on
 * 429/503/504: a method already gone, a member already in (or out of) the
 * group, an account already in the wanted state count as done. A 429 or 503
 * the client did not retry in place becomes an `ActionError` with
 * `retryAfterMs` from `Retry-After`; other 4xx answers are permanent.
 */

/** Method collections under `/users/{id}/authentication/` by `@odata.type`. */
const COLLECTION_OF_TYPE: Record<string, string> = {
  '#microsoft.graph.phoneAuthenticationMethod': 'phoneMethods',
  '#microsoft.graph.microsoftAuthenticatorAuthenticationMethod': 'microsoftAuthenticatorMethods',
  '#microsoft.graph.fido2AuthenticationMethod': 'fido2Methods',
  '#microsoft.graph.softwareOathAuthenticationMethod': 'softwareOathMethods',
  '#microsoft.graph.emailAuthenticationMethod': 'emailMethods',
  '#microsoft.graph.temporaryAccessPassAuthenticationMethod': 'temporaryAccessPassMethods',
  '#microsoft.graph.windowsHelloForBusinessAuthenticationMethod': 'windowsHelloForBusinessMethods',
  '#microsoft.graph.platformCredentialAuthenticationMethod': 'platformCredentialMethods',
  '#microsoft.graph.passwordAuthenticationMethod': 'passwordMethods',
};

/** Collections with no creation time on their methods (a new one is told apart only by being the only one). */
const UNDATED = new Set(['phoneMethods', 'emailMethods', 'softwareOathMethods']);

const MOBILE = '3179e48a-750b-4051-897c-87b9720928f7';

interface AuthMethod {
  '@odata.type'?: string;
  id: string;
  createdDateTime?: string | null;
  creationDateTime?: string | null;
  phoneType?: string;
}

/** The method collection a normalized factor lives in. */
export function collectionForFactor(factor: IdentityChange['factor']): string | undefined {
  switch (factor?.type) {
    case 'sms':
    case 'voice':
      return 'phoneMethods';
    case 'push':
      return 'microsoftAuthenticatorMethods';
    case 'totp':
      return /authenticator/i.test(factor.name ?? '') ? 'microsoftAuthenticatorMethods' : 'softwareOathMethods';
    case 'webauthn':
      return 'fido2Methods';
    case 'platform':
      return /hello/i.test(factor.name ?? '') ? 'windowsHelloForBusinessMethods' : 'platformCredentialMethods';
    case 'email':
      return 'emailMethods';
    case 'tap':
      return 'temporaryAccessPassMethods';
    default:
      return undefined;
  }
}

/** A failed call as the outbox wants it: retryable with the service's wait, or permanent. */
export function toActionError(err: unknown, what: string): ActionError {
  if (err instanceof ActionError) return err;
  if (err instanceof GraphCallError) {
    if (err.retryable)
      return new ActionError(`${what}: ${err.message}`, { ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}), cause: err });
    return new ActionError(`${what}: ${err.message}`, { permanent: true, cause: err });
  }
  return new ActionError(`${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

const isStatus = (err: unknown, status: number, text?: RegExp) => err instanceof GraphCallError && err.status === status && (!text || text.test(err.message));

export function entraEnforcer(runtime: EntraRuntime): Enforcer {
  return {
    async execute(action: ActionRow, ctx: ConnectorContext) {
      const tenant = runtime.tenant(ctx.config, action.tenant, ctx.clock);
      if (!tenant) throw new ActionError(`tenant ${action.tenant} has no entra section`, { permanent: true });
      const run = ACTIONS[action.kind];
      if (!run) throw new ActionError(`the Entra connector does not execute "${action.kind}"`, { permanent: true });
      try {
        const userId = await objectId(tenant, action.targetId);
        // Recorded before the Graph call, with the object id the audit record will name.
        const intent = { tenant: action.tenant, ref: actionRef(action.id), targetId: userId, eventTypes: ENTRA_OWN_EVENT_TYPES[action.kind] ?? [] };
        try {
          return await ENTRA_OWN_CHANGES.perform(ctx.store, ctx.clock, intent, () => run({ tenant, action, ctx, userId }));
        } finally {
          tenant.directory.forget(userId); // failed or not, the user may have changed: read again; the others stay cached
        }
      } catch (err) {
        throw toActionError(err, `${action.kind} for ${action.targetId}`);
      }
    },
  };
}

/** Graph paths take a UPN, group references need the object id: resolve a UPN once. */
async function objectId(tenant: EntraTenant, idOrUpn: string): Promise<string> {
  if (!idOrUpn.includes('@')) return idOrUpn;
  const user = await tenant.directory.getUser(idOrUpn);
  if (!user) throw new ActionError(`no Entra user ${idOrUpn}`, { permanent: true });
  return user.id;
}

interface ActionInput {
  tenant: EntraTenant;
  action: ActionRow;
  ctx: ConnectorContext;
  userId: string;
}

const ACTIONS: Record<string, (input: ActionInput) => Promise<unknown>> = {
  async revoke_sessions({ tenant, userId }) {
    // Idempotent by nature: a second revocation moves signInSessionsValidFromDateTime again.
    await tenant.session.call('revokeSignInSessions', { user: userId }, (r) => r.post({}) as Promise<unknown>);
    return { revoked: true };
  },

  async hold_group({ tenant, userId }) {
    const group = holdGroup(tenant);
    try {
      await tenant.session.call(
        'addGroupMember',
        { group },
        (r) => r.post({ '@odata.id': `${tenant.session.endpoints.graphBaseUrl}/v1.0/directoryObjects/${userId}` }) as Promise<unknown>,
      );
      return { group, added: true };
    } catch (err) {
      if (isStatus(err, 400, /already exist/i)) return { group, added: false, alreadyMember: true };
      throw err;
    }
  },

  async release_hold_group({ tenant, userId }) {
    const group = holdGroup(tenant);
    try {
      await tenant.session.call('removeGroupMember', { group, user: userId }, (r) => r.delete() as Promise<unknown>);
      return { group, removed: true };
    } catch (err) {
      if (isStatus(err, 404)) return { group, removed: false, notMember: true };
      throw err;
    }
  },

  async suspend({ tenant, userId }) {
    const user = await tenant.directory.getUser(userId);
    if (!user) throw new ActionError(`no Entra user ${userId}`, { permanent: true });
    // Recorded so the release does not enable an account someone else had disabled.
    if (user.accountEnabled === false) return { disabled: false, alreadyDisabled: true };
    await tenant.session.call('updateUser', { user: userId }, (r) => r.patch({ accountEnabled: false }) as Promise<unknown>);
    return { disabled: true };
  },

  async unsuspend({ tenant, action, ctx, userId }) {
    const undoes = typeof action.params.undoes === 'string' ? action.params.undoes : undefined;
    if (undoes && action.decisionId) {
      const suspended = (await ctx.store.listActions(action.tenant, action.decisionId)).find((a) => a.id === undoes);
      if ((suspended?.result as { alreadyDisabled?: boolean } | undefined)?.alreadyDisabled)
        return { enabled: false, skipped: 'the account was disabled before Warden suspended it: left disabled' };
    }
    await tenant.session.call('updateUser', { user: userId }, (r) => r.patch({ accountEnabled: true }) as Promise<unknown>);
    return { enabled: true };
  },

  async expire_password({ tenant, userId }) {
    await tenant.session.call('updateUser', { user: userId }, (r) => r.patch({ passwordProfile: { forceChangePasswordNextSignIn: true } }) as Promise<unknown>);
    return { forceChangePasswordNextSignIn: true };
  },

  async raise_risk({ tenant, userId }) {
    try {
      await tenant.session.call('confirmCompromised', {}, (r) => r.post({ userIds: [userId] }) as Promise<unknown>);
      return { confirmedCompromised: true };
    } catch (err) {
      if (isStatus(err, 403))
        throw new ActionError(
          `raise_risk for ${userId}: Entra refused (${(err as Error).message}); confirmCompromised needs Entra ID P2 and IdentityRiskyUser.ReadWrite.All`,
          { permanent: true, cause: err },
        );
      throw err;
    }
  },

  async remove_new_factor({ tenant, action, ctx, userId }) {
    const changeId = typeof action.params.changeId === 'string' ? action.params.changeId : undefined;
    const change = changeId ? await ctx.store.getChange(action.tenant, changeId) : undefined;
    if (!change) throw new ActionError(`remove_new_factor: change ${changeId ?? '(none)'} not found`, { permanent: true });
    if (!['factor.enroll', 'tap.issue', 'factor.update'].includes(change.kind)) return { skipped: `a ${change.kind} change adds no authentication method` };
    const collection = collectionForFactor(change.factor);
    if (!collection)
      throw new ActionError(
        `remove_new_factor: the audit record does not say which kind of method was added (${change.factor?.name ?? change.factor?.type ?? 'unknown'}); remove it in the Entra admin center`,
        { permanent: true },
      );
    const methods = await listMethods(tenant, userId, collection);
    const factorId = typeof action.params.factorId === 'string' ? action.params.factorId : change.factor?.id;
    let targets: AuthMethod[];
    if (factorId) targets = methods.filter((m) => m.id === factorId);
    else if (UNDATED.has(collection)) {
      if (methods.length > 1)
        throw new ActionError(
          `remove_new_factor: the user has ${methods.length} ${collection} and the audit record does not say which one is new; remove it in the Entra admin center`,
          { permanent: true },
        );
      targets = methods;
    } else {
      // Methods registered at or after the change (minus clock skew) are the new ones.
      const since = Date.parse(change.occurredAt) - 5 * 60_000;
      targets = methods.filter((m) => Date.parse(m.createdDateTime ?? m.creationDateTime ?? '') >= since);
    }
    if (targets.length === 0) return { removed: [], alreadyGone: true, collection };
    // Entra refuses to delete the mobile phone while an alternate mobile exists.
    targets.sort((a, b) => (a.id === MOBILE ? 1 : 0) - (b.id === MOBILE ? 1 : 0));
    const removed: string[] = [];
    for (const method of targets) {
      try {
        await tenant.session.call('deleteMethod', { user: userId, collection, method: method.id }, (r) => r.delete() as Promise<unknown>);
        removed.push(method.id);
      } catch (err) {
        if (isStatus(err, 404)) continue;
        if (isStatus(err, 400))
          throw new ActionError(
            `remove_new_factor: Entra refused to delete ${collection} ${method.id} (${(err as Error).message}). A user's default method cannot be deleted while others remain, nor the mobile phone while an alternate mobile exists: change the default in the Entra admin center, then retry. The account stays contained meanwhile`,
            { permanent: true, cause: err },
          );
        throw err;
      }
    }
    return { removed, collection };
  },

  /**
   * Removes the credentials added to the application or service principal at
   * or after the change (minus clock skew). The audit record names the object
   * but not the credential's keyId, so the new ones are told apart by
   * `startDateTime`, as new factors are by creation time.
   *
   * - A client secret: Graph `removePassword` on the application or the
   *   service principal.
   * - A certificate (key): not `removeKey`, which needs a proof-of-possession
   *   JWT signed by one of the object's existing keys (Warden holds none), but
   *   the documented alternative, an update of the object's `keyCredentials`
   *   (`PATCH /applications/{id}`, `PATCH /servicePrincipals/{id}`) with the
   *   collection read with `$select=keyCredentials` (which returns each key's
   *   `key`) minus the new ones. None found: a permanent failure, since a
   *   certificate's `startDateTime` is its own validity start, and one dated
   *   before the change cannot be told apart.
   */
  async revoke_new_credential({ tenant, action, ctx, userId: objectId }) {
    const changeId = typeof action.params.changeId === 'string' ? action.params.changeId : undefined;
    const change = changeId ? await ctx.store.getChange(action.tenant, changeId) : undefined;
    if (change?.kind !== 'credential.add')
      throw new ActionError(`revoke_new_credential: change ${changeId ?? '(none)'} is no credential.add`, { permanent: true });
    const owner = action.params.credentialOwnerType === 'application' ? 'application' : 'servicePrincipal';
    const read = owner === 'application' ? 'getApplication' : 'getServicePrincipal';
    const since = Date.parse(change.occurredAt) - 5 * 60_000;
    if (action.params.credentialType === 'key') return revokeNewKeys(tenant, owner, objectId, since);
    const remove = owner === 'application' ? 'removeApplicationPassword' : 'removeServicePrincipalPassword';
    const object = await tenant.session.call(
      read,
      { object: objectId },
      (r) => r.select(['id', 'passwordCredentials']).get() as Promise<{ passwordCredentials?: Array<{ keyId: string; startDateTime?: string | null }> }>,
    );
    const added = (object.passwordCredentials ?? []).filter((c) => Date.parse(c.startDateTime ?? '') >= since);
    const removed: string[] = [];
    for (const c of added) {
      try {
        await tenant.session.call(remove, { object: objectId }, (r) => r.post({ keyId: c.keyId }) as Promise<unknown>);
        removed.push(c.keyId);
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    }
    return { owner, objectId, removed, since: new Date(since).toISOString() };
  },

  async reset_factors({ tenant, userId }) {
    const all = (await listMethods(tenant, userId)).filter(
      (m) => COLLECTION_OF_TYPE[m['@odata.type'] ?? ''] && COLLECTION_OF_TYPE[m['@odata.type']!] !== 'passwordMethods',
    );
    // Alternate phones before the mobile one; whatever Entra refuses (the default method while others remain) is tried again last.
    all.sort((a, b) => (a.id === MOBILE ? 1 : 0) - (b.id === MOBILE ? 1 : 0));
    let pending = all;
    const removed: string[] = [];
    for (let round = 0; round < 2 && pending.length; round++) {
      const refused: AuthMethod[] = [];
      for (const method of pending) {
        const collection = COLLECTION_OF_TYPE[method['@odata.type']!]!;
        try {
          await tenant.session.call('deleteMethod', { user: userId, collection, method: method.id }, (r) => r.delete() as Promise<unknown>);
          removed.push(method.id);
        } catch (err) {
          if (isStatus(err, 404)) continue;
          if (isStatus(err, 400)) refused.push(method);
          else throw err;
        }
      }
      pending = refused;
    }
    if (pending.length)
      throw new ActionError(`reset_factors: Entra refused to delete ${pending.map((m) => m.id).join(', ')}; removed ${removed.length}`, { permanent: true });
    return { removed };
  },
};

function holdGroup(tenant: EntraTenant): string {
  const id = tenant.config.holdGroup.id;
  if (!id)
    throw new ActionError(`no hold group configured (entra.holdGroup.id): run \`${wardenCommand()} entra provision\` and put the group id in warden.yaml`, {
      permanent: true,
    });
  return id;
}

async function listMethods(tenant: EntraTenant, userId: string, collection?: string): Promise<AuthMethod[]> {
  const page = await tenant.session.call('listMethods', { user: userId }, (r) => r.get() as Promise<{ value: AuthMethod[] }>);
  return page.value.filter((m) => !collection || COLLECTION_OF_TYPE[m['@odata.type'] ?? ''] === collection);
}

/** A certificate as Graph lists it on an application or service principal (`key` present with `$select=keyCredentials` on one object). */
interface KeyCredential {
  keyId: string;
  startDateTime?: string | null;
  key?: string | null;
  [field: string]: unknown;
}

/**
 * Removes the certificates of `objectId` that started at or after `since` by
 * replacing its `keyCredentials` with the older ones (Graph "Update
 * application" / "Update servicePrincipal"; `removeKey` would need a proof
 * signed by an existing key). Repeating it finds nothing new and succeeds.
 */
async function revokeNewKeys(tenant: EntraTenant, owner: 'application' | 'servicePrincipal', objectId: string, since: number) {
  const read = owner === 'application' ? 'getApplication' : 'getServicePrincipal';
  const update = owner === 'application' ? 'updateApplicationKeys' : 'updateServicePrincipalKeys';
  const object = await tenant.session.call(
    read,
    { object: objectId },
    (r) => r.select(['id', 'keyCredentials']).get() as Promise<{ keyCredentials?: KeyCredential[] }>,
  );
  const keys = object.keyCredentials ?? [];
  const added = keys.filter((k) => Date.parse(k.startDateTime ?? '') >= since);
  const kept = keys.filter((k) => !added.includes(k));
  if (added.length === 0)
    throw new ActionError(
      `revoke_new_credential: no certificate on ${owner} ${objectId} starts after the change (a certificate's start is its own validity start, so one dated earlier cannot be told apart). Review its certificates in the Entra admin center (Certificates & secrets); the change stays held`,
      { permanent: true },
    );
  if (kept.some((k) => typeof k.key !== 'string' || k.key === ''))
    throw new ActionError(
      `revoke_new_credential: Graph did not return the certificates to keep on ${owner} ${objectId}, so its keyCredentials cannot be updated without removing them too. Remove the new certificate in the Entra admin center (Certificates & secrets); the change stays held`,
      { permanent: true },
    );
  await tenant.session.call(update, { object: objectId }, (r) => r.patch({ keyCredentials: kept }) as Promise<unknown>);
  return { owner, objectId, credentialType: 'key', removed: added.map((k) => k.keyId), since: new Date(since).toISOString() };
}
