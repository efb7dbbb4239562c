import type { Router } from 'express';
import { z } from 'zod';
import { SEVERITIES } from '../../core/alert.js';
import { WardenError } from '../../core/errors.js';
import { TenantId } from '../../core/identity-change.js';
import type { AlertQuery, Store } from '../../store/store.js';
import type { AlertList } from '../api-schemas.js';
import { authorize, type ApiPrincipal } from '../../access/api-keys.js';
import { COMMON_ERRORS, type RouteDoc } from '../openapi.js';
import { validationError } from '../../core/validation-error.js';
import { ReasonBody } from '../../requests/request-api-schemas.js';
import type { Workflow } from '../../requests/workflow.js';
import { callerOf } from './requests.js';

const AUTH_ERRORS = { 400: COMMON_ERRORS[400], 401: COMMON_ERRORS[401], 403: COMMON_ERRORS[403], 404: COMMON_ERRORS[404] };

export const alertRoutes: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/alerts',
    summary: 'List detection alerts',
    description:
      'Alerts raised by detection rules (risky chains of changes, docs/detection.md), newest first, with the rule, severity, key, ' +
      'every change that formed them (ids and times) and a summary. Needs an API key with the `alerts:read` scope. ' +
      'Page with `before`: the `next` cursor of the previous page.',
    tags: ['alerts'],
    auth: true,
    parameters: [
      { name: 'tenant', in: 'query', description: "Tenant (default: the API key's)", schema: { type: 'string' } },
      { name: 'status', in: 'query', description: 'open or closed', schema: { type: 'string', enum: ['open', 'closed'] } },
      { name: 'severity', in: 'query', description: 'At least this severity', schema: { type: 'string', enum: [...SEVERITIES] } },
      { name: 'rule', in: 'query', description: 'Alerts with a match of this rule', schema: { type: 'string' } },
      { name: 'key', in: 'query', description: "Alerts on this key (a person's canonical identity, lower case)", schema: { type: 'string' } },
      { name: 'since', in: 'query', description: 'Raised at or after this time (ISO 8601)', schema: { type: 'string', format: 'date-time' } },
      { name: 'before', in: 'query', description: 'Page cursor (`next` of the previous page)', schema: { type: 'string' } },
      { name: 'limit', in: 'query', description: 'Page size, 1-500 (default 50)', schema: { type: 'integer', minimum: 1, maximum: 500 } },
    ],
    responses: { 200: { description: 'A page of alerts', schema: 'AlertList' }, ...AUTH_ERRORS },
  },
  {
    method: 'get',
    path: '/v1/alerts/:id',
    summary: 'One detection alert',
    tags: ['alerts'],
    auth: true,
    parameters: [
      { name: 'id', in: 'path', description: 'Alert id', schema: { type: 'string', format: 'uuid' } },
      { name: 'tenant', in: 'query', description: "Tenant (default: the API key's)", schema: { type: 'string' } },
    ],
    responses: {
      200: { description: 'The alert', schema: 'Alert' },
      ...AUTH_ERRORS,
      404: { ...COMMON_ERRORS[404], description: 'Unknown tenant (ERR_TENANT_UNKNOWN) or alert (ERR_NOT_FOUND)' },
    },
  },
  {
    method: 'post',
    path: '/v1/alerts/:id/close',
    summary: 'Close an alert with a reason (admin)',
    description:
      'A person signed in with the IdP (role admin, recent multi-factor sign-in) closes an open alert after review: open → closed with who, why and when; ' +
      "it stops weighing on the person's later decisions. Audited and published as `alert.closed`. Containment already done is not undone: release the holds it caused. " +
      '`warden alerts close <id> --tenant … --reason …` does the same. API keys may not.',
    tags: ['alerts'],
    auth: true,
    security: ['idpToken'],
    parameters: [{ name: 'id', in: 'path', description: 'Alert id', schema: { type: 'string', format: 'uuid' } }],
    requestBody: 'ReasonBody',
    responses: {
      200: { description: 'The closed alert', schema: 'Alert' },
      ...AUTH_ERRORS,
      401: { ...COMMON_ERRORS[401], description: 'Not signed in, or a fresh multi-factor sign-in is needed (ERR_STEP_UP_REQUIRED)' },
      404: { ...COMMON_ERRORS[404], description: 'Unknown tenant (ERR_TENANT_UNKNOWN) or alert (ERR_NOT_FOUND)' },
      409: { ...COMMON_ERRORS[404], description: 'The alert was closed before (ERR_CONFLICT)' },
    },
  },
];

