import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that went through the proxy. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** When it arrived and when it was answered (performance.now()). */
  start: number;
  end?: number;
  /** The IdP's answer (502 when the IdP could not be reached), and its `x-rate-limit-reset` (epoch seconds) if any. */
  status?: number;
  rateLimitReset?: number;
}

/** A request the proxy is holding back. */
export interface Stall {
  /** Resolves when a matching request has arrived and is held. */
  arrived: Promise<{ method: string; path: string }>;
  /** Lets the held request through to the IdP (whether or not its caller is still there). */
  release(): void;
}

/**
 * An HTTP proxy in front of a simulated IdP that can hold one request back:
 * the IdP call of an outbox action is "in flight" for as long as the test
 * wants (to SIGKILL Warden meanwhile). A released request still reaches the
 * IdP even when the caller is gone, as a request that reached Okta would
 * still be applied there.
 */
export class StallingProxy {
  #server: http.Server | undefined;
  #url = '';
  /** Every request that went through: method, path, when it arrived and when it was answered (performance.now()). */
  readonly requests: ProxiedRequest[] = [];
  #stall:
    | { match: (method: string, path: string) => boolean; arrive: (r: { method: string; path: string }) => void; released: Promise<void>; taken: boolean }
    | undefined;

  constructor(private readonly target: string) {}

  get url(): string {
    return this.#url;
  }

  async start(): Promise<this> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Holds back the next request `match` accepts. */
  stallNext(match: (method: string, path: string) => boolean): Stall {
    let arrive!: (r: { method: string; path: string }) => void;
    let release!: () => void;
    const arrived = new Promise<{ method: string; path: string }>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#stall = { match, arrive, released, taken: false };
    return { arrived, release };
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const entry: ProxiedRequest = { method, path, start: performance.now() };
    this.requests.push(entry);
    res.once('close', () => (entry.end = performance.now()));
    const stall = this.#stall;
    if (stall && !stall.taken && stall.match(method, path)) {
      stall.taken = true;
      stall.arrive({ method, path });
      await stall.released;
    }
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    try {
      const upstream = await fetch(this.target + (req.url ?? '/'), {
        method,
        headers: headers as Record<string, string>,
        ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (res.destroyed) return;
      const out: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (k !== 'content-encoding' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'content-length') out[k] = v;
      });
      entry.status = upstream.status;
      const reset = upstream.headers.get('x-rate-limit-reset');
      if (reset !== null) entry.rateLimitReset = Number(reset);
      res.writeHead(upstream.status, out).end(body);
    } catch {
      entry.status = 502;
      if (!res.destroyed) res.writeHead(502).end();
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.#server) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
