import { createHash } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { ResolvedTenant } from '../../config/load-config.js';
import { parseDuration } from '../../core/policy/duration.js';
import { WardenError } from '../../core/errors.js';
import type { Directory, ConnectorContext, IdentityProofer } from '../../connector/contract.js';
import { BatchWorker } from '../../runtime/background-loop.js';
import { failureOf } from '../../notify/channels/channel-sender.js';
import { NOT_ME_PREFIX, type ChannelRoutes } from '../../notify/channels/channel-routes.js';
import { EmailChannel, htmlEscape } from '../../notify/channels/email-channel.js';
import { notMeLink } from '../../notify/links.js';
import { webhookBackoffMs } from '../../notify/webhook-worker.js';
import type { Logger } from '../../runtime/logger.js';
import type { DeliveryRow, NotMeLinkRow, Store } from '../../store/store.js';
import { signNotMeToken } from './not-me-token.js';
import type { NotMeOutcome } from './answer-not-me.js';

/** The tenant's IdP directories, by connector (okta, entra): where a person's e-mail on file and their id in each IdP are found. */
export type DirectoriesOf = (tenant: string) => ReadonlyArray<{ connector: string; directory: Directory }>;

export interface NotMeNotifierOptions {
  store: Store;
  routes: ChannelRoutes;
  tenants: readonly ResolvedTenant[];
  directories: DirectoriesOf;
  connectorContext: () => ConnectorContext;
  /** The tenant's Okta Verify push proofer (`okta_verify_push`), for `notMe.oktaVerifyPush`. */
  pushProofer?: (tenant: string) => IdentityProofer | undefined;
  /** Answers a link as the link's page would (`answerNotMe`), for a push the person rejected or approved. */
  answer?: (token: string, answer: 'not_me' | 'was_me') => Promise<NotMeOutcome>;
  log: Logger;
  clock: () => Date;
  registry?: Registry;
  batch?: number;
  idleMs?: number;
  random?: () => number;
}

/** What a notice is about, read from the event that triggered it. */
export interface NotMeSubject {
  kind: 'request' | 'change';
  id: string;
  personId: string;
  /** For the person: what happened, in plain words. */
  what: string;
  /** The change's kind, and its factor's type when the event names one: whether a push may be sent. */
  changeKind?: string;
  factorType?: string;
}

type Data = Record<string, unknown>;
const obj = (v: unknown): Data => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Data) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const KIND_WORDS: Record<string, string> = {
  'factor.enroll': 'add a sign-in factor (MFA) to your account',
  'factor.remove': 'remove a sign-in factor (MFA) from your account',
  'factor.reset_all': 'reset all your sign-in factors (MFA)',
  'factor.update': 'change one of your sign-in factors (MFA)',
  'factor.suspend': 'suspend one of your sign-in factors (MFA)',
  'password.reset': 'reset your password',
  'password.change': 'change your password',
  'password.expire': 'expire your password',
  'recovery.update': 'change your account recovery details',
  'tap.issue': 'issue a temporary access pass for your account',
  'mfa.bypass': 'let you sign in without MFA',
  'credential.add': 'add a credential to your account',
};
const words = (kind: string | undefined) => (kind && KIND_WORDS[kind]) ?? `make a change to your account (${kind ?? 'unknown'})`;

/** The subject of a `request.created` or `change.by_other` event; undefined for anything else. */
export function notMeSubject(type: string, data: Data): NotMeSubject | undefined {
  if (type === 'request.created') {
    const r = obj(data.request);
    const id = str(r.id);
    const personId = str(obj(r.target).id);
    const kind = str(r.kind);
    return id && personId
      ? { kind: 'request', id, personId, what: `The help desk was asked to ${words(kind)}.`, ...(kind ? { changeKind: kind } : {}) }
      : undefined;
  }
  if (type === 'change.by_other') {
    const c = obj(data.change);
    const id = str(c.id);
    const personId = str(obj(c.target).id);
    const by = str(obj(c.actor).login) ?? str(obj(c.actor).id) ?? 'someone else';
    const kind = str(c.kind);
    const factorType = str(obj(c.factor).type);
    return id && personId
      ? {
          kind: 'change',
          id,
          personId,
          what: `${by} made this change in ${str(c.idp) ?? 'your identity provider'}: ${words(kind)}.`,
          ...(kind ? { changeKind: kind } : {}),
          ...(factorType ? { factorType } : {}),
        }
      : undefined;
  }
  return undefined;
}

