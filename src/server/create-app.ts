import { mountNotMePages } from './routes/not-me-pages.js';
import type { NotMeDeps } from '../requests/not-me/answer-not-me.js';
import { systemClock } from '../core/clock.js';
import express, { type RequestHandler } from 'express';
import { WardenError } from '../core/errors.js';
import type { Decision } from '../core/decision.js';
import type { ConnectorContext, Connector } from '../connector/contract.js';
import type { Store } from '../store/store.js';
import type { ApiKeyVerifier } from '../access/api-keys.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { buildOpenApi, type RouteDoc } from './openapi.js';
import type { PolicyRegistry } from '../config/policy-registry.js';
import { errorHandler, limitJsonDepth, notFound } from './problem.js';
import type { ChangeDetection } from '../engine/decide-change.js';
import { alertRoutes, mountAlerts } from './routes/alerts.js';
import { decisionRoutes, mountDecisions } from './routes/decisions.js';
import { healthRoutes, mountHealth } from './routes/health.js';
import { mountRequests, mountVerifierHooks, requestRoutes } from './routes/requests.js';
import { looksLikeJwt, type OidcVerifier } from './oidc-auth.js';
import type { Workflow } from '../requests/workflow.js';
import { consoleRouter, type ConsoleDeps } from '../console/console-router.js';

export interface AppDeps {
  store: Store;
  policies: PolicyRegistry;
  metrics: Metrics;
  log: Logger;
  keys: ApiKeyVerifier;
  /** Largest accepted body, bytes. */
  bodyBytes: number;
  /** Migration versions this Warden ships (readiness). */
  expectedMigrations: readonly number[];
  version: string;
  clock?: () => Date;
  /** Connectors whose receivers to mount, with what they get. */
  connectors?: readonly Connector[];
  connectorContext?: () => ConnectorContext;
  /** Change requests (`/v1/requests`, reviews, exceptions, reports); absent, those routes are not mounted. */
  workflow?: Workflow;
  /** Verifies people's OIDC tokens; absent, only API keys authenticate. */
  oidc?: OidcVerifier;
  /** Detection: proposed changes are decided with the open alerts on their target and actor. */
  detection?: ChangeDetection;
  /** The web console (`/console`), when a tenant offers it (`tenants[].oidc.console`). */
  console?: ConsoleDeps;
  /** "This wasn't me" links (src/requests/not-me): the pages at /me/confirm are served when given. */
  notMe?: NotMeDeps;
}

/** Every documented route, for /openapi.json. */
export const ROUTES: readonly RouteDoc[] = [
  ...healthRoutes,
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', tags: ['operations'], responses: { 200: { description: 'Prometheus text format' } } },
  { method: 'get', path: '/openapi.json', summary: 'This document', tags: ['operations'], responses: { 200: { description: 'OpenAPI 3.1' } } },
  ...decisionRoutes,
  ...requestRoutes,
  ...alertRoutes,
];

/** Times every request into the latency histogram, labelled by route pattern (not raw path: bounded cardinality). */
function timing(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

/**
 * Authenticates every request under /v1: a Warden API key (machines), or a
 * person's OIDC token from a tenant's IdP when people may sign in.
 */
function bearerAuth(keys: ApiKeyVerifier, oidc: OidcVerifier | undefined): RequestHandler {
  return async (req, res, next) => {
    const authorization = req.get('authorization');
    const [scheme, token, extra] = authorization?.split(' ') ?? [];
    if (oidc?.enabled && scheme?.toLowerCase() === 'bearer' && token && extra === undefined && looksLikeJwt(token)) res.locals.user = await oidc.verify(token);
    else res.locals.principal = await keys.verify(authorization);
    next();
  };
}

/** POST bodies must be JSON. */
const requireJson: RequestHandler = (req, _res, next) => {
  if (req.method === 'POST' && !req.is(['application/json', 'application/*+json']))
    return next(new WardenError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'));
  next();
};

/**
 * The HTTP application, without listening: `startServer` listens, tests can
 * mount it on an ephemeral port.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(timing(deps.metrics));

  const open = express.Router();
  mountHealth(open, deps);
  open.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  const connectors = deps.connectors ?? [];
  const openapi = JSON.stringify(
    buildOpenApi(
      [...ROUTES, ...connectors.flatMap((p) => p.routes ?? [])],
      deps.version,
      Object.assign({}, ...connectors.map((p) => p.schemas ?? {})) as Record<string, never>,
    ),
  );
  open.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.use(open);

  if (deps.notMe) {
    const pages = express.Router();
    mountNotMePages(pages, { ...deps.notMe, log: deps.log });
    app.use(pages);
  }

  if (deps.workflow) {
    const hooks = express.Router();
    mountVerifierHooks(hooks, { workflow: deps.workflow, has: (t) => deps.policies.has(t), bodyBytes: deps.bodyBytes });
    app.use(hooks);
  }

  const api = express.Router();
  api.use(
    '/v1',
    bearerAuth(deps.keys, deps.oidc),
    requireJson,
    express.json({ limit: deps.bodyBytes, strict: true, type: ['application/json', 'application/*+json'] }),
    limitJsonDepth,
  );
  mountDecisions(api, {
    store: deps.store,
    policies: deps.policies,
    has: (t) => deps.policies.has(t),
    ...(deps.clock ? { clock: deps.clock } : {}),
    onDecision: (d: Decision) => deps.metrics.decisions.inc({ tenant: d.tenant, outcome: d.outcome, mode: d.mode }),
    ...(deps.workflow ? { workflow: deps.workflow.decisionWorkflow() } : {}),
    ...(deps.detection ? { detection: deps.detection } : {}),
  });
  if (deps.workflow) mountRequests(api, { workflow: deps.workflow, store: deps.store, clock: deps.clock ?? systemClock, has: (t) => deps.policies.has(t) });
  mountAlerts(api, { store: deps.store, has: (t) => deps.policies.has(t), ...(deps.workflow ? { workflow: deps.workflow } : {}) });
  app.use(api);

  for (const connector of connectors) {
    if (!connector.mount) continue;
    if (!deps.connectorContext) throw new WardenError('ERR_INTERNAL', `connector ${connector.name} needs a connector context`);
    const router = express.Router();
    connector.mount(router, deps.connectorContext());
    app.use(router);
  }

  if (deps.console) app.use('/console', consoleRouter(deps.console));

  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
