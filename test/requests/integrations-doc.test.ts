import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { startWorkflowServer, type WorkflowServer } from '../helpers/workflow-server.js';

/**
 * docs/integrations.md shows calls from Okta Workflows and ServiceNow with
 * Warden's answers. This test runs every example, in order, against a real
 * Warden and checks the answer the page shows: status, the headers shown, and
 * the body shown (a subset of the real one; `{{name}}` captures a value on its
 * first appearance and must equal it afterwards).
 */
interface Exchange {
  name: string;
  request: { method: string; path: string; headers: Record<string, string>; body?: string };
  response: { status: number; headers: Record<string, string>; body?: unknown };
}

function blocks(markdown: string): Exchange[] {
  const fence = (kind: 'example' | 'response', name: string) => {
    const at = markdown.indexOf(`<!-- ${kind}: ${name} -->`);
    const m = /```http\n([\s\S]*?)\n```/.exec(markdown.slice(at));
    if (at < 0 || !m) throw new Error(`docs/integrations.md: no ${kind} block for ${name}`);
    return m[1]!;
  };
  const split = (text: string) => {
    const [head, ...rest] = text.split('\n\n');
    const [first, ...headerLines] = head!.split('\n');
    const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    return { first: first!, headers, body: rest.join('\n\n').trim() || undefined };
  };
  return [...markdown.matchAll(/<!-- example: ([a-z0-9-]+) -->/g)].map(([, name]) => {
    const req = split(fence('example', name!));
    const res = split(fence('response', name!));
    const [method, p] = req.first.split(' ');
    return {
      name: name!,
      request: { method: method!, path: p!, headers: req.headers, ...(req.body ? { body: req.body } : {}) },
      response: { status: Number(res.first.split(' ')[1]), headers: res.headers, ...(res.body ? { body: JSON.parse(res.body) } : {}) },
    };
  });
}

/** `expected` is a subset of `actual`; `{{var}}` strings capture or compare. */
function expectSubset(expected: unknown, actual: unknown, vars: Map<string, unknown>, where: string): void {
  if (typeof expected === 'string') {
    const v = /^\{\{(\w+)\}\}$/.exec(expected)?.[1];
    if (v) {
      if (vars.has(v)) expect(actual, where).toEqual(vars.get(v));
      else {
        expect(actual, where).toBeDefined();
        vars.set(v, actual);
      }
      return;
    }
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), where).toBe(true);
    expected.forEach((e, i) => {
      expectSubset(e, (actual as unknown[])[i], vars, `${where}[${i}]`);
    });
    return;
  }
  if (expected && typeof expected === 'object') {
    expect(actual && typeof actual === 'object', where).toBe(true);
    for (const [k, e] of Object.entries(expected)) expectSubset(e, (actual as Record<string, unknown>)[k], vars, `${where}.${k}`);
    return;
  }
  expect(actual, where).toEqual(expected);
}

const fill = (text: string, vars: Map<string, unknown>) => text.replace(/\{\{(\w+)\}\}/g, (_, v: string) => String(vars.get(v)));

describe('docs/integrations.md examples', () => {
  let w: WorkflowServer;
  const vars = new Map<string, unknown>();
  const exchanges = blocks(readFileSync(path.join(packageRoot(), 'docs', 'integrations.md'), 'utf8'));

  beforeAll(async () => {
    w = await startWorkflowServer();
    vars.set('apiKey', await w.apiKey(['requests:write', 'requests:execute']));
    w.ticket('INC0010002');
    w.ticket('INC0000050');
  });
  afterAll(() => w?.close());

  it('has the examples the page promises', () => {
    expect(exchanges.map((e) => e.name)).toEqual([
      'okta-workflows-create',
      'okta-workflows-push',
      'okta-workflows-poll',
      'servicenow-create',
      'servicenow-retry',
      'servicenow-callback',
      'servicenow-cancel',
      'servicenow-refused',
    ]);
  });

  for (const exchange of exchanges)
    it(`${exchange.name}: ${exchange.request.method} ${exchange.request.path} answers as shown`, async () => {
      // The user accepts the push the flow sent (what happens on their phone).
      if (exchange.name === 'okta-workflows-poll') w.okta.pushAnswers.set(String(vars.get('transactionId')), 'success');
      const headers = Object.fromEntries(Object.entries(exchange.request.headers).map(([k, v]) => [k, fill(v, vars)]));
      const res = await fetch(`${w.server.url}${fill(exchange.request.path, vars)}`, {
        method: exchange.request.method,
        headers,
        ...(exchange.request.body ? { body: fill(exchange.request.body, vars) } : {}),
      });
      const text = await res.text();
      expect(res.status, text).toBe(exchange.response.status);
      for (const [name, value] of Object.entries(exchange.response.headers)) expect(res.headers.get(name), name).toBe(value);
      if (exchange.response.body !== undefined) expectSubset(exchange.response.body, JSON.parse(text), vars, 'body');
    });
});