/**
 * Why a "was this you?" push must not be sent for this subject, or undefined
 * when it may: the notice must not go through the factor being changed, so
 * every change that may be to the push factor (all factors reset, a factor
 * change of type push, or of a type the event does not name) is e-mail only.
 */
export function pushRefusal(subject: Pick<NotMeSubject, 'changeKind' | 'factorType'>): string | undefined {
  if (subject.changeKind === 'factor.reset_all') return 'the change resets every factor, the push factor too';
  if (subject.changeKind?.startsWith('factor.')) {
    if (subject.factorType === undefined) return 'the change is to a factor that may be the push factor';
    if (subject.factorType === 'push') return 'the change is to the push factor';
  }
  return undefined;
}

/** The stable id of the link a delivery sends: retries of the delivery send the same link. */
function linkIdOf(d: DeliveryRow): string {
  return createHash('sha256').update(`${d.tenant}\u0000${d.eventId}\u0000${d.endpoint}`).digest('base64url').slice(0, 32);
}

/**
 * Tells the affected person ("this wasn't me"): for each `notme:<channel>`
 * delivery (queued with `request.created` and `change.by_other` events), looks
 * up the e-mail address the IdP directory has on file for the person — never
 * the factor being changed — stores a single-use link bound to the person and
 * the request or change, and e-mails it. At most `perPersonPerHour` notices
 * per person (more are failed as rate limited and listed). Failures are
 * retried with backoff and listed by `warden notify list --kind notme`.
 */
export class NotMeNotifier extends BatchWorker {
  readonly #counter: Counter<'tenant' | 'result'>;
  readonly #pushes: Counter<'tenant' | 'result'>;

