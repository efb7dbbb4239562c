import { systemClock } from '../../../src/core/clock.js';
import { randomBytes, randomUUID, type JsonWebKey } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { bucketOf, RateLimitBuckets, type OktaBucket } from './rate-limit-buckets.js';
import { requiredScope, scopeAllows, ServiceApps, type NewServiceApp, type SimServiceApp } from './service-apps.js';
import { SimulatorFaults } from './simulator-faults.js';
import { WardenError } from '../../../src/core/errors.js';

/**
 * A local Okta org for tests and demos: the subset of the Okta Management API
 * Warden uses (users, groups, factors with Okta Verify push verification —
 * waiting until the person answers on the device, `answerPush` —, lifecycle,
 * sessions, user risk, event hooks with Okta's verification call, the System Log with `since`/`until`/
 * `after` paging; sign-in push outcomes, `signInPush`), and event hook delivery the way Okta
 * does it (envelope, auth header, 3 s timeout, one retry on timeout or 5xx;
 * duplicate and out-of-order delivery on request). The real
 * okta-sdk-nodejs talks to it over plain HTTP, with an API token (`SSWS`)
 * or as an OAuth 2.0 service app (`private_key_jwt` at `/oauth2/v1/token`,
 * scopes enforced per endpoint: `addServiceApp`, service-apps.ts).
 *
 * It pushes back like Okta: every Management API answer carries
 * `x-rate-limit-limit`/`-remaining`/`-reset` for its endpoint's per-minute
 * bucket on the simulator's clock, with 429 `E0000047` once the bucket is
 * spent (rate-limit-buckets.ts); `faults` injects 429/5xx answers and stalls
 * on any endpoint (simulator-faults.ts).
 *
 * Paths, field names, status codes and headers follow Okta's management
 * OpenAPI and the event hook docs (research okta.md §1, §4, §6). Okta's
 * behaviour it does not model is left out rather than imitated.
 */

export interface SimUser {
  id: string;
  status: 'ACTIVE' | 'SUSPENDED' | 'PASSWORD_EXPIRED' | 'RECOVERY';
  profile: Record<string, string>;
  groups: Set<string>;
  roles: string[];
  risk?: 'HIGH' | 'LOW';
  sessions: number;
  created: string;
}

/** An enrolled factor in the simulated org. */
export interface SimFactor {
  id: string;
  userId: string;
  factorType: string;
  provider: string;
  status: 'ACTIVE';
  created: string;
  lastUpdated: string;
}

/** An API token of the simulated org (the fields of Okta's ApiToken the simulator keeps). */
export interface SimApiToken {
  id: string;
  name: string;
  userId: string;
  clientName: string;
  created: string;
  lastUpdated: string;
  expiresAt: string;
  tokenWindow: string;
}

/** An Okta Verify push sent to a user's device: WAITING until the person answers on the device, TIMEOUT once it expires. */
interface PushTransaction {
  id: string;
  userId: string;
  factorId: string;
  expiresAt: number;
  answer?: 'SUCCESS' | 'REJECTED';
}

/** How long a push waits for the person on the device (the `expiresAt` of the verify answer). */
const PUSH_LIFETIME_MS = 300_000;

interface SimHook {
  id: string;
  name: string;
  status: 'ACTIVE' | 'INACTIVE';
  verificationStatus: 'UNVERIFIED' | 'VERIFIED';
  events: { type: 'EVENT_TYPE'; items: string[]; filter: null };
  channel: {
    type: 'HTTP';
    version: string;
    config: { uri: string; method: 'POST'; headers: Array<{ key: string; value: string }>; authScheme: { type: 'HEADER'; key: string; value?: string } };
  };
  created: string;
  lastUpdated: string;
}

/** A System Log event the simulator recorded. */
export type LogEventSim = Record<string, unknown> & { uuid: string; published: string; eventType: string };

/** How the simulator delivers event hooks (tests ask for Okta's misbehaviours). */
export interface DeliveryOptions {
  /** Send each delivery twice (Okta's at-least-once). */
  duplicate?: boolean;
  /** Hold deliveries until `flushDeliveries()`, then send them newest first. */
  reorder?: boolean;
  /** Warden is unreachable: nothing is delivered (Okta gives up after its retry). */
  drop?: boolean;
}

/** One event hook call the simulator made, and how Warden answered. */
export interface DeliveryRecord {
  hookId: string;
  eventIds: string[];
  status: number | 'timeout' | 'error';
  attempt: number;
  /** Milliseconds from sending the delivery to Warden's answer (absent when nothing was sent). */
  ms?: number;
}

/** What one generated System Log event is (`OktaSimulator.generateLog`): who did what to whom, in the simulator's people. */
export interface GeneratedEvent {
  eventType: string;
  displayMessage: string;
  actorId: string;
  /** People by id, or a target as Okta writes it (an authenticator enrollment). */
  targetIds: Array<{ userId: string } | { other: Record<string, unknown> }>;
  debug: Record<string, string>;
  outcome?: { result: string; reason: string | null };
}

/** Simulator settings. */
export interface OktaSimulatorOptions {
  /** The API token callers must send (`Authorization: SSWS <token>`). */
  token?: string;
  /** Requests per minute on `/api/v1/logs` before 429 (default 120, Okta's Workforce default); same as `rateLimits.logs`. */
  logsLimit?: number;
  /** Per-minute ceilings of the rate-limit buckets (default: Okta's Workforce defaults, `OKTA_BUCKET_LIMITS`). */
  rateLimits?: Partial<Record<OktaBucket, number>>;
  clock?: () => Date;
}

const HOOK_TIMEOUT_MS = 3000;

