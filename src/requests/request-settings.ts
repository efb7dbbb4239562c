import type { ResolvedTenant, WardenConfig } from '../config/load-config.js';
import { workflowDefaults, type WorkflowConfig } from '../config/workflow-config-schema.js';
import { WardenError } from '../core/errors.js';
import type { ProofingLevel } from '../core/proofing.js';
import { parseDuration } from '../core/policy/duration.js';

/** A tenant's workflow settings with durations in milliseconds. */
export interface WorkflowSettings {
  tenant: string;
  requestTtlMs: number;
  openForMs: number;
  evidenceTtlMs: number;
  minFactorAgeDays: number;
  callbackNumberMinAgeMs: number;
  raise: { mailboxRulesWithinMs: number; phoneChangedWithinMs: number; untrustedDevice: boolean; atLeast: ProofingLevel };
  breakGlass: { enabled: boolean; ttlMs: number; reviewWithinMs: number; minReasonLength: number };
  serviceIdentities: WorkflowConfig['serviceIdentities'];
  brokerIdentities: string[];
  verifiers: WorkflowConfig['verifiers'];
  maxExceptionLifetimeMs: number;
}

const ms = (d: string) => parseDuration(d) * 1000;

/** The settings of one tenant (defaults where the config says nothing). */
export function settingsOf(tenant: ResolvedTenant): WorkflowSettings {
  const w = tenant.workflow ?? workflowDefaults();
  return {
    tenant: tenant.id,
    requestTtlMs: ms(w.requestTtl),
    openForMs: ms(w.openFor),
    evidenceTtlMs: ms(w.proofing.evidenceTtl),
    minFactorAgeDays: w.proofing.minFactorAgeDays,
    callbackNumberMinAgeMs: ms(w.proofing.callbackNumberMinAge),
    raise: {
      mailboxRulesWithinMs: ms(w.proofing.raise.mailboxRulesWithin),
      phoneChangedWithinMs: ms(w.proofing.raise.phoneChangedWithin),
      untrustedDevice: w.proofing.raise.untrustedDevice,
      atLeast: w.proofing.raise.atLeast,
    },
    breakGlass: {
      enabled: w.breakGlass.enabled,
      ttlMs: ms(w.breakGlass.ttl),
      reviewWithinMs: ms(w.breakGlass.reviewWithin),
      minReasonLength: w.breakGlass.minReasonLength,
    },
    serviceIdentities: w.serviceIdentities,
    brokerIdentities: w.brokerIdentities,
    verifiers: w.verifiers,
    maxExceptionLifetimeMs: ms(w.maxExceptionLifetime),
  };
}

/** Looks a tenant up in the config. @throws WardenError `ERR_TENANT_UNKNOWN` */
export function tenantOf(config: Pick<WardenConfig, 'tenants'>, tenant: string): ResolvedTenant {
  const t = config.tenants.find((x) => x.id === tenant);
  if (!t) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${tenant}"`);
  return t;
}
