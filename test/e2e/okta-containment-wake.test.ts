import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOktaWorkflowServer, type OktaWorkflowServer } from '../helpers/okta-workflow-server.js';

const HOUR_MS = 3_600_000;

/**
 * Time to containment (issue 16): a change the inbox worker decides to hold
 * must reach Okta at once, not at the outbox's next idle tick. The server runs
 * its own workers with an idle interval of an hour, so only a wake can make
 * the hold happen within the test; the fake clock never moves.
 */
describe('containment: the inbox worker wakes the outbox', () => {
  let w: OktaWorkflowServer;
  let soar: Server;
  const delivered: Array<{ type: string; data: Record<string, any> }> = [];
  beforeAll(async () => {
    // A SOAR endpoint subscribed to hold.placed: the decision's event must reach it without the webhook worker's tick too.
    soar = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        delivered.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => soar.listen(0, '127.0.0.1', resolve));
    const port = (soar.address() as AddressInfo).port;
    w = await startOktaWorkflowServer({
      workerIdleMs: HOUR_MS,
      secrets: { soarKey: `whsec_${randomBytes(32).toString('base64')}` },
      tenantYaml: `    webhooks:\n      - { name: soar, url: "http://127.0.0.1:${port}/hook", secret: soarKey, events: [hold.placed] }\n`,
    });
  });
  afterAll(async () => {
    await w?.close();
    await new Promise((resolve) => soar?.close(resolve));
  });

  /** Resolves when `condition` holds; rejects after `deadlineMs` (bounds a hang, never decides the outcome of a working build). */
  const until = (condition: () => boolean, deadlineMs: number) =>
    new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => {
        clearInterval(poll);
        reject(new Error(`not within ${deadlineMs} ms`));
      }, deadlineMs);
      const poll = setInterval(() => {
        if (!condition()) return;
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      }, 5);
    });

  it('a held reset delivered by the event hook puts the user in the hold group and clears her sessions without waiting for the tick', async () => {
    const eve = w.people.eve.id;
    const before = w.clock.now.getTime();
    const event = w.sim.adminResetFactors(w.people.tom.id, eve);
    await w.sim.settled();
    await until(() => w.sim.groupNames(eve).includes('Warden Hold') && w.sim.users.get(eve)!.sessions === 0, 20_000);
    expect(w.sim.requests.some((r) => r.method === 'PUT' && /^\/api\/v1\/groups\/[^/]+\/users\//.test(r.path))).toBe(true);
    expect(w.sim.requests.some((r) => r.method === 'DELETE' && r.path === `/api/v1/users/${eve}/sessions`)).toBe(true);
    expect(w.clock.now.getTime()).toBe(before);
    const decision = (await w.audit()).find(
      (r) => r.type === 'decision.recorded' && (r.data.change?.source?.eventIds as string[] | undefined)?.includes(event.uuid),
    );
    expect(decision?.data).toMatchObject({ outcome: 'hold', actions: [{ kind: 'hold_group' }, { kind: 'revoke_sessions' }, { kind: 'remove_new_factor' }] });
    await until(() => delivered.length > 0, 20_000);
    expect(delivered).toEqual([expect.objectContaining({ type: 'hold.placed', data: expect.objectContaining({ decisionId: decision?.subject.decisionId }) })]);
  }, 60_000);
});