/** The simulated org. `start()` listens on 127.0.0.1. */
export class OktaSimulator {
  readonly token: string;
  readonly users = new Map<string, SimUser>();
  readonly groups = new Map<string, { id: string; profile: { name: string; description?: string } }>();
  readonly factors = new Map<string, SimFactor>();
  readonly hooks = new Map<string, SimHook>();
  /** The org's policies (the policies API subset `okta provision --apply` uses), with their rules. */
  readonly policies = new Map<string, { id: string; name: string; type: string; resourceType: string; rules: Array<Record<string, unknown>> }>([
    [
      'rstAppSignOn0',
      {
        id: 'rstAppSignOn0',
        name: 'Default Policy',
        type: 'ACCESS_POLICY',
        resourceType: 'APP',
        rules: [{ id: 'rulAppCatchAll0', name: 'Catch-all Rule', status: 'ACTIVE', system: true }],
      },
    ],
    [
      'rstAcctMgmt0',
      {
        id: 'rstAcctMgmt0',
        name: 'Okta Account Management Policy',
        type: 'ACCESS_POLICY',
        resourceType: 'END_USER_ACCOUNT_MANAGEMENT',
        rules: [{ id: 'rulAcctCatchAll0', name: 'Catch-all Rule', status: 'ACTIVE', system: true }],
      },
    ],
  ]);
  /** The org's API tokens (what `/api/v1/api-tokens` manages), by id. */
  readonly apiTokens = new Map<string, SimApiToken>();
  readonly log: LogEventSim[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly requests: Array<{ method: string; path: string; query: URLSearchParams }> = [];
  delivery: DeliveryOptions = {};
  /** Test switches: injected 429/5xx answers and stalled calls on any endpoint (simulator-faults.ts). */
  readonly faults = new SimulatorFaults();
  /** OAuth 2.0 service apps and the access tokens issued to them. */
  readonly serviceApps = new ServiceApps();
  /** The per-minute rate-limit buckets. */
  readonly rateLimits: RateLimitBuckets;
  /** The admin the API token belongs to (what `/api/v1/users/me` answers). */
  readonly tokenOwner: SimUser;
  #server: http.Server | undefined;
  #url = '';
  #held: LogEventSim[] = [];
  #pending = new Set<Promise<void>>();
  readonly #clock: () => Date;
  readonly #transactions = new Map<string, PushTransaction>();

  constructor(options: OktaSimulatorOptions = {}) {
    this.token = options.token ?? `00${randomBytes(20).toString('hex')}`;
    this.rateLimits = new RateLimitBuckets({ ...options.rateLimits, ...(options.logsLimit !== undefined ? { logs: options.logsLimit } : {}) });
    this.#clock = options.clock ?? systemClock;
    this.tokenOwner = this.addUser({ login: 'warden-service@example.com', firstName: 'Warden', lastName: 'Service' }, { roles: ['SUPER_ADMIN'] });
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<this> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    await new Promise<void>((resolve) => {
      if (!this.#server) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** Waits until every delivery in flight is done (tests). */
  async settled(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }

  // ---- the org's data -------------------------------------------------------

  #id(prefix: string): string {
    return prefix + randomBytes(8).toString('hex').slice(0, 17);
  }

  addUser(
    profile: { login: string; firstName?: string; lastName?: string } & Record<string, string>,
    options: { roles?: string[]; groups?: string[] } = {},
  ): SimUser {
    const user: SimUser = {
      id: this.#id('00u'),
      status: 'ACTIVE',
      profile: { email: profile.login, ...profile },
      groups: new Set(),
      roles: options.roles ?? [],
      sessions: 1,
      created: this.#clock().toISOString(),
    };
    this.users.set(user.id, user);
    for (const g of options.groups ?? []) user.groups.add(this.addGroup(g).id);
    return user;
  }

  addGroup(name: string): { id: string; profile: { name: string } } {
    for (const g of this.groups.values()) if (g.profile.name === name) return g;
    const group = { id: this.#id('00g'), profile: { name } };
    this.groups.set(group.id, group);
    return group;
  }

  addFactor(userId: string, factorType: string, created = this.#clock()): SimFactor {
    const factor: SimFactor = {
      id: this.#id(factorType === 'push' ? 'opf' : 'mbl'),
      userId,
      factorType,
      provider: 'OKTA',
      status: 'ACTIVE',
      created: created.toISOString(),
      lastUpdated: created.toISOString(),
    };
    this.factors.set(factor.id, factor);
    return factor;
  }

  /**
   * Registers an OAuth 2.0 API Services app with `private_key_jwt` client
   * authentication and the Okta API scopes it is granted. Without
   * `publicJwk` the simulator makes the key pair and returns the private
   * key (a JWK with `kid`: what Warden's `auth.privateKey` holds).
   */
  addServiceApp(input: { name?: string; scopes: string[]; publicJwk?: JsonWebKey }): NewServiceApp {
    return this.serviceApps.add(input);
  }

  groupNames(userId: string): string[] {
    return [...(this.users.get(userId)?.groups ?? [])].map((g) => this.groups.get(g)?.profile.name ?? g);
  }

  factorsOf(userId: string): SimFactor[] {
    return [...this.factors.values()].filter((f) => f.userId === userId);
  }

  // ---- things people do in the Admin Console or the Sign-In Widget --------

  /** An administrator (help desk) resets all of a user's factors in the Admin Console. */
  adminResetFactors(adminId: string, userId: string): LogEventSim {
    for (const f of this.factorsOf(userId)) this.factors.delete(f.id);
    return this.record(
      'user.mfa.factor.reset_all',
      'Reset all factors for user',
      this.users.get(adminId)!,
      [this.#userTarget(userId)],
      { requestUri: `/api/v1/users/${userId}/lifecycle/reset_factors` },
      'WEB',
    );
  }

  /** The user enrolls a factor themself (Identity Engine: the target is the authenticator enrollment). */
  selfEnroll(userId: string, factorType: string): { factor: SimFactor; event: LogEventSim } {
    const factor = this.addFactor(userId, factorType);
    const user = this.users.get(userId)!;
    const event = this.record(
      'user.mfa.factor.activate',
      'Activate factor or authenticator enrollment method for user',
      user,
      [
        this.#userTarget(userId),
        {
          id: factor.id,
          type: 'AuthenticatorEnrollment',
          alternateId: 'unknown',
          displayName: factorType === 'push' ? 'Okta Verify' : factorType,
          detailEntry: null,
        },
      ],
      { requestUri: '/idp/idx/challenge/answer' },
      'WEB',
    );
    return { factor, event };
  }

  /**
   * Someone resets a user's password: an administrator in the Admin Console
   * (the user goes to RECOVERY until they set a new one), or, with the user
   * as actor, the user themself through self-service recovery. Okta logs
   * `user.account.reset_password` either way; the actor tells which
   * (research okta.md §2).
   */
  resetPassword(actorId: string, userId: string): LogEventSim {
    const user = this.users.get(userId)!;
    const self = actorId === userId;
    if (!self) user.status = 'RECOVERY';
    return this.record(
      'user.account.reset_password',
      "Fired when the user's Okta password is reset",
      this.users.get(actorId)!,
      [this.#userTarget(userId)],
      {
        requestUri: self ? '/idp/idx/challenge/answer' : `/api/v1/users/${userId}/lifecycle/reset_password`,
      },
      'WEB',
    );
  }

  /** The user signs in: one more session (what `DELETE …/sessions` clears). Okta logs `user.session.start`, which Warden does not govern. */
  signIn(userId: string): LogEventSim {
    const user = this.users.get(userId)!;
    user.sessions++;
    return this.record('user.session.start', 'User login to Okta', user, [], { requestUri: '/idp/idx/identify' }, 'WEB');
  }

  /**
   * The user answers the Okta Verify push waiting on their phone (the newest
   * one not answered and not expired): approve or deny. Returns the
   * transaction id. Throws when no push is waiting for them.
   */
  answerPush(userId: string, answer: 'approve' | 'deny'): string {
    const now = this.#clock().getTime();
    const waiting = [...this.#transactions.values()].filter((t) => t.userId === userId && !t.answer && t.expiresAt > now).at(-1);
    if (!waiting) throw new WardenError('ERR_NOT_FOUND', `no Okta Verify push is waiting for user ${userId}`);
    waiting.answer = answer === 'approve' ? 'SUCCESS' : 'REJECTED';
    return waiting.id;
  }

  /**
   * Someone signs in as the user and Okta sends an Okta Verify push to the
   * user's phone, which the person denies or approves: what the System Log
   * records (research okta.md §2; detection.md §2.2, Elastic's push-bombing
   * rules). Identity Engine logs `user.authentication.auth_via_mfa` on the
   * user's Okta Verify enrollment with `debugData.factor` `OKTA_VERIFY_PUSH`:
   * FAILURE with reason `INVALID_CREDENTIALS` when denied, SUCCESS when
   * approved. Classic logs a denial as `user.mfa.okta_verify.deny_push`
   * (hook-ineligible: only the System Log poller sees it; its targets are
   * not documented, so none are modelled).
   */
  signInPush(userId: string, answer: 'approve' | 'deny', engine: 'identity-engine' | 'classic' = 'identity-engine'): LogEventSim {
    const user = this.users.get(userId);
    const factor = this.factorsOf(userId).find((f) => f.factorType === 'push');
    if (!user || !factor) throw new WardenError('ERR_NOT_FOUND', `user ${userId} has no Okta Verify push factor`);
    if (engine === 'classic' && answer === 'deny') return this.record('user.mfa.okta_verify.deny_push', 'User rejected Okta push verify', user, [], {}, 'WEB');
    const enrollment = { id: factor.id, type: 'AuthenticatorEnrollment', alternateId: 'unknown', displayName: 'Okta Verify', detailEntry: null };
    const outcome = answer === 'approve' ? { result: 'SUCCESS', reason: null } : { result: 'FAILURE', reason: 'INVALID_CREDENTIALS' };
    return this.record(
      'user.authentication.auth_via_mfa',
      'Authentication of user via MFA',
      user,
      [enrollment],
      { factor: 'OKTA_VERIFY_PUSH' },
      'WEB',
      undefined,
      outcome,
    );
  }

  /**
   * A user creates an API token in the Admin Console (what an attacker with an
   * admin session does to keep access): the token exists, and the System Log
   * records `system.api_token.create` with the user as actor and the token as
   * target (type `Token`, as in the panther-okta fixture Okta.APIKeyCreated.json).
   */
  createApiToken(userId: string, name: string): { token: SimApiToken; event: LogEventSim } {
    const user = this.users.get(userId);
    if (!user) throw new WardenError('ERR_NOT_FOUND', `no user ${userId}`);
    const now = this.#clock();
    const token: SimApiToken = {
      id: `00T${randomBytes(8).toString('hex')}`,
      name,
      userId,
      clientName: 'Okta API',
      created: now.toISOString(),
      lastUpdated: now.toISOString(),
      expiresAt: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
      tokenWindow: 'P30D',
    };
    this.apiTokens.set(token.id, token);
    const event = this.record('system.api_token.create', 'Create API token', user, [this.#tokenTarget(token)], {}, 'WEB');
    return { token, event };
  }

  #tokenTarget(token: SimApiToken) {
    return { id: token.id, type: 'Token', alternateId: 'unknown', displayName: token.name, detailEntry: null };
  }

  #apiTokenJson(t: SimApiToken) {
    return {
      id: t.id,
      name: t.name,
      userId: t.userId,
      clientName: t.clientName,
      created: t.created,
      lastUpdated: t.lastUpdated,
      expiresAt: t.expiresAt,
      tokenWindow: t.tokenWindow,
      _links: { self: { href: `${this.#url}/api/v1/api-tokens/${t.id}` } },
    };
  }

  #userTarget(userId: string) {
    const u = this.users.get(userId)!;
    return {
      id: u.id,
      type: 'User',
      alternateId: u.profile.login,
      displayName: `${u.profile.firstName ?? ''} ${u.profile.lastName ?? ''}`.trim(),
      detailEntry: null,
    };
  }

  /**
   * Writes a System Log event (the shape of Okta's LogEvent, as in the
   * fixture system-log-event-user-lifecycle-deactivate.json) and delivers it
   * to the event hooks subscribed to its type.
   */
  record(
    eventType: string,
    displayMessage: string,
    actor: SimUser | SimServiceApp,
    target: unknown[],
    debug: Record<string, string>,
    txType: 'WEB',
    apiTokenId?: string,
    outcome: { result: string; reason: string | null } = { result: 'SUCCESS', reason: null },
  ): LogEventSim {
    const event = this.#build(eventType, displayMessage, actor, target, debug, txType, apiTokenId, outcome, this.#clock().toISOString(), randomUUID());
    this.log.push(event);
    this.#deliver(event);
    return event;
  }

  /** One LogEvent in Okta's shape (the fields of the fixture system-log-event-user-lifecycle-deactivate.json). */
  #build(
    eventType: string,
    displayMessage: string,
    actor: SimUser | SimServiceApp,
    target: unknown[],
    debug: Record<string, string>,
    txType: 'WEB',
    apiTokenId: string | undefined,
    outcome: { result: string; reason: string | null },
    published: string,
    uuid: string,
  ): LogEventSim {
    const requestId = randomBytes(12).toString('base64url');
    // A service app acts through the API like a token does, and shows as a PublicClientApp actor.
    const app = 'clientId' in actor;
    const api = apiTokenId !== undefined || app;
    const event: LogEventSim = {
      actor: app
        ? { id: actor.clientId, type: 'PublicClientApp', alternateId: actor.clientId, displayName: actor.name, detailEntry: null }
        : {
            id: actor.id,
            type: 'User',
            alternateId: actor.profile.login,
            displayName: `${actor.profile.firstName ?? ''} ${actor.profile.lastName ?? ''}`.trim(),
            detailEntry: null,
          },
      client: {
        userAgent: {
          rawUserAgent: api ? 'okta-sdk-nodejs' : 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)',
          os: 'Mac OS X',
          browser: api ? 'UNKNOWN' : 'CHROME',
        },
        zone: 'null',
        device: 'Computer',
        id: app ? actor.clientId : null,
        ipAddress: '127.0.0.1',
        geographicalContext: null,
      },
      authenticationContext: {
        authenticationProvider: null,
        credentialProvider: null,
        credentialType: null,
        issuer: null,
        interface: null,
        authenticationStep: 0,
        externalSessionId: api ? 'unknown' : `102${randomBytes(8).toString('hex')}`,
      },
      displayMessage,
      eventType,
      outcome,
      published,
      securityContext: { asNumber: null, asOrg: null, isp: null, domain: null, isProxy: null },
      severity: 'INFO',
      debugContext: { debugData: { requestId, threatSuspected: 'false', ...debug } },
      legacyEventType: null,
      transaction: { type: txType, id: requestId, detail: apiTokenId ? { requestApiTokenId: apiTokenId } : {} },
      uuid,
      version: '0',
      request: { ipChain: [] },
      target,
    };
    return event;
  }

  #generated: { count: number; from: number; spacingMs: number; prefix: string; make: (i: number) => GeneratedEvent } | undefined;

  /**
   * A System Log of `count` past events made on demand (a back-fill of an
   * org-day is 400,000 events: kept as objects they would be the simulator's
   * whole memory): event `i` is published at `from + i × spacingMs` and is what
   * `make(i)` says, in the same shape as every event the simulator writes. It
   * is served by `GET /api/v1/logs` before the events written with `record`,
   * with the same paging, filter and rate limits; nothing is delivered by hook.
   */
  generateLog(input: { count: number; from: Date; spacingMs: number; make: (i: number) => GeneratedEvent }): void {
    this.#generated = { ...input, from: input.from.getTime(), prefix: randomBytes(4).toString('hex') };
  }

  #generatedEvent(i: number): LogEventSim {
    const g = this.#generated!;
    const e = g.make(i);
    const actor = this.users.get(e.actorId)!;
    const target = e.targetIds.map((id) => ('userId' in id ? this.#userTarget(id.userId) : id.other));
    const uuid = `${g.prefix}-${(i >>> 16).toString(16).padStart(4, '0').slice(-4)}-4000-8000-${i.toString(16).padStart(12, '0')}`;
    return this.#build(
      e.eventType,
      e.displayMessage,
      actor,
      target,
      e.debug,
      'WEB',
      undefined,
      e.outcome ?? { result: 'SUCCESS', reason: null },
      new Date(g.from + i * g.spacingMs).toISOString(),
      uuid,
    );
  }

  /** The generated-log part of a `GET /api/v1/logs` page, or undefined when the request is past it. */
  #generatedPage(
    since: string | null,
    until: string | null,
    after: string | null,
    limit: number,
    types: string[],
  ): { page: LogEventSim[]; last?: LogEventSim; more: boolean } | undefined {
    const g = this.#generated;
    if (!g) return undefined;
    let start = 0;
    if (after) {
      if (!after.startsWith(`${g.prefix}-`)) return undefined;
      start = Number.parseInt(after.slice(-12), 16) + 1;
    } else if (since) start = Math.max(0, Math.ceil((Date.parse(since) - g.from) / g.spacingMs));
    const end = until ? Math.min(g.count, Math.ceil((Date.parse(until) - g.from) / g.spacingMs)) : g.count;
    const page: LogEventSim[] = [];
    let last: LogEventSim | undefined;
    let i = start;
    for (; i < end && page.length < limit; i++) {
      const e = this.#generatedEvent(i);
      last = e;
      if (types.length && !types.includes(e.eventType)) continue;
      page.push(e);
    }
    return { page, ...(last ? { last } : {}), more: i < end };
  }

  // ---- event hook delivery ---------------------------------------------------

  #deliver(event: LogEventSim): void {
    for (const hook of this.hooks.values()) {
      if (hook.status !== 'ACTIVE' || hook.verificationStatus !== 'VERIFIED' || !hook.events.items.includes(event.eventType)) continue;
      if (this.delivery.drop) {
        this.deliveries.push({ hookId: hook.id, eventIds: [event.uuid], status: 'error', attempt: 0 });
        continue;
      }
      if (this.delivery.reorder) {
        this.#held.push(event);
        continue;
      }
      this.#track(this.#send(hook, [event]));
      if (this.delivery.duplicate) this.#track(this.#send(hook, [event]));
    }
  }

  /** Sends the deliveries held back by `reorder`, newest first. */
  flushDeliveries(): void {
    const held = this.#held.reverse();
    this.#held = [];
    for (const event of held)
      for (const hook of this.hooks.values()) {
        if (hook.status !== 'ACTIVE' || hook.verificationStatus !== 'VERIFIED' || !hook.events.items.includes(event.eventType)) continue;
        this.#track(this.#send(hook, [event]));
        if (this.delivery.duplicate) this.#track(this.#send(hook, [event]));
      }
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** One delivery: POST the envelope with the auth header; 3 s timeout; one retry on timeout or 5xx, none on 4xx. */
  async #send(hook: SimHook, events: LogEventSim[]): Promise<void> {
    const body = JSON.stringify({
      eventType: 'com.okta.event_hook',
      eventTypeVersion: '1.0',
      cloudEventsVersion: '0.1',
      source: `${this.#url}/api/v1/eventHooks/${hook.id}`,
      eventId: randomUUID(),
      eventTime: this.#clock().toISOString(),
      contentType: 'application/json',
      data: { events },
    });
    const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json' };
    for (const h of hook.channel.config.headers) headers[h.key] = h.value;
    if (hook.channel.config.authScheme.value !== undefined) headers[hook.channel.config.authScheme.key] = hook.channel.config.authScheme.value;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const t0 = performance.now();
      const status = await call(hook.channel.config.uri, 'POST', headers, body);
      this.deliveries.push({ hookId: hook.id, eventIds: events.map((e) => e.uuid), status: status.status, attempt, ms: performance.now() - t0 });
      if (typeof status.status === 'number' && status.status < 500) return;
    }
  }

  // ---- HTTP ------------------------------------------------------------------

  #rateHeaders(res: ServerResponse, limit: number, remaining: number, resetAt: number): void {
    res.setHeader('x-rate-limit-limit', String(limit));
    res.setHeader('x-rate-limit-remaining', String(Math.max(0, remaining)));
    res.setHeader('x-rate-limit-reset', String(Math.ceil(resetAt / 1000)));
  }

  #send404(res: ServerResponse, what: string): void {
    json(res, 404, okError('E0000007', `Not found: Resource not found: ${what} (${what.split(' ')[0]})`));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.#url);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, query: url.searchParams });
    const body = await readBody(req);
    await this.faults.hold(method, path);
    const now = this.#clock().getTime();
    res.setHeader('date', new Date(now).toUTCString());
    if (this.faults.takeHangUp(method, path)) {
      req.socket.destroy();
      return;
    }
    const fault = this.faults.take(method, path);
    if (fault?.status === 429) {
      // Okta's concurrency 429: limit and remaining 0, the reset only a suggestion (research okta.md §6).
      this.#rateHeaders(res, 0, 0, fault.resetSeconds !== undefined ? now + fault.resetSeconds * 1000 : Math.floor(now / 60_000) * 60_000 + 60_000);
      return json(res, 429, okError('E0000047', 'API call exceeded rate limit due to too many requests.'));
    }
    if (fault?.status === 500) return json(res, 500, okError('E0000009', 'Internal Server Error'));
    if (fault) return text(res, fault.status, http.STATUS_CODES[fault.status] ?? 'Server Error');

    if (method === 'POST' && path === '/oauth2/v1/token') {
      const answer = await this.serviceApps.token(new URLSearchParams(body), `${this.#url}/oauth2/v1/token`, now);
      res.setHeader('cache-control', 'no-store');
      return json(res, answer.status, answer.body);
    }

    const bucket = bucketOf(method, path);
    // The caller: the API token's admin, or a service app with the scopes of its access token.
    const authorization = req.headers.authorization ?? '';
    const bearer = /^Bearer (.+)$/.exec(authorization);
    const grant = bearer ? this.serviceApps.grant(bearer[1]!, now) : undefined;
    if (authorization !== `SSWS ${this.token}` && !grant) return json(res, 401, okError('E0000011', 'Invalid token provided'));
    if (bucket) {
      const quota = this.rateLimits.take(bucket, now);
      this.#rateHeaders(res, quota.limit, quota.remaining, quota.reset * 1000);
      if (quota.exceeded) return json(res, 429, okError('E0000047', 'API call exceeded rate limit due to too many requests.'));
    }
    if (grant) {
      const scope = requiredScope(method, path);
      if (!scope || !scopeAllows(grant.scopes, scope)) {
        res.setHeader(
          'www-authenticate',
          `Bearer authorization_uri="${this.#url}/oauth2/v1/authorize", realm="${this.#url}", scope="${scope ?? ''}", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="${path}"`,
        );
        return json(res, 403, okError('E0000006', 'You do not have permission to perform the requested action'));
      }
    }
    const m = (re: RegExp) => re.exec(path);
    let g: RegExpExecArray | null;
    const asUser: SimUser | SimServiceApp = grant ? grant.app : this.tokenOwner;
    const tokenId = grant ? undefined : '00Twarden';

    if (method === 'GET' && path === '/api/v1/logs') return this.#logs(url, res);

    if (method === 'GET' && path === '/api/v1/users') {
      // List users (Okta's Users API: `limit` 1–200, default 200; `after` is the cursor of the next page,
      // handed out in the `Link: <…>; rel="next"` header; the simulator has no deprovisioned users).
      const limit = Math.min(200, Math.max(1, Number(url.searchParams.get('limit') ?? 200) || 200));
      const after = url.searchParams.get('after');
      const all = [...this.users.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const from = after ? all.findIndex((u) => u.id > after) : 0;
      const page = from === -1 ? [] : all.slice(from, from + limit);
      const links = [`<${url.toString()}>; rel="self"`];
      if (from !== -1 && from + limit < all.length) {
        const next = new URL(url.toString());
        next.searchParams.set('after', page[page.length - 1]!.id);
        next.searchParams.set('limit', String(limit));
        links.push(`<${next.toString()}>; rel="next"`);
      }
      res.setHeader('link', links.join(', '));
      return json(
        res,
        200,
        page.map((u) => this.#userJson(u)),
      );
    }
    if (method === 'GET' && (g = m(/^\/api\/v1\/users\/([^/]+)$/))) {
      // A service app is no user: `me` names nobody for it.
      const user = g[1] === 'me' ? (grant ? undefined : this.tokenOwner) : this.#findUser(decodeURIComponent(g[1]!));
      return user ? json(res, 200, this.#userJson(user)) : this.#send404(res, `${g[1]} (User)`);
    }
    if ((g = m(/^\/api\/v1\/users\/([^/]+)\/(.+)$/))) {
      const user = this.users.get(g[1]!);
      if (!user) return this.#send404(res, `${g[1]} (User)`);
      const rest = g[2]!;
      if (method === 'GET' && rest === 'groups')
        return json(
          res,
          200,
          [...user.groups].map((id) => this.#groupJson(id)),
        );
      if (method === 'GET' && rest === 'roles')
        return json(
          res,
          200,
          user.roles.map((type, i) => ({ id: `ra${i}${user.id}`, type, label: type, status: 'ACTIVE', assignmentType: 'USER' })),
        );
      if (method === 'GET' && rest === 'factors') return json(res, 200, this.factorsOf(user.id).map(factorJson));
      if (method === 'DELETE' && (g = /^factors\/([^/]+)$/.exec(rest))) {
        const factor = this.factors.get(g[1]!);
        if (!factor || factor.userId !== user.id) return this.#send404(res, `${g[1]} (UserFactor)`);
        this.factors.delete(factor.id);
        this.record(
          'user.mfa.factor.deactivate',
          'Reset factor for user',
          asUser,
          [
            this.#userTarget(user.id),
            { id: factor.id, type: 'AuthenticatorEnrollment', alternateId: 'unknown', displayName: factor.factorType, detailEntry: null },
          ],
          { requestUri: path },
          'WEB',
          tokenId,
        );
        return empty(res, 204);
      }
      if (method === 'POST' && (g = /^factors\/([^/]+)\/verify$/.exec(rest))) {
        const factor = this.factors.get(g[1]!);
        if (!factor || factor.userId !== user.id) return this.#send404(res, `${g[1]} (UserFactor)`);
        const tx: PushTransaction = { id: `v2m${randomBytes(8).toString('hex')}`, userId: user.id, factorId: factor.id, expiresAt: now + PUSH_LIFETIME_MS };
        this.#transactions.set(tx.id, tx);
        return json(res, 201, this.#waitingJson(user, tx));
      }
      if (method === 'GET' && (g = /^factors\/([^/]+)\/transactions\/([^/]+)$/.exec(rest))) {
        const tx = this.#transactions.get(g[2]!);
        if (!tx || tx.factorId !== g[1] || tx.userId !== user.id) return this.#send404(res, `${g[2]} (Transaction)`);
        if (tx.answer) return json(res, 200, { factorResult: tx.answer });
        if (now >= tx.expiresAt) return json(res, 200, { factorResult: 'TIMEOUT' });
        return json(res, 200, this.#waitingJson(user, tx));
      }
      if (method === 'DELETE' && rest === 'sessions') {
        user.sessions = 0;
        this.record('user.session.clear', 'Clear user session', asUser, [this.#userTarget(user.id)], { requestUri: path }, 'WEB', tokenId);
        return empty(res, 204);
      }
      if (method === 'PUT' && rest === 'risk') {
        const level = (JSON.parse(body || '{}') as { riskLevel?: string }).riskLevel;
        if (level !== 'HIGH' && level !== 'LOW') return json(res, 400, okError('E0000001', 'Api validation failed: riskLevel'));
        user.risk = level;
        this.record('user.risk.change', 'User risk level changed', asUser, [this.#userTarget(user.id)], { requestUri: path }, 'WEB', tokenId);
        return json(res, 200, { riskLevel: level });
      }
      if (method === 'POST' && (g = /^lifecycle\/([a-z_]+)$/.exec(rest))) return this.#lifecycle(g[1]!, user, url, res, path, asUser, tokenId);
      return this.#send404(res, path);
    }

    if (method === 'GET' && path === '/api/v1/groups') {
      const q = url.searchParams.get('q') ?? '';
      return json(
        res,
        200,
        [...this.groups.values()].filter((gr) => gr.profile.name.startsWith(q)).map((gr) => this.#groupJson(gr.id)),
      );
    }
    if (method === 'POST' && path === '/api/v1/groups') {
      const input = JSON.parse(body || '{}') as { profile?: { name?: string; description?: string } };
      if (!input.profile?.name) return json(res, 400, okError('E0000001', 'Api validation failed: name'));
      const group = this.addGroup(input.profile.name);
      if (input.profile.description) (group.profile as { description?: string }).description = input.profile.description;
      return json(res, 200, this.#groupJson(group.id));
    }
    if ((g = m(/^\/api\/v1\/groups\/([^/]+)\/users\/([^/]+)$/)) && (method === 'PUT' || method === 'DELETE')) {
      const group = this.groups.get(g[1]!);
      const user = this.users.get(g[2]!);
      if (!group) return this.#send404(res, `${g[1]} (UserGroup)`);
      if (!user) return this.#send404(res, `${g[2]} (User)`);
      if (method === 'PUT') {
        if (!user.groups.has(group.id)) {
          user.groups.add(group.id);
          this.record(
            'group.user_membership.add',
            'Add user to group membership',
            asUser,
            [this.#userTarget(user.id), { id: group.id, type: 'UserGroup', alternateId: 'unknown', displayName: group.profile.name, detailEntry: null }],
            { requestUri: path },
            'WEB',
            tokenId,
          );
        }
      } else if (user.groups.delete(group.id))
        this.record(
          'group.user_membership.remove',
          'Remove user from group membership',
          asUser,
          [this.#userTarget(user.id), { id: group.id, type: 'UserGroup', alternateId: 'unknown', displayName: group.profile.name, detailEntry: null }],
          { requestUri: path },
          'WEB',
          tokenId,
        );
      return empty(res, 204);
    }

    // API tokens: list, read, revoke (`revoke_new_credential`). Revoking logs `system.api_token.revoke`
    // with the token as target (panther-okta fixture Okta.APIKeyRevoked.json).
    if (method === 'GET' && path === '/api/v1/api-tokens')
      return json(
        res,
        200,
        [...this.apiTokens.values()].map((t) => this.#apiTokenJson(t)),
      );
    if ((g = m(/^\/api\/v1\/api-tokens\/([^/]+)$/)) && (method === 'GET' || method === 'DELETE')) {
      const token = this.apiTokens.get(decodeURIComponent(g[1]!));
      if (!token) return this.#send404(res, `${g[1]} (ApiToken)`);
      if (method === 'GET') return json(res, 200, this.#apiTokenJson(token));
      this.apiTokens.delete(token.id);
      this.record('system.api_token.revoke', 'Revoke API token', asUser, [this.#tokenTarget(token)], { requestUri: path }, 'WEB', tokenId);
      return empty(res, 204);
    }

    // Policies API, the part `okta provision --apply` uses: list policies of a type, list and add rules.
    // An Identity Engine org has one account management policy (ACCESS_POLICY, resourceType
    // END_USER_ACCOUNT_MANAGEMENT, research okta.md §5.4) and an app sign-in policy beside it.
    if (method === 'GET' && path === '/api/v1/policies') {
      const type = url.searchParams.get('type');
      if (!type) return json(res, 400, okError('E0000001', 'Api validation failed: type'));
      const expand = url.searchParams.get('expand') === 'resourceType';
      return json(
        res,
        200,
        [...this.policies.values()]
          .filter((p) => p.type === type)
          .map((p) => ({
            id: p.id,
            name: p.name,
            type: p.type,
            status: 'ACTIVE',
            system: true,
            ...(expand ? { _embedded: { resourceType: p.resourceType } } : {}),
          })),
      );
    }
    if ((g = m(/^\/api\/v1\/policies\/([^/]+)\/rules$/)) && (method === 'GET' || method === 'POST')) {
      const policy = this.policies.get(g[1]!);
      if (!policy) return this.#send404(res, `${g[1]} (Policy)`);
      if (method === 'GET') return json(res, 200, policy.rules);
      const rule = JSON.parse(body || '{}') as Record<string, unknown>;
      if (typeof rule.name !== 'string' || !rule.name) return json(res, 400, okError('E0000001', 'Api validation failed: name'));
      const created = { ...rule, id: `rul${randomBytes(8).toString('hex')}`, status: 'ACTIVE', system: false };
      policy.rules.splice(typeof rule.priority === 'number' ? Math.max(0, rule.priority - 1) : policy.rules.length - 1, 0, created);
      return json(res, 200, created);
    }

    if (path === '/api/v1/eventHooks' && method === 'GET') return json(res, 200, [...this.hooks.values()].map(hookJson));
    if (path === '/api/v1/eventHooks' && method === 'POST') {
      const input = JSON.parse(body || '{}') as Partial<SimHook>;
      const uri = input.channel?.config?.uri ?? '';
      if (!input.name || !input.events?.items?.length || !uri) return json(res, 400, okError('E0000001', 'Api validation failed: eventHook'));
      const at = new Date(now).toISOString();
      const hook: SimHook = {
        id: this.#id('who'),
        name: input.name,
        status: 'ACTIVE',
        verificationStatus: 'UNVERIFIED',
        events: { type: 'EVENT_TYPE', items: [...input.events.items], filter: null },
        channel: {
          type: 'HTTP',
          version: input.channel?.version ?? '1.0.0',
          config: {
            uri,
            method: 'POST',
            headers: input.channel?.config?.headers ?? [],
            authScheme: {
              type: 'HEADER',
              key: input.channel!.config!.authScheme!.key,
              ...(input.channel?.config?.authScheme?.value !== undefined ? { value: input.channel.config.authScheme.value } : {}),
            },
          },
        },
        created: at,
        lastUpdated: at,
      };
      this.hooks.set(hook.id, hook);
      return json(res, 200, hookJson(hook));
    }
    if ((g = m(/^\/api\/v1\/eventHooks\/([^/]+)(\/lifecycle\/(verify|activate|deactivate))?$/))) {
      const hook = this.hooks.get(g[1]!);
      if (!hook) return this.#send404(res, `${g[1]} (EventHook)`);
      const action = g[3];
      if (method === 'GET' && !action) return json(res, 200, hookJson(hook));
      if (method === 'PUT' && !action) {
        const input = JSON.parse(body || '{}') as Partial<SimHook>;
        const uri = input.channel?.config?.uri ?? hook.channel.config.uri;
        if (uri !== hook.channel.config.uri) hook.verificationStatus = 'UNVERIFIED';
        hook.name = input.name ?? hook.name;
        if (input.events?.items) hook.events = { type: 'EVENT_TYPE', items: [...input.events.items], filter: null };
        hook.channel.config = {
          uri,
          method: 'POST',
          headers: input.channel?.config?.headers ?? hook.channel.config.headers,
          authScheme: {
            type: 'HEADER',
            key: input.channel?.config?.authScheme?.key ?? hook.channel.config.authScheme.key,
            ...(input.channel?.config?.authScheme?.value !== undefined
              ? { value: input.channel.config.authScheme.value }
              : hook.channel.config.authScheme.value !== undefined
                ? { value: hook.channel.config.authScheme.value }
                : {}),
          },
        };
        hook.lastUpdated = new Date(now).toISOString();
        return json(res, 200, hookJson(hook));
      }
      if (method === 'POST' && action === 'activate') {
        hook.status = 'ACTIVE';
        return json(res, 200, hookJson(hook));
      }
      if (method === 'POST' && action === 'deactivate') {
        hook.status = 'INACTIVE';
        return json(res, 200, hookJson(hook));
      }
      if (method === 'POST' && action === 'verify') {
        const ok = await this.#verifyHook(hook);
        this.record(
          'event_hook.verified',
          'Event hook verified',
          asUser,
          [{ id: hook.id, type: 'EventHook', alternateId: hook.name, displayName: hook.name, detailEntry: null }],
          { requestUri: path },
          'WEB',
          tokenId,
        );
        if (!ok) return json(res, 400, okError('E0000001', 'Api validation failed: Verification failed'));
        hook.verificationStatus = 'VERIFIED';
        return json(res, 200, hookJson(hook));
      }
    }
    return this.#send404(res, path);
  }

  /** Okta's one-time verification: GET with `x-okta-verification-challenge`, 3 s timeout, one retry. */
  async #verifyHook(hook: SimHook): Promise<boolean> {
    const challenge = randomBytes(16).toString('base64url');
    const headers: Record<string, string> = { 'x-okta-verification-challenge': challenge };
    for (const h of hook.channel.config.headers) headers[h.key] = h.value;
    if (hook.channel.config.authScheme.value !== undefined) headers[hook.channel.config.authScheme.key] = hook.channel.config.authScheme.value;
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await call(hook.channel.config.uri, 'GET', headers);
      if (answer.status === 200) {
        try {
          if ((JSON.parse(answer.body) as { verification?: string }).verification === challenge) return true;
        } catch {
          // not JSON: a failed verification
        }
      }
    }
    return false;
  }

  #lifecycle(op: string, user: SimUser, url: URL, res: ServerResponse, path: string, actor: SimUser | SimServiceApp, tokenId: string | undefined): void {
    const target = [this.#userTarget(user.id)];
    switch (op) {
      case 'reset_factors':
        for (const f of this.factorsOf(user.id)) this.factors.delete(f.id);
        this.record('user.mfa.factor.reset_all', 'Reset all factors for user', actor, target, { requestUri: path }, 'WEB', tokenId);
        return json(res, 200, {});
      case 'suspend':
        if (user.status !== 'ACTIVE') return json(res, 400, okError('E0000001', 'Api validation failed: Cannot suspend a user that is not active'));
        user.status = 'SUSPENDED';
        this.record('user.lifecycle.suspend', 'Suspend Okta user', actor, target, { requestUri: path }, 'WEB', tokenId);
        return json(res, 200, {});
      case 'unsuspend':
        if (user.status !== 'SUSPENDED') return json(res, 400, okError('E0000001', 'Api validation failed: Cannot unsuspend a user that is not suspended'));
        user.status = 'ACTIVE';
        this.record('user.lifecycle.unsuspend', 'Unsuspend Okta user', actor, target, { requestUri: path }, 'WEB', tokenId);
        return json(res, 200, {});
      case 'expire_password':
        user.status = 'PASSWORD_EXPIRED';
        this.record('user.account.expire_password', "Fired when the user's Okta password is expired", actor, target, { requestUri: path }, 'WEB', tokenId);
        return json(res, 200, this.#userJson(user));
      case 'reset_password': {
        const sendEmail = url.searchParams.get('sendEmail') === 'true';
        user.status = 'RECOVERY';
        if (url.searchParams.get('revokeSessions') === 'true') user.sessions = 0;
        this.record('user.account.reset_password', "Fired when the user's Okta password is reset", actor, target, { requestUri: path }, 'WEB', tokenId);
        return json(res, 200, sendEmail ? {} : { resetPasswordUrl: `${this.#url}/reset_password/drp${randomBytes(10).toString('hex')}` });
      }
      default:
        return this.#send404(res, path);
    }
  }

  /** `GET /api/v1/logs`: `since`/`until`/`after`/`limit`/`filter` (eventType eq … or …), ascending, with `Link` and rate-limit headers. */
  #logs(url: URL, res: ServerResponse): void {
    const since = url.searchParams.get('since');
    const until = url.searchParams.get('until');
    const after = url.searchParams.get('after');
    const limit = Math.min(1000, Number(url.searchParams.get('limit') ?? 100));
    const types = [...(url.searchParams.get('filter') ?? '').matchAll(/eventType eq "([^"]+)"/g)].map((x) => x[1]);
    const generated = this.#generatedPage(since, until, after, limit, types as string[]);
    if (generated && (generated.page.length > 0 || generated.more)) {
      const next = new URL(url.toString());
      next.searchParams.set('after', generated.last?.uuid ?? after ?? '');
      const more = generated.more || this.log.length > 0;
      res.setHeader('link', [`<${url.toString()}>; rel="self"`, ...(!until || more ? [`<${next.toString()}>; rel="next"`] : [])].join(', '));
      return json(res, 200, generated.page);
    }
    let start = 0;
    if (after) start = this.log.findIndex((e) => e.uuid === after) + 1;
    const page: LogEventSim[] = [];
    let last: LogEventSim | undefined;
    for (let i = start; i < this.log.length && page.length < limit; i++) {
      const e = this.log[i]!;
      last = e;
      if (since && e.published < new Date(since).toISOString()) continue;
      if (until && e.published >= new Date(until).toISOString()) continue;
      if (types.length && !types.includes(e.eventType)) continue;
      page.push(e);
    }
    const next = new URL(url.toString());
    next.searchParams.set('after', (last ?? page[page.length - 1])?.uuid ?? after ?? '');
    // Okta answers a polling request (no `until`) with a `next` link always; a bounded one only while there is more.
    const more = last !== undefined && this.log.indexOf(last) < this.log.length - 1;
    res.setHeader('link', [`<${url.toString()}>; rel="self"`, ...(!until || more ? [`<${next.toString()}>; rel="next"`] : [])].join(', '));
    json(res, 200, page);
  }

  /** A push still waiting for the person: what `verify` and a poll answer (poll and cancel links). */
  #waitingJson(user: SimUser, tx: PushTransaction): Record<string, unknown> {
    const poll = `${this.#url}/api/v1/users/${user.id}/factors/${tx.factorId}/transactions/${tx.id}`;
    return {
      factorResult: 'WAITING',
      profile: { credentialId: user.profile.login },
      expiresAt: new Date(tx.expiresAt).toISOString(),
      _links: { poll: { href: poll, hints: { allow: ['GET'] } }, cancel: { href: poll, hints: { allow: ['DELETE'] } } },
    };
  }

  #findUser(idOrLogin: string): SimUser | undefined {
    return this.users.get(idOrLogin) ?? [...this.users.values()].find((u) => u.profile.login?.toLowerCase() === idOrLogin.toLowerCase());
  }

  #userJson(u: SimUser): Record<string, unknown> {
    return {
      id: u.id,
      status: u.status,
      created: u.created,
      activated: u.created,
      statusChanged: null,
      lastLogin: null,
      lastUpdated: u.created,
      passwordChanged: null,
      type: { id: 'oty1' },
      profile: u.profile,
      credentials: { provider: { type: 'OKTA', name: 'OKTA' } },
      _links: { self: { href: `${this.#url}/api/v1/users/${u.id}` } },
    };
  }

  #groupJson(id: string): Record<string, unknown> {
    const g = this.groups.get(id)!;
    return {
      id: g.id,
      created: '2026-01-01T00:00:00.000Z',
      lastUpdated: '2026-01-01T00:00:00.000Z',
      lastMembershipUpdated: '2026-01-01T00:00:00.000Z',
      objectClass: ['okta:user_group'],
      type: 'OKTA_GROUP',
      profile: g.profile,
      _links: {},
    };
  }
}

function factorJson(f: SimFactor): Record<string, unknown> {
  return {
    id: f.id,
    factorType: f.factorType,
    provider: f.provider,
    vendorName: f.provider,
    status: f.status,
    created: f.created,
    lastUpdated: f.lastUpdated,
    profile: {},
    _links: {},
  };
}

function hookJson(h: SimHook): Record<string, unknown> {
  const { value: _secret, ...authScheme } = h.channel.config.authScheme; // write-only in Okta
  return { ...h, channel: { ...h.channel, config: { ...h.channel.config, authScheme } } };
}

function okError(code: string, summary: string): Record<string, unknown> {
  return { errorCode: code, errorSummary: summary, errorLink: code, errorId: `oae${randomBytes(8).toString('hex')}`, errorCauses: [] };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function empty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}

/** Connections to Warden are kept open between deliveries, so a stream of deliveries does not pay a handshake each. */
const HOOK_AGENTS = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/** One HTTP call with Okta's 3 s hook timeout. */
function call(uri: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number | 'timeout' | 'error'; body: string }> {
  return new Promise((resolve) => {
    // Okta calls hooks over HTTPS; a local Warden may serve either.
    const secure = uri.startsWith('https:');
    const req = (secure ? https : http).request(
      uri,
      {
        agent: secure ? HOOK_AGENTS.https : HOOK_AGENTS.http,
        method,
        headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
        timeout: HOOK_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ status: 'timeout', body: '' });
    });
    req.on('error', () => resolve({ status: 'error', body: '' }));
    req.end(body);
  });
}
