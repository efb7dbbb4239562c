import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * The part of kustomize that infra/kubernetes uses, for
 * test/infra/kubernetes.test.ts (no kubectl on the CI machine): `resources`
 * (files, or directories holding a kustomization.yaml), `namespace`, and
 * `patches` given as inline JSON 6902 operations with a `{kind, name}`
 * target. A kustomization with any other field is refused, so the manifests
 * cannot grow a feature this resolution would silently skip.
 */

/** A Kubernetes object as read from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  namespace?: string;
  patches?: Array<{ target: { kind: string; name: string }; patch: string }>;
}

const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'patches']);

/** Objects of the cluster scope; everything else Warden ships is namespaced. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass']);

/** The resource files a kustomization lists (directories excluded), as absolute paths. */
export function listedFiles(dir: string): string[] {
  const k = readKustomization(dir);
  return (k.resources ?? []).map((r) => path.resolve(dir, r)).filter((p) => statSync(p).isFile());
}

function readKustomization(dir: string): Kustomization {
  const file = path.join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as Kustomization;
  for (const key of Object.keys(k)) if (!KNOWN.has(key)) throw new Error(`${file}: ${key} is not supported by this test's kustomize`);
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization')
    throw new Error(`${file}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  return k;
}

function pointer(p: string): string[] {
  if (!p.startsWith('/')) throw new Error(`JSON pointer ${p} must start with /`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 add, replace and remove on a plain JSON value. */
export function applyJsonPatch(doc: unknown, ops: Array<{ op: string; path: string; value?: unknown }>): void {
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop()!;
    let parent: unknown = doc;
    for (const part of parts) {
      parent = Array.isArray(parent) ? parent[Number(part)] : (parent as Record<string, unknown> | undefined)?.[part];
      if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`${op.op} ${op.path}: ${part} does not exist`);
    }
    const exists = Array.isArray(parent) ? Number(last) < parent.length : Object.hasOwn(parent as object, last);
    if (op.op === 'add') {
      if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
      else (parent as Record<string, unknown>)[last] = op.value;
    } else if (op.op === 'replace' || op.op === 'remove') {
      if (!exists) throw new Error(`${op.op} ${op.path}: the target does not exist`);
      if (Array.isArray(parent)) parent.splice(Number(last), 1, ...(op.op === 'replace' ? [op.value] : []));
      else if (op.op === 'replace') (parent as Record<string, unknown>)[last] = op.value;
      else delete (parent as Record<string, unknown>)[last];
    } else throw new Error(`JSON patch op ${op.op} is not supported by this test's kustomize`);
  }
}

/** `kustomize build dir`, for the features above. */
export function build(dir: string): K8sObject[] {
  const k = readKustomization(dir);
  const objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (statSync(p).isDirectory()) objects.push(...build(p));
    else
      for (const doc of parseAllDocuments(readFileSync(p, 'utf8'))) {
        if (doc.errors.length) throw new Error(`${p}: ${doc.errors[0]!.message}`);
        const o = doc.toJSON() as K8sObject | null;
        if (o) objects.push(o);
      }
  }
  for (const { target, patch } of k.patches ?? []) {
    const matches = objects.filter((o) => o.kind === target.kind && o.metadata.name === target.name);
    if (matches.length === 0) throw new Error(`${dir}: patch target ${target.kind}/${target.name} matches nothing`);
    for (const o of matches) applyJsonPatch(o, parse(patch) as Array<{ op: string; path: string; value?: unknown }>);
  }
  if (k.namespace) for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  const ids = objects.map((o) => `${o.apiVersion.split('/')[0]} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) throw new Error(`${dir}: ${duplicate} is defined twice`);
  return objects;
}
