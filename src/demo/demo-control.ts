import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isWardenError, WardenError } from '../core/errors.js';
import type { ActRequest, ActResult, PersonState } from '../connector/demo-kit.js';

/**
 * The demo's control endpoint (127.0.0.1 only): how `warden demo --play`
 * and `warden demo act` reach a running demo. `GET /demo/info` says where
 * everything is; `POST /demo/act` does something inside an IdP (what a
 * person does in an admin console, the Sign-In Widget or Outlook, for which
 * the vendors have no API); `GET /demo/state/{persona}` is what the IdPs'
 * admin consoles show about a person; `GET /demo/audit?after=N` is the
 * tenant's audit log (what an auditor reads). It is a demo's back door,
 * never part of Warden's API.
 */

/** Where a running demo is, written to `<dir>/demo.json`. */
export const DEMO_STATE_FILE = 'demo.json';

/** What `GET /demo/info` answers. */
export interface DemoInfo {
  tenant: string;
  /** The warden.yaml the demo wrote (for `warden --config … audit verify`, `holds list`). */
  configFile: string;
  warden: string;
  /** The certificate Warden and the Entra simulator serve (trust it: `curl --cacert`, NODE_EXTRA_CA_CERTS). */
  caFile: string;
  control: string;
  oidc: { issuer: string; clientId: string; redirectUri: string };
  okta: string;
  entra: string;
  servicenow: string;
  jira: string;
  /** An API key (scopes alerts:read, requests:read) for the plays' reading. */
  apiKey: string;
  personas: Array<{ handle: string; login: string; name: string; part: string; groups: string[]; oktaId: string; entraId: string }>;
}

export interface AuditEntry {
  seq: number;
  at: string;
  type: string;
  actor: Record<string, unknown>;
  subject: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: an audit record's data, whose shape depends on its type
  data: Record<string, any>;
}

export interface ControlHandlers {
  info(): DemoInfo;
  act(req: ActRequest): Promise<ActResult>;
  state(handle: string): PersonState;
  audit(after: number): Promise<AuditEntry[]>;
}

/** Serves the control endpoint. */
export async function serveControl(handlers: ControlHandlers, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        let status = 200;
        let body: unknown;
        try {
          let m: RegExpExecArray | null;
          if (req.method === 'GET' && url.pathname === '/demo/info') body = handlers.info();
          else if (req.method === 'POST' && url.pathname === '/demo/act')
            body = await handlers.act(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as ActRequest);
          else if (req.method === 'GET' && (m = /^\/demo\/state\/([^/]+)$/.exec(url.pathname))) body = handlers.state(decodeURIComponent(m[1]!));
          else if (req.method === 'GET' && url.pathname === '/demo/audit') body = await handlers.audit(Number(url.searchParams.get('after') ?? 0));
          else [status, body] = [404, { code: 'ERR_NOT_FOUND', detail: `no ${req.method} ${url.pathname}` }];
        } catch (err) {
          status = isWardenError(err) && err.code === 'ERR_VALIDATION' ? 400 : 500;
          body = { code: isWardenError(err) ? err.code : 'ERR_INTERNAL', detail: (err as Error).message };
        }
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A client of a running demo's control endpoint. */
export class DemoControl {
  constructor(readonly url: string) {}

  /** The control endpoint of the demo running from `dir`, or undefined when none answers. */
  static async find(dir: string): Promise<DemoControl | undefined> {
    const file = path.join(dir, DEMO_STATE_FILE);
    if (!existsSync(file)) return undefined;
    const { control } = JSON.parse(readFileSync(file, 'utf8')) as { control: string };
    const client = new DemoControl(control);
    try {
      await client.info();
      return client;
    } catch {
      return undefined;
    }
  }

  async #call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${route}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const answer = (await res.json()) as T & { code?: string; detail?: string };
    if (!res.ok) throw new WardenError(res.status === 400 ? 'ERR_VALIDATION' : 'ERR_UPSTREAM', answer.detail ?? `the demo answered ${res.status}`);
    return answer;
  }

  info(): Promise<DemoInfo> {
    return this.#call('GET', '/demo/info');
  }

  act(req: ActRequest): Promise<ActResult> {
    return this.#call('POST', '/demo/act', req);
  }

  state(handle: string): Promise<PersonState> {
    return this.#call('GET', `/demo/state/${encodeURIComponent(handle)}`);
  }

  audit(after = 0): Promise<AuditEntry[]> {
    return this.#call('GET', `/demo/audit?after=${after}`);
  }
}
