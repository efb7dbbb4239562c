import type { ResolvedTenant } from '../../config/load-config.js';
import type { Alert, AlertChange } from '../../core/alert.js';
import type { ChangeRequest, WorkflowActor } from '../../core/change-request.js';
import { WardenError } from '../../core/errors.js';
import { uuidv7 } from '../../core/ids.js';
import { appendAudit } from '../../audit/audit-log.js';
import { publishAlertEvents } from '../../notify/publish-alert-events.js';
import { publishEvent } from '../../notify/publish-event.js';
import type { ActionEntry, NotMeLinkRow, StoreTx } from '../../store/store.js';
import { OPEN_STATES } from '../request-states.js';
import type { WorkflowContext } from '../request-context.js';
import type { DirectoriesOf } from './not-me-notifier.js';
import { tokenTenant, verifyNotMeToken, type NotMePayload } from './not-me-token.js';

/** What answering a link needs besides the workflow. */
export interface NotMeDeps {
  ctx: WorkflowContext;
  tenants: readonly ResolvedTenant[];
  directories: DirectoriesOf;
}

/** What the page shows before the person answers. */
export interface NotMeView {
  tenant: string;
  subject: { kind: 'request' | 'change'; id: string };
  /** In plain words. */
  what: string;
  expiresAt: string;
}

/** What "not me" did. */
export interface NotMeOutcome {
  outcome: 'not_me' | 'was_me';
  cancelled: string[];
  heldIn: string[];
  alertId?: string;
}

/** The affected person, acting through the link: Warden records it as a system actor naming the link. */
const linkActor = (link: NotMeLinkRow): WorkflowActor => ({ type: 'system', id: 'warden', name: `affected person ${link.personId} (not-me link ${link.id})` });

function keyFor(deps: NotMeDeps, tenant: string): string {
  const t = deps.tenants.find((x) => x.id === tenant);
  const name = t?.notifications?.notMe?.secret;
  const secret = name ? t.secrets[name] : undefined;
  // An unknown tenant or a tenant without links: the same answer as a forged link.
  if (!secret) throw new WardenError('ERR_LINK_INVALID', 'this link is not one Warden sent');
  return secret.reveal();
}

/**
 * Checks a link against the store: it exists, it is bound to the same
 * person and subject the signed token names, it is unused and not expired,
 * and the request it is about is still that person's.
 *
 * @throws WardenError `ERR_LINK_INVALID`, `ERR_LINK_EXPIRED`, `ERR_LINK_USED`, `ERR_LINK_WRONG_PERSON`
 */
async function checkLink(
  deps: NotMeDeps,
  tx: StoreTx | undefined,
  token: string,
  now: Date,
): Promise<{ payload: NotMePayload; link: NotMeLinkRow; request?: ChangeRequest }> {
  const tenant = tokenTenant(token);
  const payload = verifyNotMeToken(token, keyFor(deps, tenant), now);
  const store = tx ?? deps.ctx.store;
  const link = await store.getNotMeLink(tenant, payload.l, tx ? { lock: true } : {});
  if (!link) throw new WardenError('ERR_LINK_INVALID', 'this link is not one Warden sent');
  if (link.personId !== payload.p || link.subject.kind !== payload.k || link.subject.id !== payload.s)
    throw new WardenError('ERR_LINK_WRONG_PERSON', 'this link was sent to someone else, or about something else');
  if (link.usedAt) throw new WardenError('ERR_LINK_USED', 'this link was used already');
  if (now.getTime() >= link.expiresAt.getTime()) throw new WardenError('ERR_LINK_EXPIRED', 'this link has expired');
  if (link.subject.kind === 'request') {
    const request = await store.getRequest(tenant, link.subject.id, tx ? { lock: true } : {});
    const target = request?.people?.target ?? request?.target.id;
    if (!request || target !== link.personId) throw new WardenError('ERR_LINK_WRONG_PERSON', 'this link was sent to someone else, or about something else');
    return { payload, link, request };
  }
  return { payload, link };
}

