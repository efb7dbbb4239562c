import { systemClock } from '../../src/core/clock.js';
import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  GraphError,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
  type GraphRequest,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import type { Secret } from '../../src/connector/index.js';
import type { EntraTenantConfig } from './entra-config.js';
import { GRAPH_CALLS, graphCallPath, type GraphCallName } from './graph-calls.js';
import { endpointsFor, type EntraEndpoints } from './national-clouds.js';
import { WardenError } from '../../src/core/errors.js';

/**
 * A tenant's authenticated connection to Microsoft Graph and the Office 365
 * Management Activity API: `@azure/identity` client credentials (secret or
 * certificate) against the tenant's cloud, and a `@microsoft/microsoft-graph-client`
 * with the default middleware chain, except that the retry handler retries a
 * 429/503/504 in place only when `Retry-After` is short
 * (`maxInlineRetrySeconds`): longer waits surface as `GraphCallError` with
 * `retryAfterMs`, so the outbox and the pollers wait without holding a
 * worker. Note the retry handler retries POST and PATCH too (sdk-js
 * RetryHandler, shared/research/entra.md §5): every action built on this must
 * be safe to repeat.
 *
 * The identity library caches a token until its expiry by the machine's
 * clock. When Graph refuses a token anyway (401 `InvalidAuthenticationToken`:
 * expired by Graph's clock, or revoked), a session built with a credential
 * factory drops the credential and its cache, takes a new one and retries
 * the call once — a refused token is never sent again.
 */

/**
 * A failed Graph or Management API call (`ERR_UPSTREAM`), without secrets:
 * status, Graph's error code (`graphCode`), and how long the service asked to wait.
 */
export class GraphCallError extends WardenError {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly graphCode: string,
    message: string,
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown },
  ) {
    super('ERR_UPSTREAM', `${operation}: ${status || 'no response'}${graphCode ? ` ${graphCode}` : ''}: ${message}`, options);
    this.name = 'GraphCallError';
  }

  /** 429, 503 and 504 (throttled or briefly unavailable), 5xx, 401 (a token problem) and network failures can succeed later. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 401 || this.status === 429 || this.status >= 500;
  }
}

/**
 * Milliseconds from a `Retry-After` header (seconds or an HTTP date), if any.
 * An HTTP date is read against `date`, the response's own `Date` header,
 * when there is one: the service's clock, not this machine's (they may
 * differ by more than the wait).
 */
export function retryAfterMs(value: string | null | undefined, now: number = systemClock().getTime(), date?: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(value);
  const sent = date ? Date.parse(date) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - (Number.isNaN(sent) ? now : sent));
}

/** Graph's answer to a token it does not accept (expired, revoked, not yet valid). */
function tokenRefused(err: unknown): boolean {
  return err instanceof GraphCallError && err.status === 401 && err.graphCode === 'InvalidAuthenticationToken';
}

function toCallError(operation: string, err: unknown): GraphCallError {
  if (err instanceof GraphCallError) return err;
  if (err instanceof GraphError) {
    let message = err.message;
    if (!message && typeof err.body === 'string') {
      try {
        message = (JSON.parse(err.body) as { message?: string }).message ?? err.body;
      } catch {
        message = err.body;
      }
    }
    const status = err.statusCode > 0 ? err.statusCode : 0;
    return new GraphCallError(
      operation,
      status,
      err.code ?? '',
      message || 'request failed',
      retryAfterMs(err.headers?.get('Retry-After'), undefined, err.headers?.get('Date')),
      { cause: err },
    );
  }
  const name = (err as Error)?.name;
  const message = name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : ((err as Error)?.message ?? String(err));
  return new GraphCallError(
    operation,
    0,
    name === 'CredentialUnavailableError' || name === 'AuthenticationError' ? 'authentication_failed' : '',
    message,
    undefined,
    { cause: err },
  );
}

