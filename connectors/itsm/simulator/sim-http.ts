import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../../src/connector/index.js';

/** A vendor payload from test/fixtures/itsm (copied from the shared fixture set, PROVENANCE.md there), parsed afresh. */
export function itsmFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'itsm', name), 'utf8')) as T;
}

export interface SimRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface SimAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The user and password of a `Basic` authorization header, or undefined. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const at = text.indexOf(':');
  return at < 0 ? undefined : { user: text.slice(0, at), password: text.slice(at + 1) };
}

/** Serves `handle` on 127.0.0.1 (`port` 0: an ephemeral one); JSON answers. */
export async function serveJson(handle: (req: SimRequest) => SimAnswer | Promise<SimAnswer>, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let answer: SimAnswer;
        try {
          answer = await handle({
            method: req.method ?? 'GET',
            url: new URL(req.url ?? '/', 'http://127.0.0.1'),
            headers: req.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        } catch (err) {
          answer = { status: 500, body: { error: { message: (err as Error).message } } };
        }
        const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
        res.writeHead(answer.status, {
          ...(text ? { 'content-type': 'application/json;charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) } : {}),
          ...answer.headers,
        });
        res.end(text);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Parses a JSON body; undefined when it is not JSON. */
export function jsonBody(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