/** What the page shows for a link (GET: nothing changes). */
export async function inspectNotMe(deps: NotMeDeps, token: string): Promise<NotMeView> {
  const { link, request } = await checkLink(deps, undefined, token, deps.ctx.now());
  let what: string;
  if (request) what = `A help-desk request (${request.kind}) was filed for your account on ${request.createdAt}.`;
  else {
    const change = await deps.ctx.store.getChange(link.tenant, link.subject.id);
    what = change
      ? `${change.actor.login ?? change.actor.id} made a change to your account (${change.kind}) on ${change.occurredAt}.`
      : 'Someone else made a change to your account.';
  }
  return { tenant: link.tenant, subject: link.subject, what, expiresAt: link.expiresAt.toISOString() };
}

/**
 * Answers a link, once (POST). "It was me" is recorded as evidence of kind
 * `affected_person` on the request (never proofing: the request still needs
 * what the policy asks). "Not me" cancels the person's open requests, queues
 * a hold of the person in every IdP that knows them (`hold_group` actions in
 * the outbox), raises a critical alert and publishes `person.not_me` for
 * security — all in one transaction with the link's use.
 *
 * @throws WardenError `ERR_LINK_INVALID`, `ERR_LINK_EXPIRED`, `ERR_LINK_USED`, `ERR_LINK_WRONG_PERSON`
 */
export async function answerNotMe(
  deps: NotMeDeps,
  token: string,
  answer: 'not_me' | 'was_me',
  meta: { userAgent?: string; via?: 'link' | 'okta_verify_push' } = {},
): Promise<NotMeOutcome> {
  const via = meta.via ?? 'link';
  const { ctx } = deps;
  const now = ctx.now();
  // Checked before the IdP lookups (no directory call for a bad link), then again under lock.
  const first = await checkLink(deps, undefined, token, now);
  const identities = answer === 'not_me' ? await identitiesOf(deps, first.link, first.request) : [];
  return ctx.transaction(async (tx) => {
    const { link, request } = await checkLink(deps, tx, token, now);
    if (!(await tx.useNotMeLink(link.tenant, link.id, answer, now))) throw new WardenError('ERR_LINK_USED', 'this link was used already');
    const actor = linkActor(link);
    const tenant = link.tenant;
    if (answer === 'was_me') {
      if (request) {
        const evidence = {
          id: uuidv7(now.getTime()),
          tenant,
          requestId: request.id,
          kind: 'affected_person' as const,
          method: via === 'link' ? 'not_me_link' : 'not_me_push',
          accepted: true,
          problems: [],
          verifier: actor,
          reference: link.id,
          verifiedAt: now.toISOString(),
          details: {
            answer,
            ...(meta.userAgent ? { userAgent: meta.userAgent.slice(0, 256) } : {}),
            note:
              via === 'link'
                ? 'the affected person confirmed by e-mail link; this is not identity proofing'
                : 'the affected person approved a "was this you?" Okta Verify push; this is not identity proofing',
          },
        };
        await tx.putEvidence(evidence);
        await ctx.note(tx, request, 'request.affected_person_confirmed', actor, { linkId: link.id, via }, now, { evidenceId: evidence.id });
      } else
        await appendAudit(tx, tenant, {
          type: 'change.affected_person_confirmed',
          actor,
          subject: { changeId: link.subject.id },
          data: { linkId: link.id, via },
          at: now,
        });
      return { outcome: 'was_me', cancelled: [], heldIn: [] };
    }

    // Not me.
    const cancelled: string[] = [];
    for (const r of await tx.listRequests(tenant, { targetId: link.personId }, 200)) {
      if (!OPEN_STATES.includes(r.state)) continue;
      const locked = await ctx.load(tx, tenant, r.id);
      if (!OPEN_STATES.includes(locked.state)) continue;
      await ctx.transition(tx, locked, 'cancelled', actor, 'the affected person said "this wasn\'t me"', now);
      cancelled.push(r.id);
    }
    const dryRun = ctx.deps.policies.get(tenant).mode === 'monitor';
    const heldIn: string[] = [];
    for (const who of identities) {
      const action: ActionEntry = {
        id: uuidv7(now.getTime()),
        tenant,
        kind: 'hold_group',
        connector: who.connector,
        targetId: who.id,
        params: { reason: 'not_me', linkId: link.id, [link.subject.kind === 'request' ? 'requestId' : 'changeId']: link.subject.id },
        idempotencyKey: `not_me:${link.id}:${who.connector}:${who.id}`,
        dryRun,
        createdAt: now,
      };
      await tx.enqueueAction(action);
      heldIn.push(who.connector);
    }
    const alert = await notMeAlert(tx, link, request, now);
    await tx.putAlert(alert);
    await appendAudit(tx, tenant, {
      type: 'person.not_me',
      actor,
      subject: { alertId: alert.id, ...(request ? { requestId: request.id } : { changeId: link.subject.id }) },
      data: { personId: link.personId, linkId: link.id, via, cancelled, heldIn: identities, dryRun },
      at: now,
    });
    // A new alert (raised and updated now): `alert.raised`, as detection publishes its alerts.
    await publishAlertEvents(tx, ctx.deps.routes, [alert]);
    await publishEvent(tx, ctx.deps.routes, {
      tenant,
      type: 'person.not_me',
      data: {
        person: request?.target.login ?? link.personId,
        personId: link.personId,
        subjectKind: link.subject.kind,
        subjectId: link.subject.id,
        cancelled: cancelled.length,
        cancelledRequests: cancelled,
        heldIn,
        alertId: alert.id,
        dryRun,
      },
      at: now,
    });
    return { outcome: 'not_me', cancelled, heldIn, alertId: alert.id };
  });
}