  constructor(private readonly options: NotMeNotifierOptions) {
    super(options.idleMs ?? 1000, (err) => options.log.error({ err }, 'not-me notifier failed'));
    this.#counter = new Counter({
      name: 'warden_not_me_notices_total',
      help: '"This wasn\'t me" notices to affected people, by tenant and result (sent, retried, failed, rate_limited)',
      labelNames: ['tenant', 'result'] as const,
      registers: options.registry ? [options.registry] : [],
    });
    this.#pushes = new Counter({
      name: 'warden_not_me_pushes_total',
      help: '"Was this you?" Okta Verify pushes, by tenant and result (sent, skipped, failed, approved, rejected, timeout)',
      labelNames: ['tenant', 'result'] as const,
      registers: options.registry ? [options.registry] : [],
    });
  }

  async runOnce(): Promise<number> {
    const deliveries = await this.options.store.claimDeliveries(this.options.batch ?? 20, this.options.clock(), 60, 'notme');
    for (const d of deliveries) await this.#notify(d);
    // Waiting pushes are polled at every tick; only answers count as work (a waiting push must not spin the loop).
    return deliveries.length + (await this.#pollPushes());
  }

  /** The token of a stored link, signed with the tenant's key (as the e-mail carries it). */
  #token(link: NotMeLinkRow): string {
    const notMe = this.options.routes.settings(link.tenant)?.notMe;
    const key = notMe ? this.options.tenants.find((t) => t.id === link.tenant)?.secrets[notMe.secret] : undefined;
    if (!key) throw new WardenError('ERR_CONFIG_INVALID', `tenants[${link.tenant}].notifications.notMe.secret is not resolved`);
    return signNotMeToken(
      { t: link.tenant, l: link.id, p: link.personId, k: link.subject.kind, s: link.subject.id, e: Math.floor(link.expiresAt.getTime() / 1000) },
      key.reveal(),
    );
  }

  /**
   * Sends the "was this you?" Okta Verify push for a link, once: records it
   * waiting (with the proofer's transaction), or skipped or failed with why.
   * Never fails the notice: the e-mail went.
   */
  async #sendPush(d: DeliveryRow, subject: NotMeSubject, link: NotMeLinkRow): Promise<void> {
    if (link.push || link.usedAt) return;
    const { store, log } = this.options;
    const refusal = pushRefusal(subject);
    const proofer = this.options.pushProofer?.(d.tenant);
    const note =
      refusal ?? (proofer ? undefined : `tenants[${d.tenant}].notifications.notMe.oktaVerifyPush: the tenant has no Okta Verify push proofer (okta connector)`);
    if (note) {
      await store.setNotMePush(d.tenant, link.id, { state: 'skipped', note });
      this.#pushes.inc({ tenant: d.tenant, result: 'skipped' });
      return;
    }
    const minFactorAgeDays = this.options.tenants.find((t) => t.id === d.tenant)?.workflow?.proofing.minFactorAgeDays ?? 7;
    try {
      const started = await proofer!.start(
        { tenant: d.tenant, targetId: subject.personId, method: 'okta_verify_push', minFactorAgeDays },
        this.options.connectorContext(),
      );
      await store.setNotMePush(d.tenant, link.id, { state: 'waiting', transactionId: started.transactionId });
      this.#pushes.inc({ tenant: d.tenant, result: 'sent' });
    } catch (err) {
      // A refusal (no push factor, one changed too recently) is a skip; anything else, Okta failing the call.
      const refused = (err as { code?: string }).code === 'ERR_EVIDENCE_REJECTED';
      await store.setNotMePush(d.tenant, link.id, { state: refused ? 'skipped' : 'failed', note: (err as Error).message.slice(0, 500) });
      this.#pushes.inc({ tenant: d.tenant, result: refused ? 'skipped' : 'failed' });
      if (!refused) log.error({ err, tenant: d.tenant, linkId: link.id }, 'not-me Okta Verify push not sent; the e-mail was');
    }
  }

  /**
   * Polls the pushes waiting for the person: a rejection answers the link
   * "not me", an approval "it was me", a timeout ends the push (the link
   * still works). Returns how many were answered or ended.
   */
  async #pollPushes(): Promise<number> {
    const { store, clock, log } = this.options;
    if (!this.options.pushProofer || !this.options.answer) return 0;
    let done = 0;
    for (const link of await store.waitingNotMePushes(clock(), this.options.batch ?? 20)) {
      const transactionId = link.push?.transactionId;
      try {
        const proofer = this.options.pushProofer(link.tenant);
        if (!proofer || !transactionId) throw new WardenError('ERR_CONFIG_INVALID', 'the Okta Verify push proofer is gone');
        const { status } = await proofer.poll({ tenant: link.tenant, targetId: link.personId, transactionId }, this.options.connectorContext());
        if (status === 'waiting') continue;
        done++;
        if (status === 'timeout') {
          await store.setNotMePush(link.tenant, link.id, { state: 'timeout', transactionId });
          this.#pushes.inc({ tenant: link.tenant, result: 'timeout' });
          continue;
        }
        const answer = status === 'rejected' ? 'not_me' : 'was_me';
        try {
          await this.options.answer(this.#token(link), answer);
        } catch (err) {
          // Answered through the e-mail link meanwhile, or expired: the push changes nothing then.
          const code = (err as { code?: string }).code;
          if (code !== 'ERR_LINK_USED' && code !== 'ERR_LINK_EXPIRED') throw err;
        }
        await store.setNotMePush(link.tenant, link.id, { state: status === 'rejected' ? 'rejected' : 'approved', transactionId });
        this.#pushes.inc({ tenant: link.tenant, result: status === 'rejected' ? 'rejected' : 'approved' });
      } catch (err) {
        done++;
        await store.setNotMePush(link.tenant, link.id, {
          state: 'failed',
          ...(transactionId ? { transactionId } : {}),
          note: (err as Error).message.slice(0, 500),
        });
        this.#pushes.inc({ tenant: link.tenant, result: 'failed' });
        log.error({ err, tenant: link.tenant, linkId: link.id }, 'not-me Okta Verify push could not be read; the e-mail link still works');
      }
    }
    return done;
  }

  async #notify(d: DeliveryRow): Promise<void> {
    const { store, clock, log } = this.options;
    const count = (result: string) => this.#counter.inc({ tenant: d.tenant, result });
    const settings = this.options.routes.settings(d.tenant);
    const notMe = settings?.notMe;
    let error: string;
    let permanent = false;
    let result = 'failed';
    try {
      if (!settings || !notMe?.enabled) throw new WardenError('ERR_CONFIG_INVALID', `tenants[${d.tenant}].notifications.notMe is not enabled`);
      const parsed = obj(JSON.parse(d.event.body));
      const subject = notMeSubject(d.event.type, obj(parsed.data));
      if (!subject) throw new WardenError('ERR_VALIDATION', `event ${d.event.type} names no person to tell`);
      const now = clock();
      let link = await store.getNotMeLink(d.tenant, linkIdOf(d));
      if (!link) {
        const recent = await store.countNotMeLinks(d.tenant, subject.personId, new Date(now.getTime() - 3_600_000));
        if (recent >= notMe.perPersonPerHour) {
          result = 'rate_limited';
          throw new WardenError(
            'ERR_RATE_LIMITED',
            `not sent: ${recent} notices to this person in the last hour (notMe.perPersonPerHour ${notMe.perPersonPerHour})`,
          );
        }
        link = {
          id: linkIdOf(d),
          tenant: d.tenant,
          personId: subject.personId,
          subject: { kind: subject.kind, id: subject.id },
          createdAt: now,
          expiresAt: new Date(now.getTime() + parseDuration(notMe.linkTtl) * 1000),
        };
        await store.putNotMeLink(link);
      }
      const email = await this.#emailOnFile(d.tenant, subject.personId);
      const tenant = this.options.tenants.find((t) => t.id === d.tenant);
      const key = tenant?.secrets[notMe.secret];
      if (!key) throw new WardenError('ERR_CONFIG_INVALID', `tenants[${d.tenant}].notifications.notMe.secret: secret ${notMe.secret} is not resolved`);
      const sender = this.options.routes.sender(d.tenant, notMe.channel);
      if (!(sender instanceof EmailChannel))
        throw new WardenError('ERR_CONFIG_INVALID', `tenants[${d.tenant}].notifications.notMe.channel: ${notMe.channel} is not an e-mail channel`);
      const url = notMeLink(
        settings.publicUrl,
        signNotMeToken(
          { t: d.tenant, l: link.id, p: link.personId, k: link.subject.kind, s: link.subject.id, e: Math.floor(link.expiresAt.getTime() / 1000) },
          key.reveal(),
        ),
      );
      const push = notMe.oktaVerifyPush;
      await sender.sendEmail([email], noticeEmail(subject, url, link, { push: push && !pushRefusal(subject) }));
      await store.completeDelivery(d.id, clock(), 200);
      count('sent');
      if (push) await this.#sendPush(d, subject, link);
      return;
    } catch (err) {
      error = (err as Error).message;
      const code = (err as { code?: string }).code;
      permanent =
        failureOf(err).permanent ||
        code === 'ERR_CONFIG_INVALID' ||
        code === 'ERR_RATE_LIMITED' ||
        code === 'ERR_VALIDATION' ||
        code === 'ERR_IDENTITY_UNRESOLVED';
    }
    const max = settings?.maxAttempts ?? 1;
    if (permanent || d.attempts >= max) {
      await store.failDelivery(d.id, clock(), error, null, null);
      count(result);
      log.error({ tenant: d.tenant, eventId: d.eventId, attempts: d.attempts, error }, 'not-me notice not sent');
      return;
    }
    await store.failDelivery(d.id, clock(), error, null, new Date(clock().getTime() + webhookBackoffMs(d.attempts, this.options.random)));
    count('retried');
  }

  /** The e-mail address the IdP directory has on file (the first directory that knows the person). */
  async #emailOnFile(tenant: string, personId: string): Promise<string> {
    for (const { directory } of this.options.directories(tenant)) {
      const user = await directory.getUser(tenant, personId, this.options.connectorContext());
      if (user?.email) return user.email;
    }
    throw new WardenError('ERR_IDENTITY_UNRESOLVED', `no e-mail address on file in the IdP directory for person ${personId}`);
  }
}

