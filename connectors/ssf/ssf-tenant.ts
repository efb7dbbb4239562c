import { createTenantSections, type ResolvedTenant, type Secret, type WardenConfig } from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';
import { loadSigningKey, type LoadedKey } from './signing-keys.js';
import { resolveSsfSecret, ssfSection, type SsfReceiverEntry, type SsfTenantConfig, type SsfTransmitterConfig, type SsfTransmitterPeer } from './ssf-config.js';

/** A receiver of Warden's SETs, with its token read. */
export interface ReceiverRuntime extends SsfReceiverEntry {
  tokenSecret: Secret;
}

/** Warden's transmitter for one tenant, with keys imported. */
export interface TransmitterRuntime {
  tenant: string;
  config: SsfTransmitterConfig;
  keys: LoadedKey[];
  receivers: ReceiverRuntime[];
}

/** A transmitter Warden receives from, with its secrets read. */
export interface PeerRuntime extends SsfTransmitterPeer {
  pushAuthorization?: Secret;
  pollToken?: Secret;
}

/** One tenant's ssf section at run time. */
export interface SsfTenant {
  id: string;
  config: SsfTenantConfig;
  transmitter: Promise<TransmitterRuntime> | undefined;
  peers: PeerRuntime[];
}

function build(config: WardenConfig, tenant: ResolvedTenant, section: SsfTenantConfig): SsfTenant {
  const t = section.transmitter;
  let transmitter: Promise<TransmitterRuntime> | undefined;
  if (t) {
    const expected = `/ssf/${tenant.id}`;
    if (new URL(t.issuer).pathname.replace(/\/$/, '') !== expected)
      throw new WardenError(
        'ERR_CONFIG_INVALID',
        `${config.file}: tenants[${tenant.id}].ssf.transmitter.issuer must be Warden's public URL followed by ${expected} (got ${t.issuer})`,
      );
    const receivers = t.receivers.map((r, i) => ({ ...r, tokenSecret: resolveSsfSecret(r.token, tenant, config, `transmitter.receivers[${i}].token`) }));
    const secrets = t.signingKeys.map((k, i) => ({
      ...k,
      privateKey: resolveSsfSecret(k.privateKey, tenant, config, `transmitter.signingKeys[${i}].privateKey`),
    }));
    transmitter = Promise.all(secrets.map((k, i) => loadSigningKey(k, tenant.id, i))).then((keys) => ({ tenant: tenant.id, config: t, keys, receivers }));
    // Surfaced where the promise is awaited; this keeps an early rejection from being reported as unhandled.
    transmitter.catch(() => undefined);
  }
  const peers = (section.receiver?.transmitters ?? []).map((p, i) => ({
    ...p,
    ...(p.push ? { pushAuthorization: resolveSsfSecret(p.push.authorization, tenant, config, `receiver.transmitters[${i}].push.authorization`) } : {}),
    ...(p.poll ? { pollToken: resolveSsfSecret(p.poll.token, tenant, config, `receiver.transmitters[${i}].poll.token`) } : {}),
  }));
  return { id: tenant.id, config: section, transmitter, peers };
}

/** Every tenant with an ssf section, built once per loaded configuration. */
export class SsfTenants {
  readonly #sections = createTenantSections(ssfSection, build);

  /** The tenant's runtime, or undefined when the tenant is unknown or has no ssf section. */
  find(config: WardenConfig, id: string): SsfTenant | undefined {
    return this.#sections.find(config, id);
  }

  /**
   * The tenant's transmitter.
   *
   * @throws WardenError `ERR_TENANT_UNKNOWN` (404) when the tenant has no ssf transmitter
   */
  async transmitter(config: WardenConfig, id: string): Promise<TransmitterRuntime> {
    const t = this.find(config, id)?.transmitter;
    if (!t) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant "${id}" has no ssf.transmitter`);
    return t;
  }

  /** Ids of the tenants with an ssf section. */
  ids(config: WardenConfig): string[] {
    return config.tenants.filter((t) => ssfSection(t)).map((t) => t.id);
  }
}
