import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * Malformed requests are the client's error: each answers a 4xx problem with
 * its code, never 500 ERR_INTERNAL (which also logs as a fault of ours).
 */

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const problem = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { code: string }).code });
/** `{"a":{"a":…}}` nested `depth` deep, built as text (building it as an object and stringifying it would overflow here). */
const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('client errors on express routes', () => {
  it('a body that is not the gzip its Content-Encoding says: 400 ERR_BODY_MALFORMED', async () => {
    const res = await fetch(`${app.url}/v1/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: JSON.stringify({ tenant: 'acme' }),
    });
    expect(await problem(res)).toEqual({ status: 400, code: 'ERR_BODY_MALFORMED' });
  });

  it('bad percent-encoding in a path parameter: 400 ERR_VALIDATION', async () => {
    const res = await fetch(`${app.url}/v1/alerts/%E0%A4%A`, { headers: { authorization: `Bearer ${app.key}` } });
    expect(await problem(res)).toEqual({ status: 400, code: 'ERR_VALIDATION' });
  });

  it('a body nested 10,000 deep: 400 ERR_BODY_MALFORMED', async () => {
    const res = await fetch(`${app.url}/v1/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/json' },
      body: `{"tenant":"acme","change":${nested(10_000)}}`,
    });
    expect(await problem(res)).toEqual({ status: 400, code: 'ERR_BODY_MALFORMED' });
  });
});