/** The credential for a tenant's app registration. */
export function createCredential(
  config: EntraTenantConfig,
  endpoints: EntraEndpoints,
  secrets: { clientSecret?: Secret; certificate?: Secret },
): TokenCredential {
  const options = { authorityHost: endpoints.authorityHost, ...(endpoints.customAuthority ? { disableInstanceDiscovery: true } : {}) };
  if (secrets.certificate)
    return new ClientCertificateCredential(
      config.tenantId,
      config.clientId,
      { certificate: secrets.certificate.reveal() },
      { ...options, sendCertificateChain: config.credential.sendCertificateChain },
    );
  if (secrets.clientSecret) return new ClientSecretCredential(config.tenantId, config.clientId, secrets.clientSecret.reveal(), options);
  throw new WardenError('ERR_CONFIG_INVALID', 'no credential');
}

/** One tenant's Graph and Management API access. */
export interface EntraSession {
  readonly config: EntraTenantConfig;
  readonly endpoints: EntraEndpoints;
  /** How many times a token Graph refused made the session take a new credential. */
  readonly renewals: number;
  /** The tenant's credential (the current one, after a renewal). */
  readonly credential: TokenCredential;
  /** A request for one of the Graph calls in graph-calls.ts, with the call timeout. */
  request(name: GraphCallName, params?: Record<string, string>): GraphRequest;
  /** Runs a Graph call; failures become GraphCallError. */
  call<T>(name: GraphCallName, params: Record<string, string>, run: (request: GraphRequest) => Promise<T>): Promise<T>;
  /** Follows an `@odata.nextLink` of `name`'s listing (only links on this tenant's Graph host). */
  next<T>(name: GraphCallName, nextLink: string): Promise<T>;
  /**
   * Calls the Office 365 Management Activity API (plain HTTPS with a token
   * for `https://manage…/.default`). Returns the parsed body and the
   * `NextPageUri` header.
   */
  management<T>(
    name: GraphCallName,
    params: Record<string, string>,
    query: Record<string, string>,
    options?: { method?: 'GET' | 'POST'; url?: string },
  ): Promise<{ body: T; nextPage: string | undefined }>;
}

/**
 * Opens a tenant's session.
 *
 * @param credential the tenant's credential, or a factory for it: with a
 *   factory, a token Graph refuses (401 `InvalidAuthenticationToken`) is
 *   dropped with its credential and the call retried once with a new one.
 */
