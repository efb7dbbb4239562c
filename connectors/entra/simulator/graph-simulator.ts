import { systemClock } from '../../../src/core/clock.js';
import { createHash, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importX509, jwtVerify } from 'jose';
import { compileAuditFilter } from './odata-query.js';
import {
  METHOD_COLLECTIONS,
  SimError,
  SimulatedDirectory,
  type AuditEntry,
  type MethodCollection,
  type PhoneType,
  type SimActor,
  type SimApp,
  type SimUser,
  type SimCredentialOwner,
  type SimKeyCredential,
  type SimPasswordCredential,
} from './simulated-directory.js';
import { WardenError } from '../../../src/core/errors.js';

/**
 * A local stand-in for the parts of Microsoft Entra ID and Microsoft Graph
 * that Warden uses, so the real `@azure/identity` and
 * `@microsoft/microsoft-graph-client` code paths run end to end without the
 * internet (shared/research/simulators.md). It serves HTTPS (the identity
 * library refuses an `http:` authority) with a throw-away certificate the
 * client trusts through `NODE_EXTRA_CA_CERTS`.
 *
 * What it speaks, with Microsoft's paths, fields, status codes and headers:
 * - `GET /{tenant}/v2.0/.well-known/openid-configuration`, `POST /{tenant}/oauth2/v2.0/token`
 *   (client credentials with a secret or a certificate assertion);
 * - `/v1.0/users/{id|upn}` (GET with `$select`, PATCH), `…/revokeSignInSessions`,
 *   `…/transitiveMemberOf/microsoft.graph.group`, `…/authentication/methods` and the
 *   per-type method collections (GET, DELETE; POST for phone and TAP);
 * - `/v1.0/groups` (POST, GET with `$filter=displayName eq`), `…/members/$ref`;
 * - `/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq …&$expand=roleDefinition`;
 * - `/v1.0/identityProtection/riskyUsers/confirmCompromised` (403 without Entra ID P2);
 * - `/v1.0/subscriptions` with the validation handshake against the notification
 *   and lifecycle URLs, renewal, reauthorize, expiry, change notifications on user
 *   changes, lifecycle notifications on request;
 * - `/v1.0/auditLogs/directoryAudits` with `$filter` on time, `$top`, `$orderby`,
 *   `@odata.nextLink` paging and audit latency;
 * - the Office 365 Management Activity API subset under `/api/v1.0/{tenant}/activity/feed/`.
 *
 * Every Graph call is checked against the app's granted application
 * permissions (403 `Authorization_RequestDenied` otherwise), using the least
 * privileged permissions Microsoft documents for each API, so a test proves
 * that Warden's permission list suffices. Throttling and outages (`429`/`503`
 * with `Retry-After`, other 5xx) can be switched on for any endpoint
 * (`faults.inject`). Access tokens expire on the simulated clock, so a test
 * that moves the clock past an hour sees Graph refuse the token with 401
 * `InvalidAuthenticationToken`, as Graph does when a token has expired.
 *
 * Test-only controls (not Graph behaviour) are plain methods on the returned
 * object: acting as an administrator, sending lifecycle notifications,
 * dropping change notifications, throttling.
 */

export interface GraphSimulatorOptions {
  /** PEM certificate and key for HTTPS (see throwawayCertificate). */
  tls: { cert: string; key: string };
  tenantId?: string;
  /** Port on 127.0.0.1 to listen on (default 0: an ephemeral one). */
  port?: number;
  /** The simulated clock (token expiry, audit latency, subscription expiry). */
  clock?: () => Date;
  /** Largest `$top` for directoryAudits (Graph caps pages; default 1000). */
  maxAuditPage?: number;
  /** Default directoryAudits page size when `$top` is absent. */
  defaultAuditPage?: number;
  /** Blobs per page of `subscriptions/content` before `NextPageUri` paging. */
  contentPageSize?: number;
}

/** Which application permissions satisfy a route (any one of them), from Microsoft's permission tables. */
type Permissions = readonly string[];

interface Route {
  method: string;
  pattern: RegExp;
  permissions: Permissions | ((req: SimRequest) => Permissions);
  handle(req: SimRequest, match: RegExpExecArray): Promise<SimResponse> | SimResponse;
}

interface SimRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: unknown;
  rawBody: string;
  app?: SimApp;
}

interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface SimSubscription {
  id: string;
  resource: string;
  applicationId: string;
  changeType: string;
  clientState: string | null;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  expirationDateTime: string;
  creatorId: string;
  latestSupportedTlsVersion: string;
  /** When it was last reauthorized or renewed. */
  authorizedAt: string;
}

/** A delivery the simulator made (change or lifecycle notification, or a validation request). */
export interface SimDelivery {
  kind: 'notification' | 'lifecycle' | 'validation';
  url: string;
  subscriptionId?: string;
  status: number;
  ms: number;
  error?: string;
  body?: unknown;
}

export interface ThrottleRule {
  /** Requests whose path matches are throttled. */
  path: RegExp;
  /** How many requests to throttle (then the rule ends). */
  count: number;
  status?: 429 | 503;
  retryAfterSeconds?: number;
}

/**
 * An injected answer (test control), for any endpoint: Graph, the token
 * endpoint, the Management Activity API.
 *
 * ```ts
 * sim.faults.inject({ status: 429, count: 3, retryAfterSeconds: 30 });       // every path
 * sim.faults.inject({ status: 503, count: 5, path: /revokeSignInSessions/ }); // Retry-After: 1
 * sim.faults.inject({ status: 502, count: 1, method: 'POST' });               // no Retry-After
 * ```
 *
 * A faulted request is not performed. 429 (`TooManyRequests`) and 503
 * (`ServiceUnavailable`) carry `Retry-After` in seconds (default 1), as
 * Graph's throttling answers do (research entra.md §5); 500, 502 and 504 carry
 * none. `retryAfterSeconds: null` leaves the header out.
 */
export interface GraphFaultRule {
  status: 429 | 500 | 502 | 503 | 504;
  /** How many matching requests get it. Default 1. */
  count?: number;
  /** Only paths that match. Default: every path. */
  path?: RegExp;
  /** Only this method. Default: every method. */
  method?: string;
  /** `Retry-After` seconds on 429/503 (default 1); `null`: no header. */
  retryAfterSeconds?: number | null;
}

/** Max subscription lifetime for user and group resources: 41,760 minutes (entra.md §1.6). */
export const MAX_USER_SUBSCRIPTION_MINUTES = 41_760;

const LIST_USERS_PERMISSIONS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const METHODS_READ = ['UserAuthenticationMethod.Read.All', 'UserAuthenticationMethod.ReadWrite.All'];
const METHODS_WRITE = ['UserAuthenticationMethod.ReadWrite.All'];
const GROUP_MEMBERS_WRITE = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];
const GROUPS_READ = ['GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All'];

