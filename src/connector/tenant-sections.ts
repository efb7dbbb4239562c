import path from 'node:path';
import { WardenError } from '../core/errors.js';
import type { SecretRef } from '../config/config-schema.js';
import { resolveSecret, type ResolvedTenant, type Secret, type WardenConfig } from '../config/load-config.js';

/**
 * A secret a connector's section names: the name of one of the tenant's
 * secrets (resolved at start by the server; resolved here from its reference
 * when the CLI loaded the config without secrets), or a reference written in
 * place. `section` and `where` name the setting in errors (`okta.auth.token`).
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when it cannot be read
 */
export function resolveSectionSecret(
  section: string,
  input: string | SecretRef,
  tenant: ResolvedTenant,
  config: WardenConfig,
  where: string,
  env: NodeJS.ProcessEnv = process.env,
): Secret {
  const baseDir = path.dirname(config.file);
  if (typeof input === 'string') {
    const resolved = tenant.secrets[input];
    if (resolved) return resolved;
    const ref = tenant.secretRefs[input];
    if (!ref)
      throw new WardenError(
        'ERR_CONFIG_INVALID',
        `${config.file}: tenant ${tenant.id} ${section}.${where} names secret "${input}", which is not in the tenant's secrets`,
      );
    return resolveSecret(ref, env, `${config.file}: tenant ${tenant.id} secret ${input}`, baseDir);
  }
  return resolveSecret(input, env, `${config.file}: tenant ${tenant.id} ${section}.${where}`, baseDir);
}

/**
 * A connector's runtime per tenant, built once per loaded configuration from
 * the tenant's section (a reloaded configuration builds anew).
 */
export interface TenantSections<T> {
  /** The tenant's runtime, or undefined when the tenant is unknown or has no section. */
  find(config: WardenConfig, id: string): T | undefined;
}

/** @param sectionOf the connector's section of a tenant; @param build the runtime of a tenant from its section */
export function createTenantSections<S, T>(
  sectionOf: (tenant: ResolvedTenant) => S | undefined,
  build: (config: WardenConfig, tenant: ResolvedTenant, section: S) => T,
): TenantSections<T> {
  const byConfig = new WeakMap<WardenConfig, Map<string, T>>();
  return {
    find(config, id) {
      let map = byConfig.get(config);
      if (!map) {
        map = new Map();
        byConfig.set(config, map);
      }
      const known = map.get(id);
      if (known) return known;
      const tenant = config.tenants.find((t) => t.id === id);
      const section = tenant ? sectionOf(tenant) : undefined;
      if (!tenant || !section) return undefined;
      const built = build(config, tenant, section);
      map.set(id, built);
      return built;
    },
  };
}
