import { systemClock } from '../../core/clock.js';
import type { Router } from 'express';
import { WardenError } from '../../core/errors.js';
import { completeChange, type IdentityChange } from '../../core/identity-change.js';
import { decideChange, type DecideDeps } from '../../engine/decide-change.js';
import { DecisionRequest, type DecisionResponse } from '../api-schemas.js';
import { authorize, type ApiPrincipal } from '../../access/api-keys.js';
import { COMMON_ERRORS, type RouteDoc } from '../openapi.js';
import { validationError } from '../../core/validation-error.js';
import type { Decision } from '../../core/decision.js';

export const decisionRoutes: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/decisions',
    summary: 'Decide a proposed identity change',
    description:
      'Evaluates the tenant policy on a change that someone is about to make (an Okta Workflows flow, a ServiceNow flow, a Logic App asking "may I?"), ' +
      'records the change, the decision and an audit record, and returns the outcome with every rule that matched and why. ' +
      'Posting a change with an `id` that was already decided returns the earlier decision (header `Idempotent-Replayed: true`).',
    tags: ['decisions'],
    auth: true,
    requestBody: 'DecisionRequest',
    responses: { 200: { description: 'The decision', schema: 'DecisionResponse' }, ...COMMON_ERRORS },
  },
];

/**
 * A proposed change keeps the caller's description of its source, but can
 * never stand for an event the IdP reports: its event ids are namespaced
 * (`proposed:<id>`) and it arrives `via: api`. Otherwise a caller could claim
 * a vendor event id first, and the real event would get the earlier decision.
 */
export function proposedChange(change: IdentityChange): IdentityChange {
  return { ...change, source: { ...change.source, via: 'api', eventIds: change.source.eventIds.map((id) => `proposed:${id}`.slice(0, 256)) } };
}

/** The API form of a stored decision. */
export function decisionResponse(d: Decision): DecisionResponse {
  const { id, ...rest } = d;
  return { decisionId: id, ...rest };
}

/** POST /v1/decisions */
export function mountDecisions(router: Router, deps: DecideDeps & { has(tenant: string): boolean }): void {
  router.post('/v1/decisions', async (req, res) => {
    const principal = res.locals.principal as ApiPrincipal;
    const parsed = DecisionRequest.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error, 'the decision request');
    const { tenant, change: input } = parsed.data;
    if (!deps.has(tenant)) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${tenant}"`);
    authorize(principal, tenant, 'decisions:write');
    if (input.tenant !== undefined && input.tenant !== tenant)
      throw new WardenError('ERR_VALIDATION', `change.tenant "${input.tenant}" differs from tenant "${tenant}"`, {
        details: [{ path: ['change', 'tenant'], message: `must be "${tenant}" or absent`, code: 'custom' }],
      });
    const now = (deps.clock ?? systemClock)();
    const result = await decideChange(deps, {
      change: proposedChange(completeChange(input, tenant, now)),
      actor: { type: 'api_key', id: principal.keyId, name: principal.name },
      observed: false,
    });
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.json(decisionResponse(result.decision));
  });
}
