import type { Client } from '@okta/okta-sdk-nodejs';
import { createTenantSections, type ResolvedTenant, type Secret, type WardenConfig } from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';
import { oktaSection, resolveOktaSecret, type OktaTenantConfig } from './okta-config.js';

/**
 * One configured Okta tenant at run time: its parsed section, its secrets
 * (read once), and an okta-sdk-nodejs client built from them.
 */
export interface OktaTenant {
  id: string;
  config: OktaTenantConfig;
  eventHookSecret: Secret;
  inlineHookSecret: Secret | undefined;
  /** The SDK client (the SDK is loaded and the client built on first use). */
  client(): Promise<Client>;
}

/**
 * Builds the SDK client for a tenant. Everything is passed explicitly (the
 * SDK would otherwise also read `~/.okta/okta.yaml` and `OKTA_CLIENT_*`),
 * its GET cache is off (Warden has its own short cache), and its own 429
 * retries are off: the outbox and the poller retry, honouring
 * `X-Rate-Limit-Reset`.
 *
 * https://github.com/okta/okta-sdk-nodejs#configuration
 */
export async function createOktaClient(config: OktaTenantConfig, credential: Secret): Promise<Client> {
  // Loaded on first use: the SDK takes about a second to import, which every `warden` command would pay otherwise.
  const { Client, DefaultRequestExecutor } = await import('@okta/okta-sdk-nodejs');
  const requestExecutor = new DefaultRequestExecutor({ maxRetries: 0, requestTimeout: config.requestTimeoutMs });
  const common = { orgUrl: config.orgUrl, cacheMiddleware: null, requestExecutor, userAgent: 'warden' };
  if (config.auth.type === 'api_token')
    return new Client({ ...common, authorizationMode: 'SSWS', token: credential.reveal() } as ConstructorParameters<typeof Client>[0]);
  return new Client({
    ...common,
    authorizationMode: 'PrivateKey',
    clientId: config.auth.clientId,
    scopes: config.auth.scopes,
    privateKey: credential.reveal(),
    ...(config.auth.keyId ? { keyId: config.auth.keyId } : {}),
  } as ConstructorParameters<typeof Client>[0]);
}

/** Every tenant with an okta section, built once per loaded configuration. */
export interface OktaTenants {
  /** The tenant's runtime, or undefined when the tenant is unknown or has no okta section. */
  find(config: WardenConfig, id: string): OktaTenant | undefined;
  /**
   * The tenant's runtime.
   * @throws WardenError `ERR_TENANT_UNKNOWN` when the tenant is not configured, `ERR_CONFIG_INVALID` when it has no okta section
   */
  get(config: WardenConfig, id: string): OktaTenant;
  /** Ids of the tenants with an okta section. */
  ids(config: WardenConfig): string[];
}

export function createOktaTenants(): OktaTenants {
  const sections = createTenantSections(oktaSection, buildTenant);

  const tenants: OktaTenants = {
    /** The tenant's runtime, or undefined when the tenant is unknown or has no okta section. */
    find(config: WardenConfig, id: string): OktaTenant | undefined {
      return sections.find(config, id);
    },
    /**
     * @throws WardenError `ERR_TENANT_UNKNOWN` when the tenant is not configured, `ERR_CONFIG_INVALID` when it has no okta section
     */
    get(config: WardenConfig, id: string): OktaTenant {
      const found = tenants.find(config, id);
      if (found) return found;
      if (!config.tenants.some((t) => t.id === id)) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant "${id}" is not in ${config.file}`);
      throw new WardenError('ERR_CONFIG_INVALID', `tenant "${id}" has no okta section in ${config.file}`);
    },
    /** Ids of the tenants with an okta section. */
    ids(config: WardenConfig): string[] {
      return config.tenants.filter((t) => oktaSection(t)).map((t) => t.id);
    },
  };
  return tenants;
}

function buildTenant(config: WardenConfig, tenant: ResolvedTenant, section: OktaTenantConfig): OktaTenant {
  const eventHookSecret = resolveOktaSecret(section.eventHook.secret, tenant, config, 'eventHook.secret');
  const inlineHookSecret = section.inlineHooks?.secret ? resolveOktaSecret(section.inlineHooks.secret, tenant, config, 'inlineHooks.secret') : undefined;
  let client: Promise<Client> | undefined;
  return {
    id: tenant.id,
    config: section,
    eventHookSecret,
    inlineHookSecret,
    client() {
      if (!client) {
        const credential = resolveOktaSecret(
          section.auth.type === 'api_token' ? section.auth.token : section.auth.privateKey,
          tenant,
          config,
          section.auth.type === 'api_token' ? 'auth.token' : 'auth.privateKey',
        );
        client = createOktaClient(section, credential);
        client.catch(() => {
          client = undefined;
        });
      }
      return client;
    },
  };
}
