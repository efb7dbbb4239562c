/**
 * What change-request matching costs a decision. `decideChange` on the same
 * store, one decision at a time, three ways in the same run:
 *
 *   baseline    the decision as before the workflow (no request lookup)
 *   no request  with the workflow: exceptions and approved requests of the
 *               target looked up (and locked) in the decision's transaction;
 *               none found (the common case of a change nobody asked for)
 *   match       with the workflow, and an approved request covers each change:
 *               looked up, judged, consumed (state, audit record binding
 *               evidence and approvals to the event, outbound event)
 *
 *   npm run bench:matching
 *   WARDEN_BENCH_DECISIONS=500 WARDEN_BENCH_STORES=pglite-relaxed,postgres npm run bench:matching
 *
 * Stores: the embedded store (PGlite, in memory) and PostgreSQL when
 * WARDEN_BENCH_DATABASE_URL or WARDEN_TEST_DATABASE_URL is set or one listens
 * on 127.0.0.1:5432. Each round runs the three in rotated order; figures are
 * medians over rounds.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { defaultDetection, type ResolvedTenant } from '../src/config/load-config.js';
import type { ChangeRequest } from '../src/core/change-request.js';
import { completeChange, type IdentityChange } from '../src/core/identity-change.js';
import { uuidv7 } from '../src/core/ids.js';
import { decideChange, type DecideDeps } from '../src/engine/decide-change.js';
import { WebhookRoutes } from '../src/notify/webhook-routes.js';
import { loadPolicyFile } from '../src/config/policy-registry.js';
import { openPgliteStore } from '../src/store/pglite-store.js';
import { openPostgresStore } from '../src/store/postgres-store.js';
import type { Store } from '../src/store/store.js';
import { decisionWorkflow } from '../src/requests/match-change-request.js';
import { WorkflowContext } from '../src/requests/request-context.js';
import { formatNs, formatRatio, machineLine, median, table } from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POLICY = path.join(ROOT, 'examples/policies/acme.yaml');
const DECISIONS = Number(process.env.WARDEN_BENCH_DECISIONS ?? 300);
const ROUNDS = Math.max(3, Number(process.env.WARDEN_BENCH_ROUNDS ?? 3));
const DEFAULT_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

type Mode = 'baseline' | 'no request' | 'match';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 500 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

/** A help-desk reset of `target` by the agent, at `at`. */
function change(target: string, at: Date): IdentityChange {
  return completeChange(
    {
      kind: 'factor.reset_all',
      channel: 'helpdesk',
      target: {
        id: target,
        login: `${target}@acme.example`,
        groups: ['Everyone'],
        adminRoles: [],
        flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
        attributes: {},
      },
      actor: {
        id: '00u-agent',
        login: 'agent@acme.example',
        type: 'user',
        groups: ['Service Desk'],
        adminRoles: [],
        flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
        attributes: {},
      },
      source: { idp: 'okta', eventIds: [`evt-${target}-${at.getTime()}`], rawType: 'user.mfa.factor.reset_all', via: 'hook' },
      context: {},
    },
    'acme',
    at,
  );
}

/** An approved request that the example policy accepts for a reset of `target` by the agent. */
async function approvedRequest(store: Store, target: string, at: Date): Promise<void> {
  const iso = (ms: number) => new Date(at.getTime() + ms).toISOString();
  const id = uuidv7(at.getTime());
  const request: ChangeRequest = {
    id,
    tenant: 'acme',
    state: 'approved',
    kind: 'factor.reset_all',
    changeChannel: 'helpdesk',
    target: {
      id: target,
      login: `${target}@acme.example`,
      groups: ['Everyone'],
      adminRoles: [],
      flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
      attributes: {},
    },
    requester: { id: target },
    executor: { id: '00u-agent', login: 'agent@acme.example', type: 'user' },
    justification: { ticket: { system: 'servicenow', id: 'INC0010002' } },
    contact: { channel: 'phone' },
    context: {},
    broker: false,
    options: {},
    needs: {
      proofing: 'callback',
      raisedBy: [],
      ticket: { system: 'servicenow', states: ['In Progress'] },
      approvals: { count: 1, from: ['group:iam-approvers'] },
      ttlSeconds: 3600,
      rules: ['assisted-reset-standard'],
      policyVersion: 'bench',
    },
    createdBy: { type: 'api_key', id: 'bench' },
    createdAt: iso(-600_000),
    updatedAt: iso(-60_000),
    approvedAt: iso(-60_000),
    expiresAt: iso(3_540_000),
    proofing: { level: 'callback', method: 'callback', verifiedAt: iso(-300_000), evidenceId: uuidv7() },
    ticket: { system: 'servicenow', id: 'INC0010002', state: 'In Progress', valid: true, problems: [] },
    proofingAttempts: [],
  };
  await store.putRequest(request);
  await store.putApproval({
    tenant: 'acme',
    requestId: id,
    approverId: '00u-approver',
    names: [],
    verdict: 'approve',
    at: iso(-60_000),
    groups: ['iam-approvers'],
    roles: [],
    amr: ['mfa'],
  });
}

