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
import type { Secret } from '../../src/config/load-config.js';
import type { EntraTenantConfig } from './entra-config.js';
import { API_OPERATIONS, operationPath, type OperationName } from './graph-operations.js';
import { endpointsFor, type EntraEndpoints } from './national-clouds.js';

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
 */

/** A failed Graph or Management API call, without secrets: status, Graph error code, and how long the service asked to wait. */
export class GraphCallError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${status || 'no response'}${code ? ` ${code}` : ''}: ${message}`, options);
    this.name = 'GraphCallError';
  }

  /** 429, 503 and 504 (throttled or briefly unavailable), 5xx, 401 (a token problem) and network failures can succeed later. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 401 || this.status === 429 || this.status >= 500;
  }
}

/** Milliseconds from a `Retry-After` header (seconds or an HTTP date), if any. */
export function retryAfterMs(value: string | null | undefined, now: number = systemClock().getTime()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
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
    return new GraphCallError(operation, status, err.code ?? '', message || 'request failed', retryAfterMs(err.headers?.get('Retry-After')), { cause: err });
  }
  const name = (err as Error)?.name;
  const message = name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : ((err as Error)?.message ?? String(err));
  return new GraphCallError(operation, 0, name === 'CredentialUnavailableError' || name === 'AuthenticationError' ? 'authentication_failed' : '', message, undefined, { cause: err });
}

/** The credential for a tenant's app registration. */
export function createCredential(config: EntraTenantConfig, endpoints: EntraEndpoints, secrets: { clientSecret?: Secret; certificate?: Secret }): TokenCredential {
  const options = { authorityHost: endpoints.authorityHost, ...(endpoints.customAuthority ? { disableInstanceDiscovery: true } : {}) };
  if (secrets.certificate)
    return new ClientCertificateCredential(config.tenantId, config.clientId, { certificate: secrets.certificate.reveal() }, { ...options, sendCertificateChain: config.credential.sendCertificateChain });
  if (secrets.clientSecret) return new ClientSecretCredential(config.tenantId, config.clientId, secrets.clientSecret.reveal(), options);
  throw new Error('no credential');
}

/** One tenant's Graph and Management API access. */
export class EntraSession {
  readonly endpoints: EntraEndpoints;
  readonly #client: Client;
  readonly #timeoutMs: number;

  constructor(
    readonly config: EntraTenantConfig,
    readonly credential: TokenCredential,
    endpoints?: EntraEndpoints,
  ) {
    this.endpoints = endpoints ?? endpointsFor(config);
    this.#timeoutMs = config.requestTimeoutSeconds * 1000;
    const maxInline = config.maxInlineRetrySeconds;
    const shouldRetry = (_delay: number, _attempt: number, _request: unknown, _options: unknown, response: Response) => {
      const wait = retryAfterMs(response.headers.get('Retry-After'));
      return wait === undefined || wait <= maxInline * 1000;
    };
    const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [`${this.endpoints.graphBaseUrl}/.default`] });
    const graphHost = new URL(this.endpoints.graphBaseUrl).hostname;
    // The default chain (sdk-js MiddlewareFactory) with our retry options.
    const middleware = [
      new AuthenticationHandler(authProvider),
      new RetryHandler(new RetryHandlerOptions(3, maxInline === 0 ? 0 : 3, shouldRetry)),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new HTTPMessageHandler(),
    ];
    this.#client = Client.initWithMiddleware({
      middleware,
      baseUrl: `${this.endpoints.graphBaseUrl}/`,
      defaultVersion: 'v1.0',
      // Without customHosts the client sends no token to a host that is not a Microsoft Graph host (simulators.md).
      ...(config.graphBaseUrl ? { customHosts: new Set([graphHost]) } : {}),
    });
  }

  /** A request for one of the operations in graph-operations.ts, with the call timeout. */
  request(name: OperationName, params: Record<string, string> = {}): GraphRequest {
    const op = API_OPERATIONS[name];
    if (op.api !== 'graph') throw new Error(`${name} is not a Graph operation`);
    return this.#client.api(operationPath(name, params)).option('signal', AbortSignal.timeout(this.#timeoutMs));
  }

  /** Runs a Graph call; failures become GraphCallError. */
  async call<T>(name: OperationName, params: Record<string, string>, run: (request: GraphRequest) => Promise<T>): Promise<T> {
    try {
      return await run(this.request(name, params));
    } catch (err) {
      throw toCallError(name, err);
    }
  }

  /** Follows an `@odata.nextLink` of `name`'s listing (only links on this tenant's Graph host). */
  async next<T>(name: OperationName, nextLink: string): Promise<T> {
    if (!nextLink.startsWith(`${this.endpoints.graphBaseUrl}/`)) throw new GraphCallError(name, 0, '', `refusing a nextLink outside ${this.endpoints.graphBaseUrl}`, undefined);
    try {
      return (await this.#client.api(nextLink).option('signal', AbortSignal.timeout(this.#timeoutMs)).get()) as T;
    } catch (err) {
      throw toCallError(name, err);
    }
  }

  /**
   * Calls the Office 365 Management Activity API (plain HTTPS with a token
   * for `https://manage…/.default`). Returns the parsed body and the
   * `NextPageUri` header.
   */
  async management<T>(name: OperationName, params: Record<string, string>, query: Record<string, string>, options: { method?: 'GET' | 'POST'; url?: string } = {}): Promise<{ body: T; nextPage: string | undefined }> {
    const base = this.endpoints.managementBaseUrl;
    if (!base) throw new GraphCallError(name, 0, '', 'no Management Activity API endpoint for this cloud: set managementActivity.baseUrl', undefined);
    const op = API_OPERATIONS[name];
    let url: URL;
    if (options.url) {
      if (!options.url.startsWith(`${base}/`)) throw new GraphCallError(name, 0, '', `refusing a URL outside ${base}`, undefined);
      url = new URL(options.url);
    } else {
      url = new URL(`${base}/api/v1.0${operationPath(name, params)}`);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    }
    try {
      const token = await this.credential.getToken(`${base}/.default`);
      if (!token) throw new GraphCallError(name, 0, 'authentication_failed', 'no token', undefined);
      const res = await fetch(url, { method: options.method ?? op.method, headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' }, signal: AbortSignal.timeout(this.#timeoutMs) });
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
        throw new GraphCallError(name, res.status, code, message, retryAfterMs(res.headers.get('Retry-After')));
      }
      return { body: (text ? JSON.parse(text) : undefined) as T, nextPage: res.headers.get('NextPageUri') ?? undefined };
    } catch (err) {
      throw toCallError(name, err);
    }
  }
}
