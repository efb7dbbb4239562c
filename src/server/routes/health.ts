import type { Router } from 'express';
import type { Store } from '../../store/store.js';
import type { ApiKeyVerifier } from '../../access/api-keys.js';
import type { RouteDoc } from '../openapi.js';
import type { PolicyRegistry } from '../../config/policy-registry.js';

export const healthRoutes: RouteDoc[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness', tags: ['operations'], responses: { 200: { description: 'Alive', schema: 'HealthResponse' } } },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness',
    description:
      'Ready when the store answers, every bundled migration is applied and every tenant has a policy loaded. Where the store is (driver, host, user, database) and why it failed are shown only to a caller with a valid Warden API key (`Authorization: Bearer wdn_…`, any tenant, any scope).',
    tags: ['operations'],
    responses: { 200: { description: 'Ready', schema: 'ReadyResponse' }, 503: { description: 'Not ready', schema: 'ReadyResponse' } },
  },
];

/** GET /healthz (liveness) and GET /readyz (readiness). */
export function mountHealth(
  router: Router,
  deps: { store: Store; policies: PolicyRegistry; expectedMigrations: readonly number[]; keys: ApiKeyVerifier },
): void {
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    const store = await deps.store.ping().then(
      () => ({ ok: true, detail: `${deps.store.driver} at ${deps.store.location}` }),
      (err: Error) => ({ ok: false, detail: `store unreachable: ${err.message}` }),
    );
    // Probes need only the status; the store's host, user and database (and errors naming them) are for operators.
    const authorization = req.get('authorization');
    const operator =
      store.ok &&
      authorization !== undefined &&
      (await deps.keys.verify(authorization).then(
        () => true,
        () => false,
      ));
    if (!operator) store.detail = store.ok ? 'reachable' : 'unreachable';
    let migrations = { ok: false, detail: 'unknown' };
    if (store.ok) {
      const applied = new Set(await deps.store.migrations().catch(() => [] as number[]));
      const missing = deps.expectedMigrations.filter((v) => !applied.has(v));
      migrations = missing.length ? { ok: false, detail: `missing migrations ${missing.join(', ')}` } : { ok: true, detail: `${applied.size} applied` };
    }
    const tenants = deps.policies.tenants();
    const versions = tenants.map((t) => {
      try {
        return `${t}@${deps.policies.get(t).version}`;
      } catch {
        return undefined;
      }
    });
    const policies = versions.every(Boolean) ? { ok: true, detail: versions.join(', ') } : { ok: false, detail: 'a tenant has no policy loaded' };
    const ready = store.ok && migrations.ok && policies.ok;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: { store, migrations, policies } });
  });
}