async function run(storeName: string, store: Store): Promise<string[][]> {
  await store.ensureTenants(['acme']);
  const policy = loadPolicyFile('acme', POLICY);
  const policies = { get: () => policy };
  const tenant: ResolvedTenant = { id: 'acme', policyFile: POLICY, secrets: {}, secretRefs: {}, connectors: {}, webhooks: [], detection: defaultDetection() };
  let now = new Date('2026-06-01T09:00:00Z');
  const clock = () => now;
  const ctx = new WorkflowContext({
    store,
    policies,
    config: { tenants: [tenant] },
    routes: new WebhookRoutes([tenant]),
    ports: { directory: () => undefined, proofer: () => undefined, broker: () => undefined, tickets: () => undefined },
    connectorContext: () => {
      throw new Error('not used');
    },
    clock,
  });
  const deps: Record<Mode, DecideDeps> = {
    baseline: { store, policies, clock },
    'no request': { store, policies, clock, workflow: decisionWorkflow(ctx) },
    match: { store, policies, clock, workflow: decisionWorkflow(ctx) },
  };
  let n = 0;
  const once = async (mode: Mode, count: number): Promise<number> => {
    const targets = Array.from({ length: count }, () => `u${++n}`);
    if (mode === 'match') for (const t of targets) await approvedRequest(store, t, now);
    const started = process.hrtime.bigint();
    for (const t of targets) {
      now = new Date(now.getTime() + 1000);
      const result = await decideChange(deps[mode], { change: change(t, now), actor: { type: 'idp', id: 'okta' }, observed: true });
      const want = mode === 'match' ? 'allow' : 'hold';
      if (result.decision.outcome !== want)
        throw new Error(`${mode}: ${result.decision.outcome}, want ${want}: ${result.decision.rules.map((r) => r.reason).join('; ')}`);
    }
    return Number(process.hrtime.bigint() - started) / count;
  };
  const modes: Mode[] = ['baseline', 'no request', 'match'];
  for (const m of modes) await once(m, Math.max(20, DECISIONS / 10));
  const perMode: Record<Mode, number[]> = { baseline: [], 'no request': [], match: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = modes.map((_, i) => modes[(i + round) % modes.length]!);
    for (const m of order) perMode[m].push(await once(m, DECISIONS));
  }
  const base = median(perMode.baseline);
  return modes.map((m) => [storeName, m, formatNs(median(perMode[m])), formatRatio(median(perMode[m]) / base)]);
}

async function main(): Promise<void> {
  const wanted = (process.env.WARDEN_BENCH_STORES ?? 'pglite,postgres').split(',');
  const rows: string[][] = [];
  if (wanted.includes('pglite')) {
    const store = await openPgliteStore();
    try {
      rows.push(...(await run('pglite (memory)', store)));
    } finally {
      await store.close();
    }
  }
  const url =
    process.env.WARDEN_BENCH_DATABASE_URL ?? process.env.WARDEN_TEST_DATABASE_URL ?? ((await reachable('127.0.0.1', 5432)) ? DEFAULT_POSTGRES : undefined);
  if (wanted.includes('postgres') && url) {
    const schema = `warden_bench_${randomBytes(4).toString('hex')}`;
    const store = await openPostgresStore({ url, schema, poolSize: 4 });
    try {
      rows.push(...(await run('postgres', store)));
    } finally {
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  } else if (wanted.includes('postgres')) console.log('(no PostgreSQL reachable: postgres skipped)');
  console.log(`Change-request matching in decideChange: ${DECISIONS} sequential decisions per round, median of ${ROUNDS} rounds`);
  console.log(machineLine());
  console.log(table(['store', 'decision', 'time per decision', 'vs baseline'], rows));
}

await main();