/** The user properties Graph returns when no `$select` is given (user-get.md). */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

export interface GraphSimulator {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`-less host name for the Graph client's `customHosts`. */
  host: string;
  port: number;
  directory: SimulatedDirectory;
  subscriptions: Map<string, SimSubscription>;
  deliveries: SimDelivery[];
  /** Every request: method, path (without query), app, status. */
  requests: Array<{ method: string; path: string; query: string; appId?: string; status: number }>;
  /** Throttle matching requests (test control); the same as `faults.inject`. */
  throttle(rule: ThrottleRule): void;
  /** Injected 429/5xx answers on any endpoint (test control, `GraphFaultRule`). */
  faults: {
    inject(rule: GraphFaultRule): void;
    /** Removes every rule. */
    clear(): void;
    /** Requests answered by an injected fault so far. */
    readonly injected: number;
    /** Matching requests the rules will still fault. */
    readonly pending: number;
  };
  /** `deliver`: change notifications are posted; `drop`: the subscription exists but delivers nothing (test control). */
  notificationMode: 'deliver' | 'drop';
  /** Sends a lifecycle notification for a subscription (test control); `subscriptionRemoved` also removes it. */
  sendLifecycle(subscriptionId: string, event: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed'): Promise<SimDelivery>;
  /** Waits until every notification posted so far was answered. */
  settle(): Promise<void>;
  /** Acts as a person in the portal: helpers for tests and demos (test control). */
  act: {
    registerPhone(actorId: string, targetId: string, input: { phoneNumber: string; phoneType?: PhoneType; delayMs?: number }): void;
    registerAuthenticator(actorId: string, targetId: string, input?: { displayName?: string; delayMs?: number }): void;
    resetPassword(actorId: string, targetId: string, options?: { delayMs?: number }): void;
    updateJobTitle(actorId: string, targetId: string, jobTitle: string): void;
    /** Adds a client secret to a service principal, as the person would in the portal. */
    addServicePrincipalPassword(actorId: string, servicePrincipalId: string, displayName: string): SimPasswordCredential;
    /** Adds a client secret to an application object (app registration > Certificates & secrets). */
    addApplicationPassword(actorId: string, applicationId: string, displayName: string): SimPasswordCredential;
    /** Uploads a certificate to an application object or a service principal; `startDateTime` is the certificate's validity start (default now). */
    addKeyCredential(
      actorId: string,
      owner: { application: string } | { servicePrincipal: string },
      displayName: string,
      startDateTime?: Date,
    ): SimKeyCredential;
  };
  close(): Promise<void>;
}

/** Graph's error code and message for an injected status. */
const FAULT_ERRORS: Record<number, [string, string]> = {
  429: ['TooManyRequests', 'Too many requests.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  502: ['BadGateway', 'Bad gateway.'],
  503: ['ServiceUnavailable', 'Service unavailable.'],
  504: ['GatewayTimeout', 'Gateway timeout.'],
};

function graphError(status: number, code: string, message: string, now: Date): SimResponse {
  return {
    status,
    body: {
      error: { code, message, innerError: { date: now.toISOString().replace(/\.\d+Z$/, ''), 'request-id': randomUUID(), 'client-request-id': randomUUID() } },
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the simulator on an ephemeral port of 127.0.0.1. */
export async function startGraphSimulator(options: GraphSimulatorOptions): Promise<GraphSimulator> {
  const clock = options.clock ?? systemClock;
  const tenantId = options.tenantId ?? randomUUID();
  const directory = new SimulatedDirectory(tenantId, clock);
  const tokens = new Map<string, { appId: string; expiresAt: number }>();
  const subscriptions = new Map<string, SimSubscription>();
  const deliveries: SimDelivery[] = [];
  const requests: GraphSimulator['requests'] = [];
  const faults: Array<{ status: number; count: number; path?: RegExp; method?: string; retryAfterSeconds: number | null }> = [];
  let injected = 0;
  const pending = new Set<Promise<unknown>>();
  let base = '';

  const sim = {
    notificationMode: 'deliver' as 'deliver' | 'drop',
  };

  const userOr404 = (idOrUpn: string): SimUser => {
    const user = directory.findUser(idOrUpn);
    if (!user)
      throw new SimError(
        404,
        'Request_ResourceNotFound',
        `Resource '${decodeURIComponent(idOrUpn)}' does not exist or one of its queried reference-property objects are not present.`,
      );
    return user;
  };
  const appActor = (req: SimRequest): SimActor => ({ app: req.app! });
  const servicePrincipalOr404 = (id: string) => {
    const sp = directory.servicePrincipals.get(decodeURIComponent(id));
    if (!sp)
      throw new SimError(
        404,
        'Request_ResourceNotFound',
        `Resource '${decodeURIComponent(id)}' does not exist or one of its queried reference-property objects are not present.`,
      );
    return sp;
  };
  const applicationOr404 = (id: string) => {
    const app = directory.applications.get(decodeURIComponent(id));
    if (!app)
      throw new SimError(
        404,
        'Request_ResourceNotFound',
        `Resource '${decodeURIComponent(id)}' does not exist or one of its queried reference-property objects are not present.`,
      );
    return app;
  };
  /** keyCredentials as Graph lists them: `key` only when `$select` names the collection on a single object. */
  const keysOf = (keys: SimKeyCredential[], req: SimRequest) => {
    const selected = (req.url.searchParams.get('$select') ?? '').split(',').includes('keyCredentials');
    return keys.map((k) => ({ ...k, key: selected ? k.key : null }));
  };
  const patchKeys = (req: SimRequest, owner: SimCredentialOwner) => {
    const body = req.body as { keyCredentials?: unknown } | undefined;
    if (!body || !Array.isArray(body.keyCredentials)) throw new SimError(400, 'Request_BadRequest', 'The simulator updates only keyCredentials.');
    const refused = directory.replaceKeyCredentials(appActor(req), owner, body.keyCredentials as Array<{ keyId?: unknown; key?: unknown }>);
    if (refused) throw new SimError(400, 'Request_BadRequest', refused);
    return { status: 204 };
  };

  // ---------------------------------------------------------------- delivery

  const post = async (
    kind: SimDelivery['kind'],
    url: string,
    body: string | undefined,
    contentType: string,
    timeoutMs: number,
    subscriptionId?: string,
  ): Promise<SimDelivery & { text: string }> => {
    const t0 = performance.now();
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': contentType },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      const d = {
        kind,
        url,
        status: res.status,
        ms: performance.now() - t0,
        ...(subscriptionId ? { subscriptionId } : {}),
        ...(body ? { body: JSON.parse(body) as unknown } : {}),
      };
      deliveries.push(d);
      return { ...d, text };
    } catch (err) {
      const d = { kind, url, status: 0, ms: performance.now() - t0, error: String((err as Error).message), ...(subscriptionId ? { subscriptionId } : {}) };
      deliveries.push(d);
      return { ...d, text: '' };
    }
  };

  /** The validation handshake (change-notifications-delivery-notificationurl-validation.md): 200, text/plain, the token, within 10 s. */
  const validate = async (url: string): Promise<boolean> => {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = new URL(url);
    target.searchParams.set('validationToken', token);
    const result = await post('validation', target.toString(), undefined, 'text/plain; charset=utf-8', 10_000);
    return result.status === 200 && result.text === token;
  };

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
    return p;
  };

  directory.onUserChanged = (user, changeType) => {
    if (sim.notificationMode === 'drop') return;
    const now = clock();
    for (const s of subscriptions.values()) {
      if (Date.parse(s.expirationDateTime) <= now.getTime()) continue;
      if (!s.changeType.split(',').includes(changeType)) continue;
      if (s.resource.toLowerCase() !== '/users' && s.resource.toLowerCase() !== `/users/${user.id}`) continue;
      const notification = {
        value: [
          {
            changeType,
            clientState: s.clientState,
            resource: `Users/${user.id}`,
            resourceData: {
              '@odata.type': '#Microsoft.Graph.User',
              '@odata.id': `Users/${user.id}`,
              id: user.id,
              organizationId: tenantId,
              eventTime: now.toISOString(),
              sequenceNumber: String(now.getTime()),
            },
            subscriptionExpirationDateTime: s.expirationDateTime,
            subscriptionId: s.id,
            tenantId,
          },
        ],
      };
      // Graph's publisher gives the endpoint 3 s (change-notifications-delivery-webhooks.md §"response time").
      void track(post('notification', s.notificationUrl, JSON.stringify(notification), 'application/json; charset=utf-8', 3_000, s.id));
    }
  };

  // ---------------------------------------------------------------- routes

  const user = (m: RegExpExecArray) => userOr404(m[1]!);
  const methodCollections = Object.keys(METHOD_COLLECTIONS).join('|');

  const selectUser = (u: SimUser, select: string | null): Record<string, unknown> => {
    const props = select ? [...select.split(',').map((s) => s.trim()), 'id'] : DEFAULT_USER_PROPERTIES;
    const full: Record<string, unknown> = {
      ...u,
      businessPhones: [],
      givenName: null,
      surname: null,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
    };
    delete full.forceChangePasswordNextSignIn;
    const out: Record<string, unknown> = { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users(${select ?? ''})/$entity` };
    for (const p of props) if (p in full) out[p] = full[p];
    return out;
  };

  const subscriptionBody = (s: SimSubscription, withClientState: boolean) => ({
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity',
    id: s.id,
    resource: s.resource,
    applicationId: s.applicationId,
    changeType: s.changeType,
    clientState: withClientState ? s.clientState : null,
    notificationUrl: s.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl,
    expirationDateTime: s.expirationDateTime,
    creatorId: s.creatorId,
    includeResourceData: null,
    latestSupportedTlsVersion: s.latestSupportedTlsVersion,
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  });

  const liveSubscription = (id: string): SimSubscription => {
    const s = subscriptions.get(id);
    if (!s || Date.parse(s.expirationDateTime) <= clock().getTime()) {
      subscriptions.delete(id);
      throw new SimError(404, 'ResourceNotFound', 'The object was not found.');
    }
    return s;
  };

  const checkExpiration = (value: unknown, resource: string): string => {
    const at = typeof value === 'string' ? Date.parse(value) : NaN;
    const now = clock().getTime();
    if (Number.isNaN(at)) throw new SimError(400, 'ExtensionError', 'expirationDateTime is required and must be a date.');
    if (at <= now) throw new SimError(400, 'ExtensionError', 'Subscription expiration can only be in the future.');
    if (/^\/?users/i.test(resource) && at > now + MAX_USER_SUBSCRIPTION_MINUTES * 60_000)
      throw new SimError(400, 'ExtensionError', `Subscription expiration can only be ${MAX_USER_SUBSCRIPTION_MINUTES} minutes in the future.`);
    return new Date(at).toISOString();
  };

  // The records a listing pages through, kept while its pages are read: a back-fill of 100,000 records reads
  // 100 pages, and filtering and sorting all of them again for each page made the simulator the bottleneck.
  let auditListing: { key: string; records: Array<AuditEntry['record']> } | undefined;
  const visibleAudits = (state: { asOf: number; filter: string | null; order: string }): Array<AuditEntry['record']> => {
    const key = `${state.filter}\u0000${state.asOf}\u0000${state.order}\u0000${directory.audits.length}`;
    if (auditListing?.key === key) return auditListing.records;
    const predicate = compileAuditFilter(state.filter);
    // Records are written in time order but for a few with a time of their own: sort by the parsed time, once each.
    const timed = directory.audits
      .filter((e) => e.visibleAt <= state.asOf && predicate(e.record))
      .map((e) => ({ at: Date.parse(e.record.activityDateTime), record: e.record }))
      .sort((a, b) => a.at - b.at);
    const records = timed.map((t) => t.record);
    if (!state.order.endsWith('asc')) records.reverse();
    auditListing = { key, records };
    return records;
  };

  const auditPage = (req: SimRequest): SimResponse => {
    const q = req.url.searchParams;
    const skip = q.get('$skiptoken');
    let state: { offset: number; asOf: number; filter: string | null; top: number; order: string };
    if (skip) {
      try {
        state = JSON.parse(Buffer.from(skip, 'base64url').toString('utf8')) as typeof state;
      } catch {
        throw new SimError(400, 'BadRequest', 'Invalid $skiptoken.');
      }
    } else {
      const top = q.has('$top') ? Number(q.get('$top')) : (options.defaultAuditPage ?? 100);
      if (!Number.isInteger(top) || top < 1 || top > (options.maxAuditPage ?? 1000))
        throw new SimError(400, 'BadRequest', `Invalid $top value: ${q.get('$top')}`);
      const order = (q.get('$orderby') ?? 'activityDateTime desc').trim();
      if (!/^activityDateTime( asc| desc)?$/.test(order)) throw new SimError(400, 'BadRequest', `Invalid $orderby: ${order}`);
      state = { offset: 0, asOf: clock().getTime(), filter: q.get('$filter'), top, order };
    }
    const visible = visibleAudits(state);
    const page = visible.slice(state.offset, state.offset + state.top);
    const body: Record<string, unknown> = { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits', value: page };
    if (state.offset + state.top < visible.length) {
      const token = Buffer.from(JSON.stringify({ ...state, offset: state.offset + state.top })).toString('base64url');
      body['@odata.nextLink'] = `${base}/v1.0/auditLogs/directoryAudits?$skiptoken=${token}`;
    }
    return { status: 200, body };
  };

  const routes: Route[] = [
    // users: list (graph-docs api-reference/v1.0/api/user-list.md: `$select`, `$top` 1–999, default 100;
    // further pages by `@odata.nextLink` with a `$skiptoken`)
    {
      method: 'GET',
      pattern: /^\/v1\.0\/users$/,
      permissions: LIST_USERS_PERMISSIONS,
      handle: (req) => {
        const q = req.url.searchParams;
        const skip = q.get('$skiptoken');
        let state: { offset: number; top: number; select: string | null };
        if (skip) {
          try {
            state = JSON.parse(Buffer.from(skip, 'base64url').toString('utf8')) as typeof state;
          } catch {
            throw new SimError(400, 'BadRequest', 'Invalid $skiptoken.');
          }
        } else {
          const top = q.has('$top') ? Number(q.get('$top')) : 100;
          if (!Number.isInteger(top) || top < 1 || top > 999) throw new SimError(400, 'BadRequest', `Invalid $top value: ${q.get('$top')}`);
          state = { offset: 0, top, select: q.get('$select') };
        }
        const all = [...directory.users.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const value = all.slice(state.offset, state.offset + state.top).map((u) => {
          const { '@odata.context': _context, ...rest } = selectUser(u, state.select);
          return rest;
        });
        const body: Record<string, unknown> = { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users(${state.select ?? ''})`, value };
        if (state.offset + state.top < all.length)
          body['@odata.nextLink'] =
            `${base}/v1.0/users?$skiptoken=${Buffer.from(JSON.stringify({ ...state, offset: state.offset + state.top })).toString('base64url')}`;
        return { status: 200, body };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\.0\/users\/([^/]+)$/,
      permissions: LIST_USERS_PERMISSIONS,
      handle: (req, m) => ({ status: 200, body: selectUser(user(m), req.url.searchParams.get('$select')) }),
    },
    {
      method: 'PATCH',
      pattern: /^\/v1\.0\/users\/([^/]+)$/,
      permissions: (req) => {
        const body = req.body as Record<string, unknown>;
        if ('passwordProfile' in body) return ['User-PasswordProfile.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
        if ('accountEnabled' in body) return ['User.EnableDisableAccount.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
        return ['User.ReadWrite.All', 'Directory.ReadWrite.All'];
      },
      handle: (req, m) => {
        const body = req.body as { accountEnabled?: unknown; jobTitle?: unknown; passwordProfile?: { forceChangePasswordNextSignIn?: unknown } };
        const target = user(m);
        const patch: Parameters<SimulatedDirectory['updateUser']>[2] = {};
        if (body.accountEnabled !== undefined) {
          if (typeof body.accountEnabled !== 'boolean')
            throw new SimError(400, 'Request_BadRequest', "Invalid value specified for property 'accountEnabled' of resource 'User'.");
          patch.accountEnabled = body.accountEnabled;
        }
        if (typeof body.jobTitle === 'string') patch.jobTitle = body.jobTitle;
        if (body.passwordProfile && typeof body.passwordProfile.forceChangePasswordNextSignIn === 'boolean')
          patch.forceChangePasswordNextSignIn = body.passwordProfile.forceChangePasswordNextSignIn;
        directory.updateUser(appActor(req), target, patch);
        return { status: 204 };
      },
    },
    // service principals: read one, remove a client secret (revoke_new_credential)
    {
      method: 'GET',
      pattern: /^\/v1\.0\/servicePrincipals\/([^/]+)$/,
      permissions: ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All'],
      handle: (_req, m) => {
        const sp = servicePrincipalOr404(m[1]!);
        return {
          status: 200,
          body: {
            '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity',
            id: sp.id,
            appId: sp.appId,
            displayName: sp.displayName,
            passwordCredentials: sp.passwordCredentials,
            keyCredentials: keysOf(sp.keyCredentials, _req),
          },
        };
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/v1\.0\/servicePrincipals\/([^/]+)$/,
      permissions: ['Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy'],
      handle: (req, m) => patchKeys(req, { kind: 'servicePrincipal', object: servicePrincipalOr404(m[1]!) }),
    },
    // application objects: read one, remove a client secret, replace the certificates (revoke_new_credential)
    {
      method: 'GET',
      pattern: /^\/v1\.0\/applications\/([^/]+)$/,
      permissions: ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All'],
      handle: (req, m) => {
        const app = applicationOr404(m[1]!);
        return {
          status: 200,
          body: {
            '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#applications/$entity',
            id: app.id,
            appId: app.appId,
            displayName: app.displayName,
            passwordCredentials: app.passwordCredentials,
            keyCredentials: keysOf(app.keyCredentials, req),
          },
        };
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/v1\.0\/applications\/([^/]+)$/,
      permissions: ['Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy'],
      handle: (req, m) => patchKeys(req, { kind: 'application', object: applicationOr404(m[1]!) }),
    },
    {
      method: 'POST',
      pattern: /^\/v1\.0\/applications\/([^/]+)\/removePassword$/,
      permissions: ['Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy'],
      handle: (req, m) => {
        const app = applicationOr404(m[1]!);
        const keyId = (req.body as { keyId?: unknown } | undefined)?.keyId;
        if (typeof keyId !== 'string') throw new SimError(400, 'Request_BadRequest', 'keyId is required.');
        if (!directory.removeApplicationPassword(appActor(req), app, keyId))
          throw new SimError(404, 'Request_ResourceNotFound', `No password credential found with keyId '${keyId}'.`);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\.0\/servicePrincipals\/([^/]+)\/removePassword$/,
      permissions: ['Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy'],
      handle: (req, m) => {
        const sp = servicePrincipalOr404(m[1]!);
        const keyId = (req.body as { keyId?: unknown } | undefined)?.keyId;
        if (typeof keyId !== 'string') throw new SimError(400, 'Request_BadRequest', 'keyId is required.');
        if (!directory.removeServicePrincipalPassword(appActor(req), sp, keyId))
          throw new SimError(404, 'Request_ResourceNotFound', `No password credential found with keyId '${keyId}'.`);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\.0\/users\/([^/]+)\/revokeSignInSessions$/,
      permissions: ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
      handle: (req, m) => {
        directory.revokeSessions(appActor(req), user(m));
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean', value: true } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\.0\/users\/([^/]+)\/transitiveMemberOf\/microsoft\.graph\.group$/,
      permissions: GROUPS_READ,
      handle: (req, m) => {
        const select = req.url.searchParams.get('$select')?.split(',') ?? ['id', 'displayName', 'description', 'securityEnabled', 'mailEnabled'];
        const value = directory.groupsOf(user(m).id).map((g) => {
          const full: Record<string, unknown> = {
            '@odata.type': '#microsoft.graph.group',
            id: g.id,
            displayName: g.displayName,
            description: g.description,
            securityEnabled: g.securityEnabled,
            mailEnabled: g.mailEnabled,
          };
          return Object.fromEntries(Object.entries(full).filter(([k]) => k === '@odata.type' || k === 'id' || select.includes(k)));
        });
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#groups', value } };
      },
    },
    // authentication methods
    {
      method: 'GET',
      pattern: /^\/v1\.0\/users\/([^/]+)\/authentication\/methods$/,
      permissions: METHODS_READ,
      handle: (_req, m) => {
        const value = directory.methodsOf(user(m).id).map((x) => ({ '@odata.type': METHOD_COLLECTIONS[x.collection], ...x.body }));
        return { status: 200, body: { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${m[1]}')/authentication/methods`, value } };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1\\.0/users/([^/]+)/authentication/(${methodCollections})$`),
      permissions: METHODS_READ,
      handle: (_req, m) => {
        const collection = m[2] as MethodCollection;
        const value = directory
          .methodsOf(user(m).id)
          .filter((x) => x.collection === collection)
          .map((x) => (collection === 'phoneMethods' ? { ...x.body } : { '@odata.type': METHOD_COLLECTIONS[collection], ...x.body }));
        return { status: 200, body: { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${m[1]}')/authentication/${collection}`, value } };
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1\\.0/users/([^/]+)/authentication/(${methodCollections})/([^/]+)$`),
      permissions: METHODS_WRITE,
      handle: (req, m) => {
        directory.deleteMethod(appActor(req), user(m), m[2] as MethodCollection, decodeURIComponent(m[3]!));
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\.0\/users\/([^/]+)\/authentication\/temporaryAccessPassMethods$/,
      permissions: METHODS_WRITE,
      handle: (req, m) => {
        const body = req.body as { startDateTime?: string; lifetimeInMinutes?: number; isUsableOnce?: boolean };
        if (!directory.tapPolicyEnabled)
          throw new SimError(400, 'badRequest', 'Temporary Access Pass is not enabled for this user by the authentication methods policy.');
        return {
          status: 201,
          body: {
            '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${m[1]}')/authentication/temporaryAccessPassMethods/$entity`,
            ...directory.createTemporaryAccessPass(appActor(req), user(m), body),
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\.0\/users\/([^/]+)\/authentication\/phoneMethods$/,
      permissions: METHODS_WRITE,
      handle: (req, m) => {
        const body = req.body as { phoneNumber?: string; phoneType?: PhoneType };
        if (!body.phoneNumber || !body.phoneType || !['mobile', 'alternateMobile', 'office'].includes(body.phoneType))
          throw new SimError(400, 'badRequest', 'phoneNumber and phoneType are required.');
        const method = directory.registerPhone(appActor(req), user(m), { phoneNumber: body.phoneNumber, phoneType: body.phoneType });
        return { status: 201, body: method.body };
      },
    },
    // groups
    {
      method: 'POST',
      pattern: /^\/v1\.0\/groups$/,
      permissions: ['Group.Create', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
      handle: (req) => {
        const body = req.body as { displayName?: string; mailNickname?: string; mailEnabled?: boolean; securityEnabled?: boolean; description?: string };
        if (!body.displayName || !body.mailNickname || body.mailEnabled === undefined || body.securityEnabled === undefined)
          throw new SimError(400, 'Request_BadRequest', 'displayName, mailEnabled, mailNickname and securityEnabled are required.');
        const group = directory.addGroup({ displayName: body.displayName });
        group.mailNickname = body.mailNickname;
        group.description = body.description ?? null;
        group.mailEnabled = body.mailEnabled;
        group.securityEnabled = body.securityEnabled;
        directory.audit({
          service: 'Core Directory',
          category: 'GroupManagement',
          activity: 'Add group',
          operationType: 'Add',
          resultReason: '',
          actor: appActor(req),
          targets: [{ id: group.id, displayName: group.displayName, type: 'Group' }],
        });
        return {
          status: 201,
          body: {
            '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#groups/$entity',
            id: group.id,
            displayName: group.displayName,
            description: group.description,
            mailNickname: group.mailNickname,
            mailEnabled: group.mailEnabled,
            securityEnabled: group.securityEnabled,
            createdDateTime: group.createdDateTime,
            groupTypes: [],
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\.0\/groups$/,
      permissions: GROUPS_READ,
      handle: (req) => {
        const filter = req.url.searchParams.get('$filter');
        let groups = [...directory.groups.values()];
        if (filter) {
          const eq = /^(displayName|id) eq '((?:[^']|'')*)'$/.exec(filter.trim());
          if (!eq) throw new SimError(400, 'Request_UnsupportedQuery', `Unsupported query: ${filter}`);
          const value = eq[2]!.replace(/''/g, "'");
          groups = groups.filter((g) => (eq[1] === 'id' ? g.id === value : g.displayName === value));
        }
        return {
          status: 200,
          body: {
            '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#groups',
            value: groups.map((g) => ({
              id: g.id,
              displayName: g.displayName,
              description: g.description,
              mailNickname: g.mailNickname,
              securityEnabled: g.securityEnabled,
              mailEnabled: g.mailEnabled,
              createdDateTime: g.createdDateTime,
              groupTypes: [],
            })),
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\.0\/groups\/([^/]+)$/,
      permissions: GROUPS_READ,
      handle: (_req, m) => {
        const g = directory.groups.get(m[1]!);
        if (!g)
          throw new SimError(
            404,
            'Request_ResourceNotFound',
            `Resource '${m[1]}' does not exist or one of its queried reference-property objects are not present.`,
          );
        return {
          status: 200,
          body: {
            id: g.id,
            displayName: g.displayName,
            description: g.description,
            mailNickname: g.mailNickname,
            securityEnabled: g.securityEnabled,
            mailEnabled: g.mailEnabled,
            createdDateTime: g.createdDateTime,
            groupTypes: [],
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\.0\/groups\/([^/]+)\/members\/\$ref$/,
      permissions: GROUP_MEMBERS_WRITE,
      handle: (req, m) => {
        const group = directory.groups.get(m[1]!);
        if (!group)
          throw new SimError(
            404,
            'Request_ResourceNotFound',
            `Resource '${m[1]}' does not exist or one of its queried reference-property objects are not present.`,
          );
        const ref = String((req.body as Record<string, unknown>)['@odata.id'] ?? '');
        const id = /\/directoryObjects\/([^/]+)$/.exec(ref)?.[1];
        if (!id) throw new SimError(400, 'Request_BadRequest', 'Invalid object identifier in @odata.id.');
        directory.addGroupMember(appActor(req), group, userOr404(id));
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/v1\.0\/groups\/([^/]+)\/members\/([^/]+)\/\$ref$/,
      permissions: GROUP_MEMBERS_WRITE,
      handle: (req, m) => {
        const group = directory.groups.get(m[1]!);
        if (!group)
          throw new SimError(
            404,
            'Request_ResourceNotFound',
            `Resource '${m[1]}' does not exist or one of its queried reference-property objects are not present.`,
          );
        directory.removeGroupMember(appActor(req), group, userOr404(m[2]!));
        return { status: 204 };
      },
    },
    // directory roles
    {
      method: 'GET',
      pattern: /^\/v1\.0\/roleManagement\/directory\/roleAssignments$/,
      permissions: ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', 'Directory.Read.All'],
      handle: (req) => {
        const filter = req.url.searchParams.get('$filter') ?? '';
        const eq = /^principalId eq '([^']+)'$/.exec(filter.trim());
        if (!eq) throw new SimError(400, 'BadRequest', `Unsupported filter: ${filter}`);
        const expand = req.url.searchParams.get('$expand') ?? '';
        const value = directory.roleAssignments
          .filter((a) => a.principalId === eq[1])
          .map((a) => ({
            id: a.id,
            principalId: a.principalId,
            roleDefinitionId: a.roleDefinitionId,
            directoryScopeId: a.directoryScopeId,
            ...(expand.startsWith('roleDefinition')
              ? { roleDefinition: { ...directory.roles.find((r) => r.id === a.roleDefinitionId)!, isBuiltIn: true } }
              : {}),
          }));
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments', value } };
      },
    },
    // identity protection
    {
      method: 'POST',
      pattern: /^\/v1\.0\/identityProtection\/riskyUsers\/confirmCompromised$/,
      permissions: ['IdentityRiskyUser.ReadWrite.All'],
      handle: (req) => {
        if (!directory.p2Licensed) throw new SimError(403, 'Forbidden', 'Your tenant is not licensed for this feature.');
        const ids = (req.body as { userIds?: unknown }).userIds;
        if (!Array.isArray(ids) || ids.length === 0) throw new SimError(400, 'BadRequest', 'userIds is required.');
        for (const id of ids) directory.riskyUsers.set(String(id), { riskLevel: 'high', riskState: 'confirmedCompromised' });
        return { status: 204 };
      },
    },
    // audit log
    { method: 'GET', pattern: /^\/v1\.0\/auditLogs\/directoryAudits$/, permissions: ['AuditLog.Read.All'], handle: auditPage },
    // subscriptions
    {
      method: 'POST',
      pattern: /^\/v1\.0\/subscriptions$/,
      permissions: (req) =>
        /^\/?users/i.test(String((req.body as { resource?: unknown }).resource ?? '')) ? LIST_USERS_PERMISSIONS : ['__unsupported_resource__'],
      handle: async (req) => {
        const body = req.body as {
          changeType?: string;
          notificationUrl?: string;
          lifecycleNotificationUrl?: string;
          resource?: string;
          expirationDateTime?: string;
          clientState?: string;
          latestSupportedTlsVersion?: string;
        };
        const resource = body.resource ?? '';
        for (const type of (body.changeType ?? '').split(','))
          if (!['updated', 'deleted'].includes(type.trim())) throw new SimError(400, 'ExtensionError', `Invalid 'changeType' attribute: '${type}'.`);
        if (!body.notificationUrl?.startsWith('https://')) throw new SimError(400, 'ValidationError', 'The Notification Url must be an HTTPS URL.');
        if (body.lifecycleNotificationUrl && !body.lifecycleNotificationUrl.startsWith('https://'))
          throw new SimError(400, 'ValidationError', 'The Lifecycle Notification Url must be an HTTPS URL.');
        if (body.clientState && body.clientState.length > 128) throw new SimError(400, 'ValidationError', 'clientState must be at most 128 characters.');
        const expirationDateTime = checkExpiration(body.expirationDateTime, resource);
        const mine = [...subscriptions.values()].filter((s) => s.applicationId === req.app!.appId && /^\/?users/i.test(s.resource));
        if (mine.length >= 100) throw new SimError(403, 'ExtensionError', 'Subscription quota exceeded for this application and tenant.');
        const urls = [body.notificationUrl, ...(body.lifecycleNotificationUrl ? [body.lifecycleNotificationUrl] : [])];
        for (const url of urls)
          if (!(await validate(url)))
            throw new SimError(
              400,
              'ValidationError',
              'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
            );
        const now = clock().toISOString();
        const s: SimSubscription = {
          id: randomUUID(),
          resource,
          applicationId: req.app!.appId,
          changeType: body.changeType!,
          clientState: body.clientState ?? null,
          notificationUrl: body.notificationUrl,
          lifecycleNotificationUrl: body.lifecycleNotificationUrl ?? null,
          expirationDateTime,
          creatorId: req.app!.servicePrincipalId,
          latestSupportedTlsVersion: body.latestSupportedTlsVersion ?? 'v1_2',
          authorizedAt: now,
        };
        subscriptions.set(s.id, s);
        return { status: 201, body: subscriptionBody(s, true) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\.0\/subscriptions$/,
      permissions: [],
      handle: (req) => {
        const now = clock().getTime();
        const value = [...subscriptions.values()]
          .filter((s) => s.applicationId === req.app!.appId && Date.parse(s.expirationDateTime) > now)
          .map((s) => subscriptionBody(s, false));
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions', value } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\.0\/subscriptions\/([^/]+)$/,
      permissions: [],
      handle: (_req, m) => ({ status: 200, body: subscriptionBody(liveSubscription(m[1]!), false) }),
    },
    {
      method: 'PATCH',
      pattern: /^\/v1\.0\/subscriptions\/([^/]+)$/,
      permissions: [],
      handle: (req, m) => {
        const s = liveSubscription(m[1]!);
        s.expirationDateTime = checkExpiration((req.body as { expirationDateTime?: unknown }).expirationDateTime, s.resource);
        s.authorizedAt = clock().toISOString();
        return { status: 200, body: subscriptionBody(s, false) };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/v1\.0\/subscriptions\/([^/]+)$/,
      permissions: [],
      handle: (_req, m) => {
        liveSubscription(m[1]!);
        subscriptions.delete(m[1]!);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\.0\/subscriptions\/([^/]+)\/reauthorize$/,
      permissions: [],
      handle: (_req, m) => {
        liveSubscription(m[1]!).authorizedAt = clock().toISOString();
        return { status: 204 };
      },
    },
    // Office 365 Management Activity API (office-365-management-activity-api-reference.md)
    {
      method: 'POST',
      pattern: /^\/api\/v1\.0\/([^/]+)\/activity\/feed\/subscriptions\/start$/,
      permissions: ['ActivityFeed.Read'],
      handle: (req, m) => {
        if (m[1] !== tenantId) throw new SimError(400, 'AF20010', 'The tenant ID passed in the URL does not match the tenant ID passed in the access token.');
        const contentType = req.url.searchParams.get('contentType') ?? '';
        if (!['Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'Audit.General', 'DLP.All'].includes(contentType))
          throw new SimError(400, 'AF20003', `Invalid content type: ${contentType}`);
        if (directory.activitySubscriptions.has(contentType)) throw new SimError(400, 'AF20024', 'The subscription is already enabled. No property change.');
        directory.activitySubscriptions.add(contentType);
        return { status: 200, body: { contentType, status: 'enabled', webhook: null } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\.0\/([^/]+)\/activity\/feed\/subscriptions\/list$/,
      permissions: ['ActivityFeed.Read'],
      handle: () => ({ status: 200, body: [...directory.activitySubscriptions].map((contentType) => ({ contentType, status: 'enabled', webhook: null })) }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\.0\/([^/]+)\/activity\/feed\/subscriptions\/content$/,
      permissions: ['ActivityFeed.Read'],
      handle: (req, m) => {
        const q = req.url.searchParams;
        const contentType = q.get('contentType') ?? '';
        if (!directory.activitySubscriptions.has(contentType)) throw new SimError(400, 'AF20022', 'No subscription found for the specified content type');
        const now = clock().getTime();
        const startRaw = q.get('startTime');
        const endRaw = q.get('endTime');
        if ((startRaw === null) !== (endRaw === null)) throw new SimError(400, 'AF20055', 'Start time and end time must both be specified (or both omitted).');
        const start = startRaw ? Date.parse(startRaw.endsWith('Z') ? startRaw : `${startRaw}Z`) : now - 24 * 3600_000;
        const end = endRaw ? Date.parse(endRaw.endsWith('Z') ? endRaw : `${endRaw}Z`) : now;
        if (Number.isNaN(start) || Number.isNaN(end) || end <= start || end - start > 24 * 3600_000 || start < now - 7 * 24 * 3600_000)
          throw new SimError(
            400,
            'AF20055',
            'Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.',
          );
        const offset = Number(q.get('nextPage') ?? 0);
        const all = directory.exchangeBlobs.filter(
          (b) => b.contentType === contentType && Date.parse(b.contentCreated) >= start && Date.parse(b.contentCreated) < end,
        );
        const size = options.contentPageSize ?? 100;
        const page = all.slice(offset, offset + size).map((b) => ({
          contentType: b.contentType,
          contentId: b.contentId,
          contentUri: `${base}/api/v1.0/${m[1]}/activity/feed/audit/${encodeURIComponent(b.contentId)}`,
          contentCreated: b.contentCreated.replace(/Z$/, '').replace(/\.\d+$/, '') + '.000Z',
          contentExpiration: new Date(Date.parse(b.contentCreated) + 7 * 24 * 3600_000).toISOString(),
        }));
        const headers: Record<string, string> = {};
        if (offset + size < all.length) {
          const next = new URL(req.url.toString());
          next.searchParams.set('nextPage', String(offset + size));
          headers.NextPageUri = `${base}${next.pathname}${next.search}`;
        }
        return { status: 200, body: page, headers };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\.0\/([^/]+)\/activity\/feed\/audit\/([^/]+)$/,
      permissions: ['ActivityFeed.Read'],
      handle: (_req, m) => {
        const blob = directory.exchangeBlobs.find((b) => b.contentId === decodeURIComponent(m[2]!));
        if (!blob) throw new SimError(404, 'AF20051', 'Content requested with the key does not exist.');
        return { status: 200, body: blob.records };
      },
    },
  ];

  // ---------------------------------------------------------------- identity platform

  const openIdConfiguration = (tenant: string) => ({
    token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/${tenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${base}/oidc/userinfo`,
    authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat'],
    tenant_region_scope: 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  });

  const tokenError = (status: number, error: string, code: number, description: string): SimResponse => ({
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${clock().toISOString()}`,
      error_codes: [code],
      timestamp: clock().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
  });

  const issueToken = async (tenant: string, form: URLSearchParams): Promise<SimResponse> => {
    if (tenant !== tenantId) return tokenError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (form.get('grant_type') !== 'client_credentials')
      return tokenError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const app = directory.apps.get(form.get('client_id') ?? '');
    if (!app) return tokenError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory.`);
    if (!/\/\.default$/.test(form.get('scope') ?? ''))
      return tokenError(
        400,
        'invalid_scope',
        1002012,
        'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.',
      );
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      if (!app.secrets.includes(secret))
        return tokenError(
          401,
          'invalid_client',
          7000215,
          'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
        );
    } else if (assertion !== null) {
      if (!(await verifyAssertion(app, assertion, `${base}/${tenant}/oauth2/v2.0/token`)))
        return tokenError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    } else return tokenError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    const token = randomBytes(24).toString('base64url');
    // Lifetimes run on the simulated clock: a test that moves it an hour on sees the token expire, as Graph would (the client must then get a new one).
    tokens.set(token, { appId: app.appId, expiresAt: clock().getTime() + 3599_000 });
    return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token } };
  };

  /** A client assertion (private_key_jwt) signed with one of the app's certificates: header `x5t` or `x5t#S256`, `aud` the token endpoint, `iss` = `sub` = client id. */
  const verifyAssertion = async (app: SimApp, assertion: string, audience: string): Promise<boolean> => {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(assertion);
    } catch {
      return false;
    }
    for (const pem of app.certificates) {
      const x509 = new X509Certificate(pem);
      const der = x509.raw;
      const sha1 = createHash('sha1').update(der).digest('base64url');
      const sha256 = createHash('sha256').update(der).digest('base64url');
      if (header.x5t !== sha1 && header['x5t#S256'] !== sha256) continue;
      try {
        const key = await importX509(pem, String(header.alg));
        const { payload } = await jwtVerify(assertion, key, { audience, issuer: app.appId, subject: app.appId, clockTolerance: 300 });
        return typeof payload.jti === 'string' || payload.jti === undefined;
      } catch {
        return false;
      }
    }
    return false;
  };

  // ---------------------------------------------------------------- dispatch

  const handle = async (req: IncomingMessage, rawBody: string): Promise<SimResponse> => {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const now = clock();
    for (const rule of faults) {
      if (rule.count <= 0 || (rule.path && !rule.path.test(url.pathname)) || (rule.method && rule.method !== method)) continue;
      rule.count--;
      injected++;
      const [code, message] = FAULT_ERRORS[rule.status] ?? ['UnknownError', 'Server error.'];
      const res = graphError(rule.status, code, message, now);
      const hint = (rule.status === 429 || rule.status === 503) && rule.retryAfterSeconds !== null;
      return { ...res, ...(hint ? { headers: { 'Retry-After': String(rule.retryAfterSeconds) } } : {}) };
    }
    const oidc = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
    if (oidc && method === 'GET') return { status: 200, body: openIdConfiguration(oidc[1]!) };
    const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (tokenPath && method === 'POST') return issueToken(tokenPath[1]!, new URLSearchParams(rawBody));
    if (url.pathname === '/common/discovery/instance')
      return {
        status: 200,
        body: {
          tenant_discovery_endpoint: `${base}/${tenantId}/v2.0/.well-known/openid-configuration`,
          'api-version': '1.1',
          metadata: [{ preferred_network: url.host, preferred_cache: url.host, aliases: [url.host] }],
        },
      };

    const isGraph = url.pathname.startsWith('/v1.0/');
    const isActivity = url.pathname.startsWith('/api/v1.0/');
    if (!isGraph && !isActivity) return graphError(404, 'UnknownError', `No route ${method} ${url.pathname}`, now);

    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const token = auth ? tokens.get(auth[1]!) : undefined;
    if (!auth) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', now);
    if (!token || token.expiresAt <= now.getTime()) return graphError(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.', now);
    const app = directory.apps.get(token.appId)!;
    const route = routes.find((r) => r.method === method && r.pattern.test(url.pathname));
    if (!route) return graphError(400, 'BadRequest', `Resource not found for the segment '${url.pathname.split('/').pop()}'.`, now);
    let body: unknown = {};
    if (rawBody) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        return graphError(400, 'BadRequest', 'Unable to read JSON request payload.', now);
      }
    }
    const simReq: SimRequest = { method, url, headers: req.headers, body, rawBody, app };
    const needed = typeof route.permissions === 'function' ? route.permissions(simReq) : route.permissions;
    if (needed.length > 0 && !needed.some((p) => app.permissions.has(p)))
      return graphError(403, 'Authorization_RequestDenied', `Insufficient privileges to complete the operation. (needs one of: ${needed.join(', ')})`, now);
    return route.handle(simReq, route.pattern.exec(url.pathname)!);
  };

  const server = https.createServer({ cert: options.tls.cert, key: options.tls.key }, (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const rawBody = await readBody(req);
      let out: SimResponse;
      try {
        out = await handle(req, rawBody);
      } catch (err) {
        if (err instanceof SimError) out = { ...graphError(err.status, err.code, err.message, clock()), headers: err.headers };
        else out = graphError(500, 'InternalServerError', String(err), clock());
      }
      const url = new URL(req.url ?? '/', base);
      const appId = (() => {
        const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
        return auth ? tokens.get(auth[1]!)?.appId : undefined;
      })();
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search, ...(appId ? { appId } : {}), status: out.status });
      // Date on the simulated clock: an HTTP-date Retry-After is read against it.
      const headers: Record<string, string> = {
        date: clock().toUTCString(),
        'request-id': randomUUID(),
        'client-request-id': String(req.headers['client-request-id'] ?? randomUUID()),
        ...out.headers,
      };
      if (out.body === undefined) {
        res.writeHead(out.status, headers);
        res.end();
        return;
      }
      const text = JSON.stringify(out.body);
      res.writeHead(out.status, {
        ...headers,
        'content-type': 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    })();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  base = `https://127.0.0.1:${port}`;

  const person = (id: string): SimActor => ({ user: userOr404(id), ipAddress: '203.0.113.7' });

  return {
    url: base,
    host: '127.0.0.1',
    port,
    directory,
    subscriptions,
    deliveries,
    requests,
    get notificationMode() {
      return sim.notificationMode;
    },
    set notificationMode(mode: 'deliver' | 'drop') {
      sim.notificationMode = mode;
    },
    throttle(rule) {
      faults.push({ status: 429, retryAfterSeconds: 1, ...rule });
    },
    faults: {
      inject(rule) {
        faults.push({ count: 1, retryAfterSeconds: 1, ...rule });
      },
      clear() {
        faults.length = 0;
      },
      get injected() {
        return injected;
      },
      get pending() {
        return faults.reduce((n, r) => n + Math.max(0, r.count), 0);
      },
    },
    async sendLifecycle(subscriptionId, event) {
      const s = subscriptions.get(subscriptionId);
      if (!s) throw new WardenError('ERR_NOT_FOUND', `no subscription ${subscriptionId}`);
      if (event === 'subscriptionRemoved') subscriptions.delete(subscriptionId);
      const body = {
        value: [{ subscriptionId: s.id, subscriptionExpirationDateTime: s.expirationDateTime, tenantId, clientState: s.clientState, lifecycleEvent: event }],
      };
      return track(post('lifecycle', s.lifecycleNotificationUrl ?? s.notificationUrl, JSON.stringify(body), 'application/json; charset=utf-8', 3_000, s.id));
    },
    async settle() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    act: {
      registerPhone: (actorId, targetId, input) =>
        void directory.registerPhone(person(actorId), userOr404(targetId), {
          phoneNumber: input.phoneNumber,
          phoneType: input.phoneType ?? 'mobile',
          ...(input.delayMs !== undefined ? { delayMs: input.delayMs } : {}),
        }),
      registerAuthenticator: (actorId, targetId, input = {}) =>
        void directory.registerAuthenticator(person(actorId), userOr404(targetId), {
          displayName: input.displayName ?? 'iPhone',
          ...(input.delayMs !== undefined ? { delayMs: input.delayMs } : {}),
        }),
      resetPassword: (actorId, targetId, opts = {}) => directory.resetPasswordByAdmin(person(actorId), userOr404(targetId), opts),
      updateJobTitle: (actorId, targetId, jobTitle) => directory.updateUser(person(actorId), userOr404(targetId), { jobTitle }),
      addServicePrincipalPassword: (actorId, spId, displayName) =>
        directory.addServicePrincipalPassword(person(actorId), servicePrincipalOr404(spId), displayName),
      addApplicationPassword: (actorId, appId, displayName) => directory.addApplicationPassword(person(actorId), applicationOr404(appId), displayName),
      addKeyCredential: (actorId, owner, displayName, startDateTime) =>
        directory.addKeyCredential(
          person(actorId),
          'application' in owner
            ? { kind: 'application', object: applicationOr404(owner.application) }
            : { kind: 'servicePrincipal', object: servicePrincipalOr404(owner.servicePrincipal) },
          displayName,
          startDateTime,
        ),
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
