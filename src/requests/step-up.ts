import { WardenError } from '../core/errors.js';
import { parseDuration } from '../core/policy/duration.js';
import type { UserCaller } from './caller.js';
import type { WorkflowContext } from './request-context.js';

/**
 * Decisions people make (approvals, rejections, manager attestations,
 * exceptions, reviews) need a recent multi-factor sign-in: `auth_time` within
 * `oidc.stepUp.maxAuthAge` and an `amr` showing MFA. Otherwise the caller is
 * told to sign in again (401 with an RFC 9470 step-up challenge).
 *
 * @throws WardenError `ERR_STEP_UP_REQUIRED`
 */
export function requireRecentMfa(ctx: WorkflowContext, caller: UserCaller, what: string): void {
  const tenant = ctx.deps.config.tenants.find((t) => t.id === caller.tenant);
  const stepUp = tenant?.oidc?.stepUp ?? { maxAuthAge: '15m', mfaAmr: ['mfa'] };
  const maxAgeSeconds = parseDuration(stepUp.maxAuthAge);
  const details = { stepUp: { maxAgeSeconds, amr: stepUp.mfaAmr } };
  if (!caller.amr.some((m) => stepUp.mfaAmr.includes(m)))
    throw new WardenError(
      'ERR_STEP_UP_REQUIRED',
      `${what} needs a multi-factor sign-in (amr ${stepUp.mfaAmr.join(' or ')}); your token shows ${caller.amr.join(', ') || 'none'}`,
      { details },
    );
  if (!caller.authTime) throw new WardenError('ERR_STEP_UP_REQUIRED', `${what} needs a recent sign-in: your token has no auth_time`, { details });
  const age = (ctx.now().getTime() - caller.authTime.getTime()) / 1000;
  if (age > maxAgeSeconds)
    throw new WardenError(
      'ERR_STEP_UP_REQUIRED',
      `${what} needs a sign-in within the last ${stepUp.maxAuthAge}; yours was ${Math.round(age / 60)} minutes ago: sign in again`,
      { details },
    );
}
