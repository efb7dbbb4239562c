import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { connectors } from '../../connectors/index.js';
import { loadConfig } from '../../src/config/load-config.js';
import { compilePolicy } from '../../src/core/policy/compile-policy.js';
import { readFileSync } from 'node:fs';
import { packageRoot } from '../../src/package-root.js';
import { ROUTES } from '../../src/server/create-app.js';
import { build, listedFiles, type K8sObject } from './kustomize.js';

/**
 * infra/kubernetes: the base and every overlay resolve (test/infra/kustomize.ts
 * does what kustomize would for the features they use), every object is valid
 * against the Kubernetes OpenAPI schemas (the `kubernetes-models` package, and
 * `@kubernetes-models/prometheus-operator` for the ServiceMonitor) with no
 * field the schema does not know, the pieces point at each other and at
 * Warden's real routes, secrets are only referenced, and each overlay's
 * warden.yaml and policies load with Warden's own loader and compiler.
 */

const ROOT = packageRoot();
const K8S = path.join(ROOT, 'infra', 'kubernetes');
const BASE = path.join(K8S, 'base');
const OVERLAYS = readdirSync(path.join(K8S, 'overlays')).map((o) => path.join(K8S, 'overlays', o));

interface Model {
  new (data: unknown): { validate(): void };
  prototype: { validate(this: unknown): void };
}

