import { readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { isWardenError, WardenError } from '../core/errors.js';
import { compilePolicy, formatPolicyIssue, type CompiledPolicy, type PolicyIssue } from '../core/policy/compile-policy.js';

/** What a reload did for one tenant. */
export type ReloadResult =
  | { tenant: string; status: 'loaded'; policy: CompiledPolicy; previous?: string }
  | { tenant: string; status: 'unchanged'; policy: CompiledPolicy }
  | { tenant: string; status: 'rejected'; issues: PolicyIssue[]; message: string; kept?: string };

/** Reads and compiles a tenant's policy file; the file must name the same tenant. */
export function loadPolicyFile(tenant: string, file: string): CompiledPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WardenError('ERR_POLICY_INVALID', `${file}: cannot read the policy file: ${(err as Error).message}`, {
      details: { file, issues: [{ file, line: 1, column: 1, message: `cannot read: ${(err as Error).message}`, kind: 'yaml', path: '' }] },
    });
  }
  const policy = compilePolicy({ file, text });
  if (policy.tenant !== tenant) {
    const issue: PolicyIssue = {
      file,
      line: 1,
      column: 1,
      message: `the policy is for tenant "${policy.tenant}", but it is configured for tenant "${tenant}"`,
      kind: 'schema',
      path: 'tenant',
    };
    throw new WardenError('ERR_POLICY_INVALID', formatPolicyIssue(issue), { details: { file, issues: [issue] } });
  }
  return policy;
}

/** What the console shows of a tenant's policy: the one in force, and how the last reload went. */
export interface PolicyStatus {
  tenant: string;
  file: string;
  version: string;
  mode: CompiledPolicy['mode'];
  rules: number;
  /** When the policy in force was loaded (ISO 8601), when the registry was given a clock. */
  loadedAt?: string;
  /** The last reload (file change or SIGHUP), if there was one. */
  lastReload?: { at?: string; status: ReloadResult['status']; message?: string; issues?: PolicyIssue[] };
}

/**
 * The live policy of every tenant. A reload compiles the file again and
 * swaps it in only if it is valid: a server never trades a good policy for a
 * bad one. Watches the files (and is told about SIGHUP by the server).
 */
export class PolicyRegistry {
  readonly #policies = new Map<string, CompiledPolicy>();
  readonly #files: ReadonlyMap<string, string>;
  readonly #watchers: FSWatcher[] = [];
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #clock: (() => Date) | undefined;
  readonly #loadedAt = new Map<string, string>();
  readonly #lastReload = new Map<string, NonNullable<PolicyStatus['lastReload']>>();

  /**
   * Loads every tenant's policy; all must be valid to start.
   *
   * `clock` (the server's) dates loads and reloads for {@link status}.
   *
   * @throws WardenError `ERR_POLICY_INVALID` listing every problem of every file
   */
  constructor(tenants: ReadonlyArray<{ id: string; policyFile: string }>, clock?: () => Date) {
    this.#clock = clock;
    this.#files = new Map(tenants.map((t) => [t.id, t.policyFile]));
    const problems: WardenError[] = [];
    for (const t of tenants) {
      try {
        this.#policies.set(t.id, loadPolicyFile(t.id, t.policyFile));
        if (clock) this.#loadedAt.set(t.id, clock().toISOString());
      } catch (err) {
        if (!isWardenError(err, 'ERR_POLICY_INVALID')) throw err;
        problems.push(err);
      }
    }
    if (problems.length === 1) throw problems[0];
    if (problems.length > 1)
      throw new WardenError('ERR_POLICY_INVALID', problems.map((p) => p.message).join('\n'), {
        details: { issues: problems.flatMap((p) => (p.details as { issues: PolicyIssue[] }).issues) },
      });
  }

  tenants(): string[] {
    return [...this.#files.keys()];
  }

  has(tenant: string): boolean {
    return this.#files.has(tenant);
  }

  /**
   * The tenant's current policy.
   * @throws WardenError `ERR_TENANT_UNKNOWN`
   */
  get(tenant: string): CompiledPolicy {
    const policy = this.#policies.get(tenant);
    if (!policy) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${tenant}"`);
    return policy;
  }

  /** The tenant's policy in force and its last reload. @throws WardenError `ERR_TENANT_UNKNOWN` */
  status(tenant: string): PolicyStatus {
    const policy = this.get(tenant);
    const loadedAt = this.#loadedAt.get(tenant);
    const lastReload = this.#lastReload.get(tenant);
    return {
      tenant,
      file: policy.file,
      version: policy.version,
      mode: policy.mode,
      rules: policy.rules.length,
      ...(loadedAt ? { loadedAt } : {}),
      ...(lastReload ? { lastReload } : {}),
    };
  }

  /** Compiles the tenant's file again; swaps it in only when valid. */
  reload(tenant: string): ReloadResult {
    const result = this.#reload(tenant);
    const at = this.#clock?.().toISOString();
    this.#lastReload.set(tenant, {
      ...(at ? { at } : {}),
      status: result.status,
      ...(result.status === 'rejected' ? { message: result.message, issues: result.issues } : {}),
    });
    if (result.status === 'loaded' && at) this.#loadedAt.set(tenant, at);
    return result;
  }

  #reload(tenant: string): ReloadResult {
    const file = this.#files.get(tenant);
    if (!file) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${tenant}"`);
    const current = this.#policies.get(tenant);
    try {
      const next = loadPolicyFile(tenant, file);
      if (current && next.version === current.version) return { tenant, status: 'unchanged', policy: current };
      this.#policies.set(tenant, next);
      return { tenant, status: 'loaded', policy: next, ...(current ? { previous: current.version } : {}) };
    } catch (err) {
      if (!isWardenError(err, 'ERR_POLICY_INVALID')) throw err;
      const issues = (err.details as { issues?: PolicyIssue[] } | undefined)?.issues ?? [];
      return { tenant, status: 'rejected', issues, message: err.message, ...(current ? { kept: current.version } : {}) };
    }
  }

  /** Reloads every tenant. */
  reloadAll(): ReloadResult[] {
    return this.tenants().map((t) => this.reload(t));
  }

  /**
   * Reloads a tenant when its file changes. Watches the directory, not the
   * file, so editors that save by rename are seen; changes are debounced.
   */
  watch(onReload: (result: ReloadResult) => void, debounceMs = 150): void {
    const byDir = new Map<string, Map<string, string>>();
    for (const [tenant, file] of this.#files) {
      const dir = path.dirname(file);
      if (!byDir.has(dir)) byDir.set(dir, new Map());
      byDir.get(dir)!.set(path.basename(file), tenant);
    }
    for (const [dir, names] of byDir) {
      const watcher = watch(dir, (_event, filename) => {
        const tenant = filename ? names.get(filename.toString()) : undefined;
        if (!tenant) return;
        clearTimeout(this.#timers.get(tenant));
        this.#timers.set(
          tenant,
          setTimeout(() => {
            this.#timers.delete(tenant);
            onReload(this.reload(tenant));
          }, debounceMs),
        );
      });
      watcher.on('error', () => undefined);
      this.#watchers.push(watcher);
    }
  }

  close(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
