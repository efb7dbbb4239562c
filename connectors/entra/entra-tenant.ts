import { systemClock } from '../../src/core/clock.js';
import path from 'node:path';
import type { TokenCredential } from '@azure/identity';
import { resolveSecret, type Secret, type WardenConfig } from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';
import { createClientStateCheck, type ClientStateCheck } from './client-state.js';
import { EntraTenantConfig } from './entra-config.js';
import { createEntraDirectory, type EntraDirectory } from './entra-directory.js';
import { createCredential, createEntraSession, type EntraSession } from './graph-session.js';
import { endpointsFor } from './national-clouds.js';

/**
 * One Warden tenant's Entra side: its parsed `entra` section, resolved
 * secrets, Graph session, directory (cached look-ups) and who Warden acts as
 * there. Built once per tenant and configuration, by the server or by a CLI
 * command.
 */
export interface EntraTenant {
  /** Warden's tenant id (`tenants[].id`). */
  readonly id: string;
  readonly config: EntraTenantConfig;
  readonly clientState: Secret | undefined;
  readonly session: EntraSession;
  readonly directory: EntraDirectory;
  /** Who Warden acts as in Entra (app ids, service principal ids, user ids): the own-change service matches the actor of a reported change against them. */
  readonly identities: ReadonlySet<string>;
  readonly helpdeskRoles: ReadonlySet<string>;
  /** The notification receivers' clientState check, when a clientState is configured. */
  readonly clientStateCheck: ClientStateCheck | undefined;
  /** The lifecycle URL: configured, else the notification URL's `/notifications` replaced by `/lifecycle`. */
  readonly lifecycleNotificationUrl: string | undefined;
}

/**
 * A tenant's Entra side from its parsed section and resolved secrets.
 * @param credential the credential, or a factory for it (the session takes a new one when Graph refuses a token)
 */
export function createEntraTenant(
  id: string,
  config: EntraTenantConfig,
  clientState: Secret | undefined,
  credential: TokenCredential | (() => TokenCredential),
  clock: () => Date,
): EntraTenant {
  const session = createEntraSession(config, credential);
  const s = config.subscription;
  return {
    id,
    config,
    clientState,
    session,
    directory: createEntraDirectory(session, config.directoryCacheSeconds, clock),
    identities: new Set([config.clientId, ...config.serviceIdentity.appIds, ...config.serviceIdentity.servicePrincipalIds, ...config.serviceIdentity.userIds]),
    helpdeskRoles: new Set(config.helpdeskRoles),
    clientStateCheck: clientState ? createClientStateCheck(clientState) : undefined,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl ?? s.notificationUrl?.replace(/\/notifications(\?|$)/, '/lifecycle$1'),
  };
}

/** The `entra` section of a configured tenant, parsed (the config loader validated it already). */
export function entraSectionOf(config: WardenConfig, tenant: string): EntraTenantConfig | undefined {
  const section = config.tenants.find((t) => t.id === tenant)?.connectors.entra;
  return section === undefined ? undefined : EntraTenantConfig.parse(section);
}

/**
 * Builds a tenant's Entra side, resolving its secret references from the
 * environment (or files, relative to the config file).
 * @throws WardenError `ERR_TENANT_UNKNOWN` (no such tenant or no `entra` section), `ERR_CONFIG_INVALID` (a secret is missing)
 */
export function openEntraTenant(config: WardenConfig, tenant: string, options: { env?: NodeJS.ProcessEnv; clock?: () => Date } = {}): EntraTenant {
  const section = entraSectionOf(config, tenant);
  if (!config.tenants.some((t) => t.id === tenant)) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant "${tenant}" is not in ${config.file}`);
  if (!section) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant "${tenant}" has no entra section in ${config.file}`);
  const env = options.env ?? process.env;
  const baseDir = path.dirname(config.file);
  const where = (key: string) => `${config.file}: tenant ${tenant} entra.${key}`;
  const secrets = {
    ...(section.credential.secret ? { clientSecret: resolveSecret(section.credential.secret, env, where('credential.secret'), baseDir) } : {}),
    ...(section.credential.certificate ? { certificate: resolveSecret(section.credential.certificate, env, where('credential.certificate'), baseDir) } : {}),
  };
  if (secrets.certificate && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(secrets.certificate.reveal()))
    throw new WardenError('ERR_CONFIG_INVALID', `${where('credential.certificate')}: not a PEM holding a private key and the certificate`);
  let clientState: Secret | undefined;
  if (section.subscription.clientState) {
    clientState = resolveSecret(section.subscription.clientState, env, where('subscription.clientState'), baseDir);
    const length = clientState.reveal().length;
    if (length < 16 || length > 128)
      throw new WardenError('ERR_CONFIG_INVALID', `${where('subscription.clientState')}: use 16 to 128 characters (Graph allows at most 128)`);
  }
  const endpoints = endpointsFor(section);
  return createEntraTenant(tenant, section, clientState, () => createCredential(section, endpoints, secrets), options.clock ?? systemClock);
}
