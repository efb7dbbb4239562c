import express, { type RequestHandler, type Router } from 'express';
import type { JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { appendAudit, type ConnectorContext } from '../../src/connector/index.js';
import type { Outcome } from '../../src/core/decision.js';
import { WardenError } from '../../src/core/errors.js';
import type { IdentityChange } from '../../src/core/identity-change.js';
import { uuidv7 } from '../../src/core/ids.js';
import type { OktaDirectory } from './okta-directory.js';
import { oktaMetrics } from './okta-metrics.js';
import type { OktaTenant, OktaTenants } from './okta-tenant.js';
import { resolveTenant } from './event-hook-receiver.js';
import { remoteKeys, verifyAccessToken, verifySharedHeader } from './verify-hook-auth.js';

/**
 * Okta inline hooks (`/hooks/okta/:tenant/inline/{registration,token,telephony}`):
 * synchronous calls Okta makes inside a flow and waits for (3 s, at most one
 * retry; token and telephony hooks never retry). Warden answers within the
 * tenant's `deadlineMs`; a decision that takes longer is replaced by the
 * policy's `failure` outcome, which is recorded in the audit log.
 *
 * - registration (`com.okta.user.pre-registration`): can DENY (`com.okta.action.update`);
 * - token (`com.okta.oauth2.tokens.transform`): an `error` object refuses the
 *   tokens, for users on hold (custom authorization servers only);
 * - telephony (`com.okta.telephony.provider`): can NOT block. Warden records
 *   the SMS/voice enrollment as an early signal and answers with an error
 *   object, which makes Okta deliver the OTP through its own providers.
 *
 * https://developer.okta.com/docs/concepts/inline-hooks/
 */

export const INLINE_HOOK_PATH = '/hooks/okta/:tenant/inline/:hook';

const InlineBase = z.looseObject({
  eventId: z.string().min(1).max(256),
  eventTime: z.string().optional(),
  eventType: z.string(),
  requestType: z.string().optional(),
  data: z.looseObject({}),
});

/** Registration inline hook request (self-service registration or progressive profile). */
export const RegistrationHookRequest = InlineBase.extend({
  eventType: z.literal('com.okta.user.pre-registration'),
  requestType: z.enum(['self.service.registration', 'progressive.profile']),
  data: z.looseObject({
    context: z
      .looseObject({ user: z.looseObject({ id: z.string(), profile: z.looseObject({ login: z.string().optional() }).optional() }).optional() })
      .optional(),
    userProfile: z.record(z.string(), z.unknown()).optional(),
    userProfileUpdate: z.record(z.string(), z.unknown()).optional(),
  }),
}).describe('Okta registration inline hook request');

/** Token inline hook request. */
export const TokenHookRequest = InlineBase.extend({
  eventType: z.literal('com.okta.oauth2.tokens.transform'),
  data: z.looseObject({
    context: z.looseObject({ user: z.looseObject({ id: z.string(), profile: z.looseObject({ login: z.string().optional() }).optional() }) }),
  }),
}).describe('Okta token inline hook request');

/** Telephony inline hook request. */
export const TelephonyHookRequest = InlineBase.extend({
  eventType: z.literal('com.okta.telephony.provider'),
  requestType: z.string(),
  data: z.looseObject({
    userProfile: z.looseObject({ userId: z.string(), login: z.string().optional() }),
    messageProfile: z.looseObject({ deliveryChannel: z.string().optional() }),
  }),
}).describe('Okta telephony inline hook request');

/** Races `work` against `ms`: the result, or `timeout`. */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<{ value: T } | { timeout: true }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ timeout: true }>((resolve) => {
    timer = setTimeout(() => resolve({ timeout: true }), ms);
  });
  try {
    return await Promise.race([work.then((value) => ({ value })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const okta = { type: 'idp' as const, id: 'okta' };

/** Records that an inline hook answered with the policy's failure outcome because the decision missed the deadline. */
async function recordDeadline(ctx: ConnectorContext, tenant: string, hook: string, eventId: string, outcome: Outcome, targetId: string): Promise<void> {
  await ctx.store
    .transaction((tx) =>
      appendAudit(tx, tenant, {
        type: 'okta.inline_hook.deadline',
        actor: { type: 'system', id: 'warden:okta' },
        subject: { oktaEventId: eventId, targetId },
        data: { hook, outcome, reason: 'the decision was not made in time; the policy failure outcome applied' },
        at: ctx.clock(),
      }),
    )
    .catch((err: unknown) => ctx.log.error({ err, tenant, hook }, 'could not record an inline hook deadline'));
}

function inlineChange(
  tenant: string,
  eventId: string,
  rawType: string,
  change: Pick<IdentityChange, 'kind' | 'channel' | 'target' | 'actor' | 'factor' | 'context'>,
  now: Date,
): IdentityChange {
  const iso = now.toISOString();
  return {
    id: uuidv7(now.getTime()),
    tenant,
    source: { idp: 'okta', eventIds: [`inline:${eventId}`], rawType, via: 'inline' },
    occurredAt: iso,
    observedAt: iso,
    ...change,
  } as IdentityChange;
}

const principal = (id: string, login?: string) => ({
  id,
  ...(login ? { login } : {}),
  groups: [],
  adminRoles: [],
  flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
  attributes: {},
});

/** Mounts the three inline hook receivers. Tenants without an `inlineHooks` section answer 404. */
export function mountInlineHooks(router: Router, ctx: ConnectorContext, tenants: OktaTenants, directory: OktaDirectory): void {
  const metrics = oktaMetrics(ctx.metrics.registry);
  const jwks = new Map<string, JWTVerifyGetKey>();
  const authenticate: RequestHandler = async (req, res, next) => {
    const tenant = resolveTenant(tenants, ctx, String(req.params.tenant));
    const hooks = tenant.config.inlineHooks;
    if (!hooks) throw new WardenError('ERR_NOT_FOUND', `tenant ${tenant.id} has no inline hooks configured`);
    if (!['registration', 'token', 'telephony'].includes(String(req.params.hook)))
      throw new WardenError('ERR_NOT_FOUND', `no inline hook ${String(req.params.hook)}`);
    const authorization = req.get(hooks.header);
    try {
      if (hooks.oauth && (!tenant.inlineHookSecret || /^Bearer\s/i.test(req.get('authorization') ?? ''))) {
        const key = `${tenant.id}|${hooks.oauth.issuer}|${hooks.oauth.jwksUri ?? ''}`;
        if (!jwks.has(key)) jwks.set(key, remoteKeys(hooks.oauth.issuer, hooks.oauth.jwksUri));
        await verifyAccessToken(req.get('authorization'), jwks.get(key)!, hooks.oauth, ctx.clock());
      } else verifySharedHeader(authorization, tenant.inlineHookSecret!, hooks.header);
    } catch (err) {
      ctx.log.warn({ tenant: tenant.id, hook: req.params.hook, code: (err as WardenError).code }, 'okta inline hook call refused');
      throw err;
    }
    res.locals.oktaTenant = tenant;
    next();
  };
  const body = express.json({ limit: Math.min(ctx.config.bodyBytes, 256 * 1024), strict: true, type: () => true });

  const parse = <S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new WardenError(
        'ERR_VALIDATION',
        `not an Okta ${what} inline hook request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    return parsed.data;
  };

  /** Decides within the deadline; on timeout the policy's failure outcome, recorded. */
  const decideInTime = async (
    tenant: OktaTenant,
    hook: string,
    change: IdentityChange,
    observed: boolean,
  ): Promise<{ outcome: Outcome; deadline: boolean }> => {
    const decision = ctx.decide(change, okta, { observed });
    const result = await withDeadline(decision, tenant.config.inlineHooks!.deadlineMs);
    if ('value' in result) return { outcome: result.value.decision.outcome, deadline: false };
    decision.catch((err: unknown) => ctx.log.error({ err, tenant: tenant.id, hook }, 'late inline hook decision failed'));
    const outcome = ctx.policies.get(tenant.id).failure;
    metrics.inlineHooks.inc({ tenant: tenant.id, hook, outcome: 'deadline' });
    await recordDeadline(ctx, tenant.id, hook, change.source.eventIds[0] ?? '', outcome, change.target.id);
    return { outcome, deadline: true };
  };

  router.post(INLINE_HOOK_PATH, authenticate, body, async (req, res) => {
    const tenant = res.locals.oktaTenant as OktaTenant;
    const hook = String(req.params.hook);
    const now = ctx.clock();
    if (hook === 'registration') {
      const request = parse(RegistrationHookRequest, req.body, 'registration');
      const user = request.data.context?.user;
      const profile = request.requestType === 'progressive.profile' ? (request.data.userProfileUpdate ?? {}) : (request.data.userProfile ?? {});
      const login = user?.profile?.login ?? (typeof request.data.userProfile?.login === 'string' ? request.data.userProfile.login : undefined);
      const target = principal(user?.id ?? login ?? request.eventId, login);
      const change = inlineChange(
        tenant.id,
        request.eventId,
        `com.okta.user.pre-registration/${request.requestType}`,
        {
          kind: 'recovery.update',
          channel: 'self_service',
          target,
          actor: { ...principal(target.id, login), type: 'user' },
          context: { registration: request.requestType, profileAttributes: Object.keys(profile).sort().join(',').slice(0, 512) },
        },
        now,
      );
      const { outcome } = await decideInTime(tenant, hook, change, false);
      metrics.inlineHooks.inc({ tenant: tenant.id, hook, outcome: outcome === 'allow' ? 'allow' : 'deny' });
      if (outcome === 'allow') {
        res.json({ commands: [{ type: 'com.okta.action.update', value: { registration: 'ALLOW' } }] });
        return;
      }
      res.json({
        commands: [{ type: 'com.okta.action.update', value: { registration: 'DENY' } }],
        error: {
          errorSummary: 'This change needs to be verified first. Please contact your help desk.',
          errorCauses: [
            { errorSummary: `Warden policy outcome: ${outcome}`, reason: 'WARDEN_POLICY', locationType: 'body', location: 'data', domain: 'end-user' },
          ],
        },
      });
      return;
    }
    if (hook === 'token') {
      const request = parse(TokenHookRequest, req.body, 'token');
      const user = request.data.context.user;
      const held = await withDeadline(directory.isHeld(tenant, user.id, ctx), tenant.config.inlineHooks!.deadlineMs);
      let refuse: boolean;
      if ('value' in held) refuse = held.value;
      else {
        const outcome = ctx.policies.get(tenant.id).failure;
        refuse = outcome !== 'allow';
        metrics.inlineHooks.inc({ tenant: tenant.id, hook, outcome: 'deadline' });
        await recordDeadline(ctx, tenant.id, hook, request.eventId, outcome, user.id);
      }
      metrics.inlineHooks.inc({ tenant: tenant.id, hook, outcome: refuse ? 'deny' : 'allow' });
      if (refuse) res.json({ error: { errorSummary: 'Access is on hold pending verification of a recent account change. Contact your help desk.' } });
      else res.status(204).end();
      return;
    }
    // telephony
    const request = parse(TelephonyHookRequest, req.body, 'telephony');
    if (request.requestType === 'com.okta.user.telephony.pre-enrollment') {
      const { userId, login } = request.data.userProfile;
      const channel = (request.data.messageProfile.deliveryChannel ?? '').toLowerCase();
      const change = inlineChange(
        tenant.id,
        request.eventId,
        `com.okta.telephony.provider/${request.requestType}`,
        {
          kind: 'factor.enroll',
          channel: 'self_service',
          factor: { type: channel.includes('voice') ? 'voice' : 'sms' },
          target: principal(userId, login),
          actor: { ...principal(userId, login), type: 'user' },
          context: { earlySignal: true },
        },
        now,
      );
      const { outcome } = await decideInTime(tenant, hook, change, false);
      metrics.inlineHooks.inc({ tenant: tenant.id, hook, outcome: 'observed' });
      ctx.log.info({ tenant: tenant.id, userId, outcome }, 'phone enrollment observed (the telephony hook cannot block it)');
    }
    // Warden sends no OTP: the error object makes Okta deliver it through its own telephony providers.
    res.json({
      error: {
        errorSummary: 'Warden does not deliver one-time passcodes; deliver through the Okta telephony providers',
        errorCauses: [{ errorSummary: 'Observed by Warden only', reason: 'NOT_A_PROVIDER', location: 'warden' }],
      },
    });
  });
}
