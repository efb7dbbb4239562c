import { isSignalKind } from '../../src/core/identity-change.js';
import type { InboxHandler, ConnectorContext } from '../../src/connector/index.js';
import { mayRetryInbox, type InboxRow } from '../../src/connector/index.js';
import { BROKERED_KINDS } from './broker.js';
import { OKTA_OWN_CHANGES } from './event-types.js';
import { normalizeLogEvent } from './normalize-log-event.js';
import { applyOktaDirectory, oktaLookups } from './enrich-change.js';
import type { OktaDirectory, OktaUser } from './okta-directory.js';
import { oktaMetrics } from './okta-metrics.js';
import { httpStatusOf, toActionError } from './okta-errors.js';
import { splitDelivery } from './event-hook-receiver.js';
import type { OktaTenants } from './okta-tenant.js';

/** Attempts that wait for Okta to answer enrichment calls before deciding without them. */
const ENRICH_ATTEMPTS = 3;
/**
 * Attempts that wait for Okta's rate limit to reset before deciding without
 * enrichment: each waits for the bucket's `X-Rate-Limit-Reset` (a minute's
 * window), so up to four windows. The hold's own calls (group add, session
 * clear) spend the same `api` bucket, so while it is spent deciding blind
 * would not contain the change any sooner.
 */
const RATE_LIMITED_ENRICH_ATTEMPTS = 5;

/**
 * The Okta inbox handler: normalizes the stored LogEvent (a signal — an MFA
 * challenge outcome — is returned as normalized, see below), drops Warden's own
 * enforcement coming back (counted, not judged) — but not the change Warden's
 * broker made for a request, which is decided so that it matches and uses up
 * that request (its `context.wardenBroker` names it) —, and enriches target and
 * actor from the directory (groups, admin roles, profile attributes), which
 * also tells an administrator from the help desk.
 */
export function oktaInboxHandler(tenants: OktaTenants, directory: OktaDirectory): InboxHandler {
  return {
    split: splitDelivery,
    async toChanges(entry: InboxRow, ctx: ConnectorContext) {
      const tenant = tenants.find(ctx.config, entry.tenant);
      if (!tenant) return { ignored: `tenant ${entry.tenant} has no okta section` };
      const normalized = normalizeLogEvent(entry.payload, { tenant: entry.tenant, via: entry.via === 'poll' ? 'poll' : 'hook', observedAt: entry.receivedAt });
      if ('ignored' in normalized) return normalized;
      let change = normalized.change;
      // A signal (MFA challenge outcome) goes to detection as the event tells it: no directory calls for
      // thousands of sign-ins an hour (detection keys the person by the login in the event). Nor is it
      // Warden's own: even a proofing push Warden sent was answered by the person, which is what counts.
      if (isSignalKind(change.kind)) return { changes: [change] };

      let identity: string | undefined;
      try {
        identity = await directory.serviceIdentity(tenant, ctx.clock);
      } catch (err) {
        // Without it, Warden's own changes coming back cannot be told from anyone's: while Okta may still answer
        // (its rate limit, a 5xx, the network), the entry waits (for the bucket's reset on a 429).
        const status = httpStatusOf(err);
        if ((status === undefined || status === 429 || status >= 500) && mayRetryInbox(entry, ctx.config, RATE_LIMITED_ENRICH_ATTEMPTS))
          throw toActionError(err, 'Okta: which principal Warden acts as (GET /api/v1/users/me)', ctx.clock());
        ctx.log.warn({ err, tenant: tenant.id }, 'could not learn which Okta principal Warden acts as');
      }
      // The change Warden's broker made for an approved request is decided like any other, so it matches that request and uses it up.
      const recognised = await OKTA_OWN_CHANGES.recognise(ctx.store, change, { identities: new Set(identity ? [identity] : []), brokerKinds: BROKERED_KINDS });
      if ('ignored' in recognised) {
        oktaMetrics(ctx.metrics.registry).ownChanges.inc({ tenant: tenant.id });
        return { ignored: recognised.ignored };
      }
      change = recognised.change;

      let target: OktaUser | undefined;
      let actor: OktaUser | undefined;
      try {
        const ids = oktaLookups(change);
        if (ids.target !== undefined) target = await directory.user(tenant, ids.target, ctx);
        if (ids.actor !== undefined) actor = ids.actor === change.target.id ? target : await directory.user(tenant, ids.actor, ctx);
      } catch (err) {
        // Refused by Okta's rate limit: try again when the bucket resets (the inbox honours retryAfterMs), not 2 s later into the same spent bucket.
        if (httpStatusOf(err) === 429 && mayRetryInbox(entry, ctx.config, RATE_LIMITED_ENRICH_ATTEMPTS))
          throw toActionError(err, `Okta enrichment of ${change.target.id}`, ctx.clock());
        if (mayRetryInbox(entry, ctx.config, ENRICH_ATTEMPTS)) throw err;
        ctx.log.warn({ err, tenant: tenant.id, eventId: entry.eventId }, 'deciding without enrichment: Okta did not answer');
        const context = { ...change.context };
        context.enrichment = 'failed';
        change = { ...change, context };
      }
      change = applyOktaDirectory(change, target, actor, tenant.config.helpdesk);
      return { changes: [change] };
    },
  };
}