/** The model class of an object's apiVersion and kind. */
async function modelOf(o: K8sObject): Promise<Model> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const module =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${o.apiVersion}/${o.kind}`
      : `kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`;
  const mod = (await import(module)) as Record<string, Model>;
  const model = mod[o.kind];
  if (!model) throw new Error(`no model for ${o.apiVersion} ${o.kind}`);
  return model;
}

/**
 * Fields the schema does not know (kubectl's strict field validation refuses
 * them; the models' validators ignore them): the validator reads every field
 * its schema defines, so a field it never read is unknown.
 */
function unknownFields(model: Model, o: K8sObject): string[] {
  const read = new Set<string>();
  const wrap = (v: unknown, at: string): unknown =>
    v && typeof v === 'object'
      ? new Proxy(v, {
          get(target, key, receiver) {
            if (typeof key === 'string') read.add(`${at}/${key}`);
            return wrap(Reflect.get(target, key, receiver), typeof key === 'string' ? `${at}/${key}` : at);
          },
          ownKeys(target) {
            for (const key of Reflect.ownKeys(target)) if (typeof key === 'string') read.add(`${at}/${key}`);
            return Reflect.ownKeys(target);
          },
        })
      : v;
  model.prototype.validate.call(wrap(structuredClone(o), ''));
  const unknown: string[] = [];
  const walk = (v: unknown, at: string) => {
    if (!v || typeof v !== 'object') return;
    for (const [key, child] of Object.entries(v)) {
      if (!read.has(`${at}/${key}`)) unknown.push(`${at}/${key}`);
      else walk(child, `${at}/${key}`);
    }
  };
  walk(o, '');
  return unknown;
}

function one<T extends K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as T;
}

function subset(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  envFrom?: Array<{ secretRef?: { name: string } }>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  startupProbe?: { httpGet: { path: string; port: string } };
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
type Deployment = K8sObject & {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
        containers: Container[];
        volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>;
      };
    };
  };
};

const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

describe.each([BASE, ...OVERLAYS].map((dir) => [path.relative(K8S, dir), dir]))('infra/kubernetes/%s', (_name, dir) => {
  const objects = build(dir);

  it('lists every manifest in its directory in kustomization.yaml', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect(
      listedFiles(dir)
        .map((f) => path.basename(f))
        .sort(),
    ).toEqual(files.sort());
  });

  it('holds only objects valid against the Kubernetes schemas, with no unknown field', async () => {
    expect(objects.length).toBeGreaterThanOrEqual(7);
    for (const o of objects) {
      const model = await modelOf(o);
      expect(() => new model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
      expect(unknownFields(model, o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    }
  });

  it('runs Warden on PostgreSQL, probed on its real routes, its pieces pointing at each other', () => {
    const deployment = one<Deployment>(objects, 'Deployment');
    const pod = deployment.spec.template;
    const podLabels = pod.metadata.labels;
    expect(subset(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    const [container] = pod.spec.containers;
    expect(container!.args).toEqual(['serve']);
    const routes = new Set(ROUTES.filter((r) => r.method === 'get').map((r) => r.path));
    expect(container!.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container!.livenessProbe.httpGet.path).toBe('/healthz');
    for (const probe of [container!.readinessProbe, container!.livenessProbe, container!.startupProbe!]) {
      expect(routes.has(probe.httpGet.path), probe.httpGet.path).toBe(true);
      expect(container!.ports.map((p) => p.name)).toContain(probe.httpGet.port);
    }
    const dbUrl = container!.env?.find((e) => e.name === 'DATABASE_URL');
    expect(dbUrl?.valueFrom?.secretKeyRef).toBeDefined();

    const service = one<K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ name: string; targetPort: string }> } }>(objects, 'Service');
    expect(subset(service.spec.selector, podLabels)).toBe(true);
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
    const pdb = one<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(objects, 'PodDisruptionBudget');
    expect(subset(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    const netpol = one<K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> } } }>(objects, 'NetworkPolicy');
    expect(subset(netpol.spec.podSelector.matchLabels, podLabels)).toBe(true);
    const hpa = one<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } }>(
      objects,
      'HorizontalPodAutoscaler',
    );
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    const monitor = one<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> } }>(
      objects,
      'ServiceMonitor',
    );
    expect(subset(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    expect(routes.has('/metrics')).toBe(true);
  });

  it('runs non-root on a read-only root filesystem', () => {
    const pod = one<Deployment>(objects, 'Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(pod.containers[0]!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it('references secrets and never inlines one', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const container = one<Deployment>(objects, 'Deployment').spec.template.spec.containers[0]!;
    for (const e of container.env ?? []) if (/SECRET|TOKEN|PASSWORD|KEY|DATABASE_URL|CREDENTIAL/i.test(e.name)) expect(e.value, e.name).toBeUndefined();
    expect(container.envFrom?.every((f) => f.secretRef)).toBe(true);
  });
});

describe.each(OVERLAYS.map((dir) => [path.relative(K8S, dir), dir]))('infra/kubernetes/%s configuration', (_name, dir) => {
  const objects = build(dir);

  it('puts every object in the overlay namespace', () => {
    const namespaces = new Set(objects.map((o) => o.metadata.namespace));
    expect(namespaces.size).toBe(1);
    expect([...namespaces][0]).toMatch(/^warden/);
  });

  it('mounts a warden.yaml that Warden loads, on PostgreSQL, with secrets as references only, and policies that compile', () => {
    const deployment = one<Deployment>(objects, 'Deployment');
    const container = deployment.spec.template.spec.containers[0]!;
    const configVolume = deployment.spec.template.spec.volumes.find((v) => v.configMap);
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === configVolume?.configMap?.name) as
      | (K8sObject & { data: Record<string, string> })
      | undefined;
    expect(configMap, 'the ConfigMap the Deployment mounts').toBeDefined();
    const mount = container.volumeMounts.find((m) => m.name === configVolume!.name)!;
    expect(mount.readOnly).toBe(true);
    const configEnv = container.env?.find((e) => e.name === 'WARDEN_CONFIG')?.value;
    expect(path.posix.dirname(configEnv!)).toBe(mount.mountPath);

    const files = mkdtempSync(path.join(tmpdir(), 'warden-k8s-'));
    scratch.push(files);
    mkdirSync(files, { recursive: true });
    for (const [key, text] of Object.entries(configMap!.data)) writeFileSync(path.join(files, key), text);
    // The pod's environment: literal values as written; a Secret's value stands in as a placeholder URL.
    const podEnv = Object.fromEntries(
      (container.env ?? []).map((e) => [e.name, e.value ?? `postgres://from-secret.invalid/${e.valueFrom!.secretKeyRef!.key}`]),
    );
    const config = loadConfig({ path: path.join(files, path.posix.basename(configEnv!)), env: podEnv, resolveSecrets: false, connectors: connectors });
    expect(config.store.driver).toBe('postgres');
    expect(config.listen).toEqual({ host: '0.0.0.0', port: container.ports[0]!.containerPort });
    for (const tenant of config.tenants) {
      expect(() => compilePolicy({ file: tenant.policyFile, text: readFileSync(tenant.policyFile, 'utf8') }), tenant.id).not.toThrow();
      // Each secret is an { env } or { file } reference, and no literal env of the pod supplies it.
      for (const [name, ref] of Object.entries(tenant.secretRefs)) {
        expect(typeof ref, `${tenant.id}.${name}`).toBe('object');
        const envName = (ref as { env?: string }).env;
        if (envName) expect(container.env?.find((e) => e.name === envName)?.value, envName).toBeUndefined();
      }
    }
    const raw = parse(configMap!.data[path.posix.basename(configEnv!)]!) as { database: { url: unknown } };
    expect(raw.database.url).toEqual({ env: 'DATABASE_URL' });
  });
});
