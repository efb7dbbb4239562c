import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { CreateRequestBody, TenantBody } from '../../src/requests/request-api-schemas.js';

/**
 * What the guides tell a new user to send is what the API takes. Each case here is a place where a
 * first-hour user followed the docs and got a 400 or an unexpected code.
 */
const doc = (f: string) => readFileSync(path.join(packageRoot(), f), 'utf8');
const section = (text: string, heading: string) => {
  const at = text.indexOf(heading);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const next = text.indexOf('\n#', at + heading.length);
  return text.slice(at, next < 0 ? undefined : next);
};
const filing = {
  tenant: 'acme',
  kind: 'password.reset',
  target: { id: '00u1dana0lee' },
  requester: { id: '00u1dana0lee' },
  contact: { channel: 'phone' },
};

describe('the docs agree with the API', () => {
  it('broker options (sendEmail) are given when filing, never on /execute', () => {
    expect(TenantBody.safeParse({ tenant: 'acme', sendEmail: false }).success).toBe(false);
    expect(CreateRequestBody.safeParse({ ...filing, justification: { incident: 'INC0042' }, broker: true, options: { sendEmail: false } }).success).toBe(true);
    for (const f of ['docs/okta.md', 'docs/workflow.md'])
      for (const m of doc(f).matchAll(/sendEmail: false/g)) expect(doc(f).slice(Math.max(0, m.index - 20), m.index), f).toContain('"options"');
  });

  it('break-glass needs a justification besides its reason, and the guide says so', () => {
    const reasonOnly = CreateRequestBody.safeParse({ ...filing, breakGlass: { reason: 'the CEO is locked out before the board call' } });
    expect(reasonOnly.success).toBe(false);
    expect(reasonOnly.error?.issues.map((i) => i.path.join('.'))).toContain('justification');
    expect(
      CreateRequestBody.safeParse({ ...filing, justification: { incident: 'INC0042' }, breakGlass: { reason: 'the CEO is locked out before the board call' } })
        .success,
    ).toBe(true);
    expect(section(doc('docs/workflow.md'), '## Break-glass')).toMatch(/`justification`/);
  });

  it('names both answers to a second approval: duplicate while pending, illegal transition once approved', () => {
    const sod = doc('docs/workflow.md');
    expect(sod).toMatch(/\| approving a second time while the request still waits[^\n]*ERR_DUPLICATE_APPROVAL/);
    expect(sod).toMatch(/\| approving again after your approval completed the request[^\n]*ERR_ILLEGAL_TRANSITION/);
  });

  it('the README lists each npm script once', () => {
    const scripts = [...section(doc('README.md'), '## Developing').matchAll(/^npm run ([\w:-]+)/gm)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(3);
    expect(scripts.filter((s, i) => scripts.indexOf(s) !== i)).toEqual([]);
  });
});