/** The notice: what happened, and the link (which only shows a page; acting takes a button press there). */
export function noticeEmail(
  subject: NotMeSubject,
  url: string,
  link: NotMeLinkRow,
  options: { push?: boolean } = {},
): { subject: string; text: string; html: string } {
  const push = options.push
    ? 'You may also get an Okta Verify push asking "was this you?" now: approve it if it was you, deny it if it was not (denying does the same as "This wasn\'t me").'
    : undefined;
  const lines = [
    subject.what,
    '',
    'If this was you, or you asked for it, open the link and confirm, or ignore this e-mail.',
    'If it was NOT you, open the link and press "This wasn\'t me": Warden stops the change, holds your account and tells security.',
    ...(push ? [push] : []),
    '',
    url,
    '',
    `The link works once, until ${link.expiresAt.toISOString()}. Warden never asks for your password or a code.`,
  ];
  return {
    subject: 'Was this you? A change to your sign-in',
    text: lines.join('\n'),
    html: `<p>${htmlEscape(subject.what)}</p><p>If this was you, or you asked for it, open the link and confirm, or ignore this e-mail.<br>If it was <strong>not</strong> you, open the link and press "This wasn't me": Warden stops the change, holds your account and tells security.${push ? `<br>${htmlEscape(push)}` : ''}</p><p><a href="${htmlEscape(url)}">${htmlEscape(url)}</a></p><p><small>The link works once, until ${htmlEscape(link.expiresAt.toISOString())}. Warden never asks for your password or a code.</small></p>`,
  };
}

export { NOT_ME_PREFIX };
