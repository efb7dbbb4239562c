import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { ResolvedTenant } from '../config/load-config.js';
import type { Clock } from '../core/clock.js';
import { isWardenError, WardenError } from '../core/errors.js';
import { parseDuration } from '../core/policy/duration.js';
import { packageRoot } from '../package-root.js';
import type { Workflow } from '../requests/workflow.js';
import type { RequestView } from '../requests/request-context.js';
import { CallbackBody, CreateExceptionBody, CreateRequestBody } from '../requests/request-api-schemas.js';
import { PersonResolver, samePerson } from '../requests/resolve-person.js';
import { authorizeCaller } from '../requests/caller.js';
import { reportCsv } from '../requests/accountability-report.js';
import { verifyAudit } from '../audit/verify-audit.js';
import type { Store } from '../store/store.js';
import type { PolicyStatus } from '../config/policy-registry.js';
import { statusPage } from './pages/status-page.js';
import type { Dashboard } from './pages/home-page.js';
import { pageStatus as statusOf } from './page-status.js';
import { callerOf } from './console-person.js';
import { checkCsrf, ConsoleSessions, DEFAULT_CONSOLE_TIMEOUTS, randomToken, type ActiveSession, type ConsoleTimeouts } from './console-sessions.js';
import { ConsoleSignIn, consoleTenants } from './oidc-sign-in.js';
import { errorPage } from './pages/error-page.js';
import { homePage } from './pages/home-page.js';
import { alertsPage, auditPage } from './pages/oversight-pages.js';
import { adminPage, type AdminView } from './pages/admin-page.js';
import { attestPage, newRequestPage, requestPage, requestsPage, type NewRequestValues, type RequestExtras } from './pages/request-pages.js';
import { signInPage } from './pages/sign-in-page.js';

/** What the console needs from the server. */
export interface ConsoleDeps {
  store: Store;
  workflow: Workflow;
  tenants: readonly ResolvedTenant[];
  clock: Clock;
  timeouts?: ConsoleTimeouts;
  /** Largest form accepted, bytes. */
  bodyBytes?: number;
  /** The tenants' policies in force and their last reload (the status page). */
  policies?: { status(tenant: string): PolicyStatus };
  /** Logs failures that are Warden's fault (5xx). */
  onError?: (err: unknown, path: string) => void;
}

const SESSION_COOKIE = 'warden_session';
const SIGN_IN_COOKIE = 'warden_signin';
const ASSETS = new Map([
  ['console.css', 'text/css; charset=utf-8'],
  ['console.js', 'text/javascript; charset=utf-8'],
]);
const ID = /^[0-9a-f-]{36}$/;

/** The console's assets, read from the package root so the built CLI (dist/) finds them too. */
export function consoleAssetsDir(): string {
  return path.join(packageRoot(), 'src', 'console', 'assets');
}

function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    if (!(name in out)) {
      try {
        out[name] = decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        // a cookie we did not write: ignored
      }
    }
  }
  return out;
}

/** Only console paths: never a redirect elsewhere. */
function safeReturn(value: unknown): string {
  return typeof value === 'string' && /^\/console\/[A-Za-z0-9/_?=&.-]*$/.test(value) && !value.includes('//') ? value : '/console/';
}

const field = (body: unknown, name: string): string | undefined => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v.trim() : undefined;
};

/** A `datetime-local` value read as UTC. */
function utc(value: string | undefined, what: string): string | undefined {
  if (!value) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) || Number.isNaN(Date.parse(`${value}Z`)))
    throw new WardenError('ERR_VALIDATION', `${what} is not a date and time`);
  return new Date(`${value.length === 16 ? `${value}:00` : value}Z`).toISOString();
}

/**
 * The web console at `/console`: people sign in with their tenant's IdP
 * (OIDC code + PKCE), sessions live in the store, every POST carries the
 * session's CSRF token, every response a strict Content-Security-Policy, and
 * every action is a `Workflow` operation, so authorization, separation of
 * duties, proofing and step-up are the API's own. Pages are HTML rendered on
 * the server with escaping templates; the CSS and JS are files Warden serves.
 */
