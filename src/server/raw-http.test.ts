import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { createLogger } from '../runtime/logger.js';
import { readJsonBody, writeEmpty, writeJson } from '../connector/raw-http.js';
import { writeRawProblem } from './raw-problem.js';

/**
 * Body reading and response writing for raw routes, on a real node:http
 * server: every way a body is refused, with its status and code, and the
 * response shapes the express routes give.
 */
describe('raw route I/O', () => {
  const LIMIT = 64;
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const strict = req.url === '/strict';
      readJsonBody(req, LIMIT, { requireJsonType: strict }).then(
        (body) => (req.url === '/empty' ? writeEmpty(res, 202) : writeJson(res, 200, { got: body })),
        (err: unknown) => writeRawProblem(res, err, createLogger('silent'), req.url ?? '/'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** A POST over its own connection, with the body in the given chunks and no content-length when `chunked`. */
  const send = (path: string, chunks: string[], headers: Record<string, string | number> = {}) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = http.request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      });
      req.on('error', reject);
      for (const c of chunks) req.write(c);
      req.end();
    });
  const code = (r: { text: string }) => (JSON.parse(r.text) as { code: string }).code;

  it('parses a JSON body sent in one piece or in several', async () => {
    const one = await send('/', ['{"a":[1,2]}']);
    expect([one.status, one.headers['content-type'], JSON.parse(one.text)]).toEqual([200, 'application/json; charset=utf-8', { got: { a: [1, 2] } }]);
    const pieces = await send('/', ['{"a":', '"é"', '}']);
    expect(JSON.parse(pieces.text)).toEqual({ got: { a: 'é' } });
  });

  it('answers an empty body with content-length 0', async () => {
    const res = await send('/empty', ['{}']);
    expect([res.status, res.headers['content-length'], res.text]).toEqual([202, '0', '']);
  });

  it('refuses a body whose declared length is over the limit (413) without reading it', async () => {
    const res = await send('/', ['{}'], { 'content-length': LIMIT + 1 });
    expect([res.status, res.headers['content-type'], code(res)]).toEqual([413, 'application/problem+json; charset=utf-8', 'ERR_BODY_TOO_LARGE']);
  });

  it('refuses a streamed body (no content-length) once it passes the limit (413)', async () => {
    const res = await send('/', ['{"a":"', 'x'.repeat(40), 'x'.repeat(40), '"}'], { 'transfer-encoding': 'chunked' });
    expect([res.status, code(res)]).toEqual([413, 'ERR_BODY_TOO_LARGE']);
  });

  it('accepts a body of exactly the limit', async () => {
    const body = `{"a":"${'x'.repeat(LIMIT - 8)}"}`;
    expect(body.length).toBe(LIMIT);
    expect((await send('/', [body])).status).toBe(200);
  });

  it('refuses a body that is not JSON (400), whatever its content type', async () => {
    expect(code(await send('/', ['{"a":']))).toBe('ERR_BODY_MALFORMED');
    const plain = await send('/', ['not json'], { 'content-type': 'text/plain' });
    expect([plain.status, code(plain)]).toEqual([400, 'ERR_BODY_MALFORMED']);
    expect(code(await send('/', []))).toBe('ERR_BODY_MALFORMED');
  });

  it('with requireJsonType, refuses other media types and charsets (415) and accepts JSON and +json in UTF-8', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', '']) {
      const res = await send('/strict', ['{}'], { 'content-type': type });
      expect([type, res.status, code(res)]).toEqual([type, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE']);
    }
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON; charset="UTF-8"', 'application/merge-patch+json'])
      expect([type, (await send('/strict', ['{}'], { 'content-type': type })).status]).toEqual([type, 200]);
  });

  it('cuts off a response already started rather than appending a problem to it', async () => {
    const res = {
      headersSent: true,
      destroyed: false,
      destroy() {
        this.destroyed = true;
      },
    };
    writeRawProblem(res as unknown as http.ServerResponse, new WardenError('ERR_VALIDATION', 'late'), createLogger('silent'), '/');
    expect(res.destroyed).toBe(true);
  });
});