export function createEntraSession(
  config: EntraTenantConfig,
  credential: TokenCredential | (() => TokenCredential),
  endpointsGiven?: EntraEndpoints,
): EntraSession {
  const newCredential = typeof credential === 'function' ? credential : undefined;
  let current = typeof credential === 'function' ? credential() : credential;
  let renewals = 0;
  const endpoints = endpointsGiven ?? endpointsFor(config);
  const timeoutMs = config.requestTimeoutSeconds * 1000;
  const maxInline = config.maxInlineRetrySeconds;
  const shouldRetry = (_delay: number, _attempt: number, _request: unknown, _options: unknown, response: Response) => {
    const header = response.headers.get('Retry-After');
    if (header === null) return true; // the SDK's own back-off
    // An HTTP date goes back to the caller: the SDK would read it against this machine's clock, the caller reads it against the response's Date.
    if (!/^\s*\d+(\.\d+)?\s*$/.test(header)) return false;
    return Number(header) <= maxInline;
  };
  // Through the session, so that a renewed credential is the one asked.
  const asked: TokenCredential = { getToken: (scopes, options) => current.getToken(scopes, options) };
  const authProvider = new TokenCredentialAuthenticationProvider(asked, { scopes: [`${endpoints.graphBaseUrl}/.default`] });
  const graphHost = new URL(endpoints.graphBaseUrl).hostname;
  // The default chain (sdk-js MiddlewareFactory) with our retry options.
  const middleware = [
    new AuthenticationHandler(authProvider),
    new RetryHandler(new RetryHandlerOptions(3, maxInline === 0 ? 0 : 3, shouldRetry)),
    new RedirectHandler(new RedirectHandlerOptions()),
    new TelemetryHandler(),
    new HTTPMessageHandler(),
  ];
  const client = Client.initWithMiddleware({
    middleware,
    baseUrl: `${endpoints.graphBaseUrl}/`,
    defaultVersion: 'v1.0',
    // Without customHosts the client sends no token to a host that is not a Microsoft Graph host (simulators.md).
    ...(config.graphBaseUrl ? { customHosts: new Set([graphHost]) } : {}),
  });

  /** Runs `attempt`; when Graph refused the token and the session can renew its credential, renews and runs it once more. */
  const withFreshToken = async <T>(attempt: () => Promise<T>): Promise<T> => {
    try {
      return await attempt();
    } catch (err) {
      if (!newCredential || !tokenRefused(err)) throw err;
      current = newCredential();
      renewals++;
      return attempt();
    }
  };

  const request = (name: GraphCallName, params: Record<string, string> = {}): GraphRequest => {
    const op = GRAPH_CALLS[name];
    if (op.api !== 'graph') throw new WardenError('ERR_INTERNAL', `${name} is not a Graph call`);
    return client.api(graphCallPath(name, params)).option('signal', AbortSignal.timeout(timeoutMs));
  };

  const management = async <T>(name: GraphCallName, url: URL, method: string): Promise<{ body: T; nextPage: string | undefined }> => {
    try {
      const token = await current.getToken(`${endpoints.managementBaseUrl}/.default`);
      if (!token) throw new GraphCallError(name, 0, 'authentication_failed', 'no token', undefined);
      const res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (!res.ok) {
        let code = '';
        let message = text.slice(0, 300);
        try {
          const err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
          code = err?.code ?? '';
          message = err?.message ?? message;
        } catch {
          // not JSON: keep the text
        }
        throw new GraphCallError(name, res.status, code, message, retryAfterMs(res.headers.get('Retry-After'), undefined, res.headers.get('Date')));
      }
      return { body: (text ? JSON.parse(text) : undefined) as T, nextPage: res.headers.get('NextPageUri') ?? undefined };
    } catch (err) {
      throw toCallError(name, err);
    }
  };

  return {
    config,
    endpoints,
    get renewals() {
      return renewals;
    },
    get credential() {
      return current;
    },
    request,
    call<T>(name: GraphCallName, params: Record<string, string>, run: (request: GraphRequest) => Promise<T>): Promise<T> {
      return withFreshToken(async () => {
        try {
          return await run(request(name, params));
        } catch (err) {
          throw toCallError(name, err);
        }
      });
    },
    next<T>(name: GraphCallName, nextLink: string): Promise<T> {
      if (!nextLink.startsWith(`${endpoints.graphBaseUrl}/`))
        return Promise.reject(new GraphCallError(name, 0, '', `refusing a nextLink outside ${endpoints.graphBaseUrl}`, undefined));
      return withFreshToken(async () => {
        try {
          return (await client.api(nextLink).option('signal', AbortSignal.timeout(timeoutMs)).get()) as T;
        } catch (err) {
          throw toCallError(name, err);
        }
      });
    },
    management<T>(
      name: GraphCallName,
      params: Record<string, string>,
      query: Record<string, string>,
      options: { method?: 'GET' | 'POST'; url?: string } = {},
    ): Promise<{ body: T; nextPage: string | undefined }> {
      const base = endpoints.managementBaseUrl;
      if (!base)
        return Promise.reject(new GraphCallError(name, 0, '', 'no Management Activity API endpoint for this cloud: set managementActivity.baseUrl', undefined));
      const op = GRAPH_CALLS[name];
      let url: URL;
      if (options.url) {
        if (!options.url.startsWith(`${base}/`)) return Promise.reject(new GraphCallError(name, 0, '', `refusing a URL outside ${base}`, undefined));
        url = new URL(options.url);
      } else {
        url = new URL(`${base}/api/v1.0${graphCallPath(name, params)}`);
        for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      }
      return withFreshToken(() => management<T>(name, url, options.method ?? op.method));
    },
  };
}