export function consoleRouter(deps: ConsoleDeps): Router {
  const timeouts = deps.timeouts ?? DEFAULT_CONSOLE_TIMEOUTS;
  const tenants = consoleTenants(deps.tenants);
  const sessions = new ConsoleSessions(deps.store, deps.clock, timeouts);
  const signIn = new ConsoleSignIn({ store: deps.store, clock: deps.clock, tenants, signInTimeoutMs: timeouts.signInTimeoutMs });
  const workflow = deps.workflow;
  const issuers = [...new Set(tenants.map((t) => new URL(t.oidc.issuer).origin))];
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `form-action 'self' ${issuers.join(' ')}`.trim(),
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
  const assets = new Map([...ASSETS].map(([name, type]) => [name, { type, body: readFileSync(path.join(consoleAssetsDir(), name)) }]));

  const secure = (req: Request, tenant?: string) =>
    req.secure ||
    (tenant ? signIn.tenant(tenant)?.oidc.console.publicUrl.startsWith('https:') : tenants.some((t) => t.oidc.console.publicUrl.startsWith('https:'))) === true;
  const setCookie = (req: Request, res: Response, name: string, value: string, maxAgeMs: number, tenant?: string) =>
    res.cookie(name, value, { httpOnly: true, sameSite: 'lax', secure: secure(req, tenant), path: '/console', maxAge: maxAgeMs });
  const clearCookie = (req: Request, res: Response, name: string) =>
    res.clearCookie(name, { httpOnly: true, sameSite: 'lax', secure: secure(req), path: '/console' });

  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get('/assets/:name', (req, res, next) => {
    const asset = assets.get(String(req.params.name));
    if (!asset) return next(new WardenError('ERR_NOT_FOUND', 'no such asset'));
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type(asset.type).send(asset.body);
  });

  router.use(express.urlencoded({ extended: false, limit: deps.bodyBytes ?? 64 * 1024, parameterLimit: 100 }));

  /** The session of the request, or the reason there is none. */
  async function sessionOf(req: Request): Promise<ActiveSession> {
    return sessions.resolve(cookies(req)[SESSION_COOKIE]);
  }

  type Handler = (req: Request, res: Response, session: ActiveSession) => Promise<void>;
  /** A page for signed-in people; others are sent to sign in (with why). */
  const view = (handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
    let session: ActiveSession;
    try {
      session = await sessionOf(req);
    } catch (err) {
      if (!isWardenError(err, 'ERR_SESSION')) return next(err);
      if ((err.details as { reason?: string }).reason !== 'missing') clearCookie(req, res, SESSION_COOKIE);
      const reason = (err.details as { reason?: string }).reason;
      res
        .status(reason === 'missing' ? 200 : 401)
        .type('html')
        .send(signInPage(tenants, { ...(reason === 'missing' ? {} : { message: err.message }), returnTo: safeReturn(req.originalUrl) }));
      return;
    }
    res.locals.session = session;
    await handler(req, res, session);
  };
  /** A state change: a session and its CSRF token, or nothing happens. */
  const action = (handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      const session = await sessionOf(req);
      res.locals.session = session;
      checkCsrf(session, field(req.body, 'csrf'));
      await handler(req, res, session);
    } catch (err) {
      next(err);
    }
  };

  // --- signing in and out -------------------------------------------------------------

  router.get('/sign-in', async (req, res) => {
    const tenant = field(req.query, 'tenant') ?? '';
    if (!signIn.tenant(tenant)) {
      res
        .status(404)
        .type('html')
        .send(signInPage(tenants, { message: `Tenant "${tenant}" does not offer the console. Pick one below.` }));
      return;
    }
    let browser = cookies(req)[SIGN_IN_COOKIE];
    if (!browser || browser.length < 32) {
      browser = randomToken();
      setCookie(req, res, SIGN_IN_COOKIE, browser, timeouts.signInTimeoutMs, tenant);
    }
    res.redirect(303, (await signIn.begin(tenant, browser, safeReturn(req.query.return))).href);
  });

  router.get('/callback', async (req, res) => {
    const jar = cookies(req);
    // The URL as the browser asked for it under the public address (the redirect_uri the IdP was given).
    const base =
      tenants.find((t) => new URL(t.oidc.console.publicUrl).host === req.get('host'))?.oidc.console.publicUrl ??
      tenants[0]?.oidc.console.publicUrl ??
      `${req.protocol}://${req.get('host')}`;
    let current: ActiveSession | undefined;
    try {
      current = await sessionOf(req);
    } catch {
      current = undefined;
    }
    const { login, person } = await signIn.complete(
      new URL(`${base.replace(/\/$/, '')}/console/callback${req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : ''}`),
      jar[SIGN_IN_COOKIE],
      current,
    );
    if (login.purpose === 'step_up' && current) {
      await sessions.renew(current, { ...person, stepUpAt: deps.clock().toISOString() });
      const sep = login.returnTo.includes('?') ? '&' : '?';
      res.redirect(303, `${login.returnTo}${sep}done=stepped_up#decide`);
      return;
    }
    // A new session id at every sign-in: whatever id the browser had is ended, never reused.
    if (current) await sessions.end(current.idHash);
    const { id } = await sessions.start(person);
    setCookie(req, res, SESSION_COOKIE, id, timeouts.sessionAbsoluteMs, login.tenant);
    res.redirect(303, login.returnTo);
  });

  router.post('/sign-out', async (req, res, next) => {
    try {
      const session = await sessionOf(req);
      checkCsrf(session, field(req.body, 'csrf'));
      await sessions.end(session.idHash);
    } catch (err) {
      if (!isWardenError(err, 'ERR_SESSION')) return next(err);
    }
    clearCookie(req, res, SESSION_COOKIE);
    res.type('html').send(signInPage(tenants, { signedOut: true }));
  });

  // --- pages --------------------------------------------------------------------------

  router.get(
    '/',
    view(async (_req, res, session) => {
      const caller = callerOf(session.person);
      const may = session.person.roles.length > 0;
      const open = may ? (await workflow.list(session.tenant, {}, 50, undefined, caller)).items : [];
      res.type('html').send(homePage(session, open, may ? await dashboardOf(session.tenant) : undefined));
    }),
  );

  /** The dashboard's numbers: decisions per UTC day by outcome and alerts by rule over the last two weeks, and the open holds. */
  async function dashboardOf(tenant: string): Promise<Dashboard> {
    const DAYS = 14;
    const today = Date.UTC(deps.clock().getUTCFullYear(), deps.clock().getUTCMonth(), deps.clock().getUTCDate());
    const days = Array.from({ length: DAYS }, (_, i) => new Date(today - (DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10));
    const since = new Date(today - (DAYS - 1) * 86_400_000);
    const [counts, holds, alertsByRule] = await Promise.all([
      deps.store.decisionsByDay(tenant, since),
      deps.store.listHolds(tenant, 1000),
      deps.store.alertsByRule(tenant, since),
    ]);
    const series = (outcome: 'allow' | 'hold' | 'deny') => days.map((d) => counts.find((c) => c.day === d && c.outcome === outcome)?.count ?? 0);
    return { days, decisions: { allow: series('allow'), hold: series('hold'), deny: series('deny') }, openHolds: holds.length, alertsByRule };
  }

  router.get(
    '/requests',
    view(async (_req, res, session) => {
      const page = await workflow.list(session.tenant, {}, 100, undefined, callerOf(session.person));
      res.type('html').send(requestsPage(session, page.items, { title: 'Requests', current: 'requests', empty: 'No change requests yet.' }));
    }),
  );

  router.get(
    '/approvals',
    view(async (_req, res, session) => {
      const page = await workflow.list(session.tenant, { state: 'pending_approval' }, 100, undefined, callerOf(session.person));
      res.type('html').send(
        requestsPage(session, page.items, {
          title: 'Waiting for approval',
          current: 'approvals',
          empty: 'Nothing is waiting for approval.',
          intro: 'Requests whose ticket and proofing are complete. Open one to see its evidence and decide.',
        }),
      );
    }),
  );

  router.get(
    '/requests/new',
    view(async (_req, res, session) => {
      res.type('html').send(newRequestPage(session));
    }),
  );

  router.post(
    '/requests',
    action(async (req, res, session) => {
      const values: NewRequestValues = {};
      for (const k of [
        'target',
        'requester',
        'kind',
        'ticketSystem',
        'ticketId',
        'channel',
        'contactDetail',
        'mailboxRulesChangedAt',
        'phoneChangedAt',
        'deviceTrusted',
        'broker',
        'note',
      ] as const) {
        const v = field(req.body, k);
        if (v !== undefined) values[k] = v;
      }
      try {
        const target = values.target ?? '';
        if (!target) throw new WardenError('ERR_VALIDATION', "give the target's login");
        const requester = values.requester || target;
        const context = {
          ...(values.mailboxRulesChangedAt ? { mailboxRulesChangedAt: utc(values.mailboxRulesChangedAt, 'the mailbox rules date') } : {}),
          ...(values.phoneChangedAt ? { phoneChangedAt: utc(values.phoneChangedAt, 'the phone change date') } : {}),
          ...(values.deviceTrusted === 'yes' ? { deviceTrusted: true } : values.deviceTrusted === 'no' ? { deviceTrusted: false } : {}),
        };
        const body = {
          tenant: session.tenant,
          kind: values.kind,
          target: { login: target },
          requester: { id: requester, login: requester },
          justification: { ticket: { system: values.ticketSystem, id: values.ticketId }, ...(values.note ? { note: values.note } : {}) },
          contact: { channel: values.channel, ...(values.contactDetail ? { detail: values.contactDetail } : {}) },
          ...(Object.keys(context).length ? { context } : {}),
          broker: values.broker === 'yes',
          ...(values.broker === 'yes' ? { changeChannel: 'api' } : {}),
        };
        const parsed = CreateRequestBody.safeParse(body);
        if (!parsed.success)
          throw new WardenError('ERR_VALIDATION', `the form is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        const created = await workflow.create(parsed.data, callerOf(session.person));
        res.redirect(303, `/console/requests/${created.id}?done=filed`);
      } catch (err) {
        if (!(err instanceof WardenError) || statusOf(err.code) >= 500) throw err;
        res
          .status(statusOf(err.code))
          .type('html')
          .send(newRequestPage(session, values, err.message));
      }
    }),
  );

  const stepUpMs = (tenant: string) => parseDuration(signIn.tenant(tenant)?.oidc.stepUp.maxAuthAge ?? '15m') * 1000;

  async function extras(session: ActiveSession, r: RequestView): Promise<RequestExtras> {
    const caller = callerOf(session.person);
    let sodReason: string | undefined;
    if (session.person.roles.includes('approver')) {
      try {
        // The same comparison of persons the workflow makes (src/requests/resolve-person.ts), to say so before anyone tries.
        const people = new PersonResolver(workflow.ctx, session.tenant);
        const me = await people.ofCaller(caller);
        const parties = await people.partiesOf(r);
        for (const [party, key] of [
          ['requester', 'requester'],
          ['target', 'target'],
          ['executor', 'executor'],
          ['creator', 'filer'],
        ] as const)
          if (samePerson(me, parties[key])) {
            sodReason = `Separation of duties: you are the ${party} of this request, so someone else must decide on it.`;
            break;
          }
      } catch (err) {
        if (!(err instanceof WardenError)) throw err;
        sodReason = err.message;
      }
    }
    const stepUpAt = session.person.stepUpAt;
    const keys = [r.target.id, r.target.login, r.target.email].filter((k): k is string => !!k).map((k) => k.toLowerCase());
    const since = new Date(deps.clock().getTime() - 30 * 86_400_000);
    const [openAlerts, others] = await Promise.all([
      deps.store.openAlertsFor(session.tenant, keys, since, 10),
      workflow.list(session.tenant, { targetId: r.target.id }, 6, undefined, caller),
    ]);
    return {
      ...(sodReason ? { sodReason } : {}),
      ...(stepUpAt ? { stepUpUntil: new Date(Date.parse(stepUpAt) + stepUpMs(session.tenant)) } : {}),
      openAlerts,
      otherRequests: others.items.filter((o) => o.id !== r.id).slice(0, 5),
    };
  }

  async function showRequest(req: Request, res: Response, session: ActiveSession, id: string, more: Partial<RequestExtras> = {}, status = 200): Promise<void> {
    const r = await workflow.get(session.tenant, id, callerOf(session.person));
    const done = field(req.query, 'done');
    const push = field(req.query, 'push');
    const x = {
      ...(await extras(session, r)),
      ...(done ? { done } : {}),
      ...(push && /^[A-Za-z0-9_-]{1,128}$/.test(push) ? { pushTransaction: push } : {}),
      ...more,
    };
    res
      .status(status)
      .type('html')
      .send(requestPage(session, r, x, deps.clock()));
  }

  const requestId = (req: Request) => {
    const id = String(req.params.id);
    if (!ID.test(id)) throw new WardenError('ERR_NOT_FOUND', `there is no request "${id}"`);
    return id;
  };

  router.get(
    '/requests/:id',
    view(async (req, res, session) => {
      await showRequest(req, res, session, requestId(req));
    }),
  );

  router.get(
    '/requests/:id/evidence.json',
    view(async (req, res, session) => {
      const id = requestId(req);
      const bundle = await workflow.evidenceBundle(session.tenant, id, callerOf(session.person));
      res.setHeader('Content-Disposition', `attachment; filename="warden-evidence-${session.tenant}-${id}.json"`);
      res.type('application/json').send(JSON.stringify(bundle, null, 2));
    }),
  );

  router.get(
    '/requests/:id/step-up',
    view(async (req, res, session) => {
      const id = requestId(req);
      let browser = cookies(req)[SIGN_IN_COOKIE];
      if (!browser || browser.length < 32) {
        browser = randomToken();
        setCookie(req, res, SIGN_IN_COOKIE, browser, timeouts.signInTimeoutMs, session.tenant);
      }
      res.redirect(303, (await signIn.begin(session.tenant, browser, `/console/requests/${id}`, session)).href);
    }),
  );

  /** Runs a workflow operation for a request; its refusal is shown on the request's page, and nothing changed. */
  // biome-ignore lint/suspicious/noConfusingVoidType: the actions are async functions that may return nothing (Promise<void>); `undefined` would not accept them
  const requestAction = (run: (id: string, req: Request, session: ActiveSession) => Promise<string | RequestExtras['brokerSecret'] | void>, done: string) =>
    action(async (req, res, session) => {
      const id = requestId(req);
      try {
        const result = await run(id, req, session);
        if (result && typeof result === 'object') {
          await showRequest(req, res, session, id, { brokerSecret: result, done });
          return;
        }
        res.redirect(303, `/console/requests/${id}?done=${typeof result === 'string' ? result : done}`);
      } catch (err) {
        if (!(err instanceof WardenError) || statusOf(err.code) >= 500 || err.code === 'ERR_NOT_FOUND' || err.code === 'ERR_SESSION' || err.code === 'ERR_CSRF')
          throw err;
        await showRequest(req, res, session, id, { error: { title: 'Not done; nothing was changed.', message: err.message } }, statusOf(err.code));
      }
    });

  router.post(
    '/requests/:id/callback',
    requestAction(async (id, req, session) => {
      const numberLastChangedAt = utc(field(req.body, 'numberLastChangedAt'), 'the date the number last changed');
      const parsed = CallbackBody.safeParse({
        tenant: session.tenant,
        number: field(req.body, 'number'),
        numberSource: field(req.body, 'numberSource'),
        numberLastChangedAt,
        ...(field(req.body, 'note') ? { note: field(req.body, 'note') } : {}),
      });
      if (!parsed.success)
        throw new WardenError(
          'ERR_VALIDATION',
          `the callback form is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      await workflow.recordCallback(id, parsed.data, callerOf(session.person));
    }, 'callback'),
  );

  router.post(
    '/requests/:id/push',
    action(async (req, res, session) => {
      const id = requestId(req);
      try {
        const started = await workflow.startPush(session.tenant, id, callerOf(session.person));
        res.redirect(303, `/console/requests/${id}?done=push&push=${encodeURIComponent(started.transactionId)}`);
      } catch (err) {
        if (!(err instanceof WardenError) || statusOf(err.code) >= 500 || err.code === 'ERR_NOT_FOUND') throw err;
        await showRequest(req, res, session, id, { error: { title: 'The push was not sent; nothing was changed.', message: err.message } }, statusOf(err.code));
      }
    }),
  );

  router.post(
    '/requests/:id/push/:tx',
    action(async (req, res, session) => {
      const id = requestId(req);
      const tx = String(req.params.tx);
      const result = await workflow.pollPush(session.tenant, id, tx, callerOf(session.person));
      if (result.status === 'waiting') res.redirect(303, `/console/requests/${id}?done=push_waiting&push=${encodeURIComponent(tx)}`);
      else if (result.status === 'success') res.redirect(303, `/console/requests/${id}?done=push_success`);
      else
        await showRequest(
          req,
          res,
          session,
          id,
          { error: { title: 'Proofing failed', message: result.status === 'rejected' ? 'the person rejected the push' : 'the push timed out: send another' } },
          200,
        );
    }),
  );

  router.get(
    '/attest/:id',
    view(async (req, res, session) => {
      res.type('html').send(attestPage(session, requestId(req)));
    }),
  );
  router.post(
    '/attest/:id',
    action(async (req, res, session) => {
      const id = requestId(req);
      try {
        await workflow.attest(session.tenant, id, callerOf(session.person));
        res.type('html').send(attestPage(session, id, undefined, true));
      } catch (err) {
        if (!(err instanceof WardenError) || statusOf(err.code) >= 500) throw err;
        res
          .status(statusOf(err.code))
          .type('html')
          .send(attestPage(session, id, err.message));
      }
    }),
  );

  for (const verdict of ['approve', 'reject'] as const)
    router.post(
      `/requests/:id/${verdict}`,
      requestAction(async (id, req, session) => {
        const stepUpAt = session.person.stepUpAt;
        const fresh = stepUpAt !== undefined && deps.clock().getTime() - Date.parse(stepUpAt) < stepUpMs(session.tenant);
        // Without the approver role the workflow's own refusal says so; a re-authentication would not change it.
        if (!fresh && session.person.roles.includes('approver')) {
          // Separation of duties is said first (no re-authentication can change it); otherwise, the IdP must ask again.
          const r = await workflow.get(session.tenant, id, callerOf(session.person));
          const x = await extras(session, r);
          if (x.sodReason) throw new WardenError('ERR_SOD_VIOLATION', x.sodReason);
          throw new WardenError(
            'ERR_STEP_UP_REQUIRED',
            'approving or rejecting needs a fresh sign-in at your identity provider: use "Sign in again to decide"',
          );
        }
        const comment = field(req.body, 'comment');
        await workflow.decide(session.tenant, id, verdict, comment ? comment.slice(0, 2000) : undefined, callerOf(session.person));
      }, verdict),
    );

  router.post(
    '/requests/:id/execute',
    requestAction(async (id, _req, session) => {
      const outcome = await workflow.execute(session.tenant, id, callerOf(session.person));
      return {
        reference: outcome.reference,
        ...(outcome.secret ? { secret: outcome.secret } : {}),
        ...(outcome.expiresAt ? { expiresAt: outcome.expiresAt } : {}),
      };
    }, 'executed'),
  );

  // --- oversight: auditors, admins, security -----------------------------------------

  const oversee = (session: ActiveSession, what: string) => authorizeCaller(callerOf(session.person), session.tenant, { roles: ['auditor', 'admin'], what });

  async function showAudit(res: Response, session: ActiveSession, verification?: Awaited<ReturnType<typeof verifyAudit>>): Promise<void> {
    const head = await deps.store.auditHead(session.tenant);
    const rows = (await deps.store.readAudit(session.tenant, Math.max(0, head.seq - 50), 50)).reverse();
    res.type('html').send(auditPage(session, rows, head, verification));
  }

  router.get(
    '/audit',
    view(async (_req, res, session) => {
      oversee(session, 'reading the audit log');
      await showAudit(res, session);
    }),
  );

  router.post(
    '/audit/verify',
    action(async (_req, res, session) => {
      oversee(session, 'verifying the audit log');
      await showAudit(res, session, await verifyAudit(deps.store, session.tenant));
    }),
  );

  router.get(
    '/reports/accountability.:format',
    view(async (req, res, session) => {
      const format = String(req.params.format);
      if (format !== 'csv' && format !== 'json') throw new WardenError('ERR_NOT_FOUND', 'the report comes as csv or json');
      const now = deps.clock();
      const report = await workflow.report(session.tenant, new Date(now.getTime() - 30 * 86_400_000), now, callerOf(session.person));
      res.setHeader('Content-Disposition', `attachment; filename="warden-accountability-${session.tenant}-${now.toISOString().slice(0, 10)}.${format}"`);
      if (format === 'csv') res.type('text/csv').send(reportCsv(report));
      else res.type('application/json').send(JSON.stringify(report, null, 2));
    }),
  );

  async function showAlerts(req: Request, res: Response, session: ActiveSession, error?: { alertId?: string; message: string }, status = 200): Promise<void> {
    oversee(session, 'reading alerts');
    const done = field(req.query, 'done');
    res
      .status(status)
      .type('html')
      .send(
        alertsPage(session, await deps.store.listAlerts(session.tenant, { limit: 50 }), {
          mayClose: session.person.roles.includes('admin'),
          ...(error ? { error } : {}),
          ...(done ? { done } : {}),
        }),
      );
  }

  router.get(
    '/alerts',
    view(async (req, res, session) => showAlerts(req, res, session)),
  );

  router.post(
    '/alerts/:id/close',
    action(async (req, res, session) => {
      const id = String(req.params.id);
      try {
        if (!ID.test(id)) throw new WardenError('ERR_NOT_FOUND', `there is no alert "${id}"`);
        await workflow.closeAlert(session.tenant, id, field(req.body, 'reason') ?? '', callerOf(session.person));
        res.redirect(303, `/console/alerts?done=closed`);
      } catch (err) {
        if (!(err instanceof WardenError) || statusOf(err.code) >= 500 || err.code === 'ERR_FORBIDDEN') throw err;
        await showAlerts(req, res, session, { ...(err.code !== 'ERR_NOT_FOUND' ? { alertId: id } : {}), message: err.message }, statusOf(err.code));
      }
    }),
  );

  // --- admin ----------------------------------------------------------------------------

  async function showAdmin(req: Request, res: Response, session: ActiveSession, more: Partial<AdminView> = {}, status = 200): Promise<void> {
    const caller = callerOf(session.person);
    authorizeCaller(caller, session.tenant, { roles: ['admin'], what: 'the admin page' });
    const [held, exceptions, reviews] = await Promise.all([
      deps.store.listHolds(session.tenant, 50),
      workflow.listExceptions(session.tenant, caller),
      workflow.listReviews(session.tenant, undefined, caller),
    ]);
    const holds = await Promise.all(
      held.map(async (decision) => ({
        decision,
        change: await deps.store.getChange(session.tenant, decision.changeId),
        failedActions: (await deps.store.listActions(session.tenant, decision.id)).filter((a) => a.state === 'failed').length,
      })),
    );
    const done = field(req.query, 'done');
    res
      .status(status)
      .type('html')
      .send(adminPage(session, { holds, exceptions, reviews, ...(done ? { done } : {}), ...more }));
  }
  /** An admin action: the workflow's refusal is shown on the admin page. */
  const adminAction = (run: (req: Request, session: ActiveSession) => Promise<void>, done: string) =>
    action(async (req, res, session) => {
      try {
        await run(req, session);
        res.redirect(303, `/console/admin?done=${done}`);
      } catch (err) {
        if (!(err instanceof WardenError) || statusOf(err.code) >= 500 || err.code === 'ERR_FORBIDDEN') throw err;
        await showAdmin(req, res, session, { error: err.message }, statusOf(err.code));
      }
    });

  router.get(
    '/admin',
    view(async (req, res, session) => showAdmin(req, res, session)),
  );
  router.post(
    '/admin/holds/:id/release',
    adminAction(async (req, session) => {
      const id = String(req.params.id);
      if (!ID.test(id)) throw new WardenError('ERR_NOT_FOUND', `there is no held decision "${id}"`);
      await workflow.releaseHold(session.tenant, id, field(req.body, 'reason') ?? '', callerOf(session.person));
    }, 'released'),
  );
  router.post(
    '/admin/exceptions',
    adminAction(async (req, session) => {
      const parsed = CreateExceptionBody.safeParse({
        tenant: session.tenant,
        ruleId: field(req.body, 'ruleId'),
        target: field(req.body, 'target'),
        owner: field(req.body, 'owner'),
        reason: field(req.body, 'reason'),
        expiresAt: utc(field(req.body, 'expiresAt'), 'the expiry'),
      });
      if (!parsed.success)
        throw new WardenError('ERR_VALIDATION', `the form is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      await workflow.createException(parsed.data, callerOf(session.person));
    }, 'exception'),
  );
  router.post(
    '/admin/exceptions/:id/revoke',
    adminAction(async (req, session) => void (await workflow.revokeException(session.tenant, String(req.params.id), callerOf(session.person))), 'revoked'),
  );
  router.post(
    '/admin/reviews/:id',
    adminAction(async (req, session) => {
      const outcome = field(req.body, 'outcome');
      const notes = field(req.body, 'notes') ?? '';
      if (outcome !== 'justified' && outcome !== 'unjustified') throw new WardenError('ERR_VALIDATION', 'the outcome is justified or unjustified');
      if (!notes) throw new WardenError('ERR_VALIDATION', 'write what the review found');
      await workflow.completeReview(session.tenant, String(req.params.id), { outcome, notes: notes.slice(0, 4000) }, callerOf(session.person));
    }, 'review'),
  );

  router.get(
    '/status',
    view(async (_req, res, session) => {
      authorizeCaller(callerOf(session.person), session.tenant, { roles: ['admin'], what: 'the status page' });
      const [cursors, failures] = await Promise.all([deps.store.cursorStates(session.tenant), deps.store.failureCounts(session.tenant)]);
      let policy: PolicyStatus | undefined;
      try {
        policy = deps.policies?.status(session.tenant);
      } catch {
        policy = undefined;
      }
      res.type('html').send(statusPage(session, { ...(policy ? { policy } : {}), cursors, failures, now: deps.clock() }));
    }),
  );

  router.get(
    '/step-up',
    view(async (req, res, session) => {
      let browser = cookies(req)[SIGN_IN_COOKIE];
      if (!browser || browser.length < 32) {
        browser = randomToken();
        setCookie(req, res, SIGN_IN_COOKIE, browser, timeouts.signInTimeoutMs, session.tenant);
      }
      res.redirect(303, (await signIn.begin(session.tenant, browser, safeReturn(req.query.return), session)).href);
    }),
  );

  // --- errors -------------------------------------------------------------------------

  router.use((_req, _res, next) => next(new WardenError('ERR_NOT_FOUND', 'there is no such page in the console')));
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const session = res.locals.session as ActiveSession | undefined;
    if (err instanceof WardenError) {
      const status = statusOf(err.code);
      if (status >= 500) deps.onError?.(err, req.path);
      if (err.code === 'ERR_SESSION') {
        clearCookie(req, res, SESSION_COOKIE);
        res
          .status(401)
          .type('html')
          .send(signInPage(tenants, { message: `${err.message}. Nothing was changed.` }));
        return;
      }
      const titles: Partial<Record<string, string>> = {
        ERR_CSRF: 'Refused: the form could not be verified',
        ERR_SIGN_IN: 'Sign-in refused',
        ERR_NOT_FOUND: 'Not found',
        ERR_FORBIDDEN: 'Not allowed',
        ERR_TENANT_UNKNOWN: 'Unknown tenant',
        ERR_UPSTREAM: 'A service Warden needs did not answer',
      };
      res
        .status(status)
        .type('html')
        .send(
          errorPage({
            title: titles[err.code] ?? 'Not done',
            message:
              status >= 500 && err.code !== 'ERR_UPSTREAM' ? 'Warden failed to do this; nothing was changed. The error is in the server log.' : err.message,
            ...(session ? { session } : {}),
            ...(err.code === 'ERR_SIGN_IN' ? { back: { href: '/console/', label: 'Start a new sign-in' } } : {}),
          }),
        );
      return;
    }
    deps.onError?.(err, req.path);
    res
      .status(500)
      .type('html')
      .send(
        errorPage({
          title: 'Something went wrong',
          message: 'Warden failed to do this; nothing was changed. The error is in the server log.',
          ...(session ? { session } : {}),
        }),
      );
  });
  return router;
}