/** The person's identity in every IdP whose directory knows them (by id, then by login and e-mail). */
async function identitiesOf(deps: NotMeDeps, link: NotMeLinkRow, request: ChangeRequest | undefined): Promise<Array<{ connector: string; id: string }>> {
  const names = [link.personId, request?.target.login, request?.target.email].filter((n): n is string => !!n);
  const found: Array<{ connector: string; id: string }> = [];
  for (const { connector, directory } of deps.directories(link.tenant)) {
    for (const name of names) {
      const user = await directory.getUser(link.tenant, name, deps.ctx.deps.connectorContext()).catch(() => undefined);
      if (user) {
        found.push({ connector, id: user.id });
        break;
      }
    }
  }
  return found;
}

/** The critical alert "not me" raises, describing the request or change the person disowned. */
async function notMeAlert(tx: StoreTx, link: NotMeLinkRow, request: ChangeRequest | undefined, now: Date): Promise<Alert> {
  const at = now.toISOString();
  let change: AlertChange;
  if (request)
    change = {
      id: request.id,
      kind: request.kind,
      channel: request.changeChannel,
      occurredAt: request.createdAt,
      idp: 'warden',
      eventIds: [],
      rawType: 'warden.change_request',
      targetId: link.personId,
      target: request.target.login ?? link.personId,
      actor: request.createdBy.name ?? request.createdBy.id,
    };
  else {
    const c = await tx.getChange(link.tenant, link.subject.id);
    change = {
      id: link.subject.id,
      kind: c?.kind ?? 'factor.update',
      channel: c?.channel ?? 'admin',
      occurredAt: c?.occurredAt ?? at,
      idp: c?.source.idp ?? 'unknown',
      eventIds: c?.source.eventIds ?? [],
      rawType: c?.source.rawType ?? 'unknown',
      targetId: link.personId,
      target: c?.target.login ?? link.personId,
      actor: c?.actor.login ?? c?.actor.id ?? 'unknown',
    };
  }
  const title = 'The affected person says "this wasn\'t me"';
  return {
    id: uuidv7(now.getTime()),
    tenant: link.tenant,
    key: (request?.target.login ?? link.personId).toLowerCase(),
    rule: 'affected-person-not-me',
    title,
    severity: 'critical',
    status: 'open',
    summary: `${change.target} answered the e-mailed link: they did not ask for ${change.kind} (${link.subject.kind} ${link.subject.id}). Possible social engineering of the help desk or account takeover.`,
    matches: [{ rule: 'affected-person-not-me', title, severity: 'critical', attack: ['T1656', 'T1098'], at, changeIds: [change.id] }],
    changes: [change],
    firstAt: change.occurredAt,
    lastAt: change.occurredAt,
    raisedAt: at,
    updatedAt: at,
    rulesVersion: 'not-me-1',
  };
}
