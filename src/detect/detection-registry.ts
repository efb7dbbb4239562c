import type { ResolvedTenant } from '../config/load-config.js';
import { DETECTION_DEFAULTS } from '../config/config-schema.js';
import { parseDuration } from '../core/policy/duration.js';
import { compileRulePack, type CompiledDetectionRule, type CompiledRulePack } from './compile-rule-pack.js';
import { DetectionEngine } from './detection-engine.js';
import { IdentityResolver, NO_IDENTITY_CONFIG } from './identity-keys.js';
import { readRuleSources, shippedRuleSources } from './rule-sources.js';

/** One tenant's detection: its compiled rules, identity keys and settings. */
export interface TenantDetection {
  tenant: string;
  engine: DetectionEngine;
  rules: ReadonlyMap<string, CompiledDetectionRule>;
  /** Default allowed lateness (rules may set their own). */
  latenessMs: number;
  /** A source silent for this long (by the clock) stops holding windows open. */
  idleAfterMs: number;
  groupForMs: number;
  /** How long after its last update an open alert is shown to policy. */
  inPolicyForMs: number;
}

/** The settings of a tenant without a config (replay without --tenant). */
export const DEFAULT_SETTINGS = Object.freeze({
  latenessMs: parseDuration(DETECTION_DEFAULTS.allowedLateness) * 1000,
  idleAfterMs: parseDuration(DETECTION_DEFAULTS.sourceIdleAfter) * 1000,
  groupForMs: parseDuration(DETECTION_DEFAULTS.groupFor) * 1000,
  inPolicyForMs: parseDuration(DETECTION_DEFAULTS.inPolicyFor) * 1000,
});

/** The shipped pack merged with a tenant's rule file or directory (if any). */
export function tenantRulePack(rulesPath: string | undefined): CompiledRulePack {
  return compileRulePack(shippedRuleSources(), rulesPath ? readRuleSources(rulesPath) : []);
}

/** Builds one tenant's detection from its config section. */
export function tenantDetection(tenant: Pick<ResolvedTenant, 'id' | 'detection'>, shared?: CompiledRulePack): TenantDetection {
  const d = tenant.detection;
  const pack = d.rules ? tenantRulePack(d.rules) : (shared ?? tenantRulePack(undefined));
  return {
    tenant: tenant.id,
    engine: new DetectionEngine(pack, new IdentityResolver(d.identities ?? NO_IDENTITY_CONFIG)),
    rules: new Map(pack.rules.map((r) => [r.id, r])),
    latenessMs: d.allowedLatenessMs,
    idleAfterMs: d.sourceIdleAfterMs,
    groupForMs: d.groupForMs,
    inPolicyForMs: d.inPolicyForMs,
  };
}

/**
 * Detection per tenant, compiled once at start: the shipped pack, with each
 * tenant's overrides. Tenants with detection turned off are absent.
 *
 * @throws WardenError `ERR_RULES_INVALID` (file:line:column) or `ERR_CONFIG_INVALID` (unreadable rules path)
 */
export class DetectionRegistry {
  readonly #tenants = new Map<string, TenantDetection>();

  constructor(tenants: readonly Pick<ResolvedTenant, 'id' | 'detection'>[]) {
    let shared: CompiledRulePack | undefined;
    for (const t of tenants) {
      if (!t.detection.enabled) continue;
      if (!t.detection.rules) shared ??= tenantRulePack(undefined);
      this.#tenants.set(t.id, tenantDetection(t, shared));
    }
  }

  get(tenant: string): TenantDetection | undefined {
    return this.#tenants.get(tenant);
  }

  tenants(): string[] {
    return [...this.#tenants.keys()];
  }
}