const Cursor = z.object({ raisedAt: z.iso.datetime({ offset: true }), id: z.uuid() });

/** `before` cursors are opaque to clients: base64url of `raisedAt|id`. */
export function alertCursor(a: { raisedAt: string; id: string }): string {
  return Buffer.from(`${a.raisedAt}|${a.id}`).toString('base64url');
}

const ListQuery = z
  .object({
    tenant: TenantId.optional(),
    status: z.enum(['open', 'closed']).optional(),
    severity: z.enum(SEVERITIES).optional(),
    rule: z.string().min(1).max(100).optional(),
    key: z.string().min(1).max(512).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    before: z
      .string()
      .max(200)
      .transform((v, ctx) => {
        const [raisedAt, id] = Buffer.from(v, 'base64url').toString('utf8').split('|');
        const parsed = Cursor.safeParse({ raisedAt, id });
        if (!parsed.success) {
          ctx.addIssue({ code: 'custom', message: 'not a cursor from a previous page' });
          return z.NEVER;
        }
        return parsed.data;
      })
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

const OneQuery = z.object({ tenant: TenantId.optional() }).strict();

/** The tenant a read is for: the one asked for, else the key's; checked against the key and its scope. */
function tenantOf(principal: ApiPrincipal, asked: string | undefined, has: (t: string) => boolean): string {
  const tenant = asked ?? principal.tenant;
  if (!has(tenant)) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${tenant}"`);
  authorize(principal, tenant, 'alerts:read');
  return tenant;
}

/** GET /v1/alerts, GET /v1/alerts/:id, and POST /v1/alerts/:id/close (with the workflow). */
export function mountAlerts(router: Router, deps: { store: Store; has(tenant: string): boolean; workflow?: Workflow }): void {
  const workflow = deps.workflow;
  if (workflow)
    router.post('/v1/alerts/:id/close', async (req, res) => {
      const caller = callerOf(res);
      const parsed = ReasonBody.safeParse(req.body);
      if (!parsed.success) throw validationError(parsed.error, 'the body');
      if (!deps.has(parsed.data.tenant)) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${parsed.data.tenant}"`);
      const id = z.uuid().safeParse(req.params.id);
      if (!id.success) throw new WardenError('ERR_NOT_FOUND', `no alert ${String(req.params.id)} in tenant ${parsed.data.tenant}`);
      res.json(await workflow.closeAlert(parsed.data.tenant, id.data, parsed.data.reason, caller));
    });

  router.get('/v1/alerts', async (req, res) => {
    const principal = res.locals.principal as ApiPrincipal;
    const parsed = ListQuery.safeParse(req.query);
    if (!parsed.success) throw validationError(parsed.error, 'the query');
    const { tenant: asked, since, ...filters } = parsed.data;
    const tenant = tenantOf(principal, asked, deps.has);
    const query: AlertQuery = { ...filters, ...(since ? { since: new Date(since) } : {}) };
    const page = await deps.store.listAlerts(tenant, { ...query, limit: query.limit + 1 });
    const alerts = page.slice(0, query.limit);
    const body: AlertList = { alerts, ...(page.length > query.limit ? { next: alertCursor(alerts[alerts.length - 1]!) } : {}) };
    res.json(body);
  });

  router.get('/v1/alerts/:id', async (req, res) => {
    const principal = res.locals.principal as ApiPrincipal;
    const parsed = OneQuery.safeParse(req.query);
    if (!parsed.success) throw validationError(parsed.error, 'the query');
    const tenant = tenantOf(principal, parsed.data.tenant, deps.has);
    const id = z.uuid().safeParse(req.params.id);
    const alert = id.success ? await deps.store.getAlert(tenant, id.data) : undefined;
    if (!alert) throw new WardenError('ERR_NOT_FOUND', `no alert ${String(req.params.id)} in tenant ${tenant}`);
    res.json(alert);
  });
}
