import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/package-root.js';

/**
 * directoryAudit records for activities Microsoft publishes no JSON example
 * of, built from the shape of Microsoft's own example
 * (test/fixtures/entra/graph/graph-directoryaudits-list-filter-initiatedby.json):
 * only fields that record has are set, with values from Microsoft's
 * audit-activity reference (activity names, services, categories) and the
 * `resultReason` texts its security-operations guide quotes.
 */

const FIXTURES = path.join(packageRoot(), 'test', 'fixtures', 'entra');

export function entraFixture<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, relative), 'utf8')) as T;
}

type Audit = Record<string, unknown> & { initiatedBy: Record<string, unknown>; targetResources: Array<Record<string, unknown>> };

export interface AuditInput {
  activity: string;
  service: string;
  category?: string;
  resultReason?: string;
  result?: string;
  operationType?: string;
  at?: string;
  id?: string;
  correlationId?: string;
  /** A person (default) or an app initiated it. */
  actor?:
    | { user: { id: string; upn?: string; displayName?: string; ip?: string } }
    | { app: { appId: string; displayName?: string; servicePrincipalId?: string } };
  target?: {
    id: string;
    upn?: string;
    displayName?: string;
    type?: string;
    modifiedProperties?: Array<{ displayName: string; oldValue: string | null; newValue: string | null }>;
  };
  extraTargets?: Array<{ id: string; displayName?: string; type: string }>;
  additionalDetails?: Array<{ key: string; value: string }>;
}

/** A directoryAudit built from Microsoft's example record. */
export function directoryAudit(input: AuditInput): Audit {
  const base = entraFixture<{ value: Audit[] }>('graph/graph-directoryaudits-list-filter-initiatedby.json').value[0]!;
  const record = structuredClone(base);
  const correlationId = input.correlationId ?? '0b7dba55-2f50-4c3e-8a1f-6a1d5f3b9c10';
  record.id = input.id ?? `${input.service === 'Core Directory' ? 'Directory' : input.service}_${correlationId}_ABCDE_12345678`;
  record.category = input.category ?? 'UserManagement';
  record.correlationId = correlationId;
  record.result = input.result ?? 'success';
  record.resultReason = input.resultReason ?? '';
  record.activityDisplayName = input.activity;
  record.activityDateTime = input.at ?? '2026-11-25T09:58:41.1234567Z';
  record.loggedByService = input.service;
  record.operationType = input.operationType ?? 'Add';
  const actor = input.actor ?? {
    user: { id: 'a1f0c1de-0000-4000-8000-00000000ad01', upn: 'pat.admin@contoso.example', displayName: 'Pat Admin', ip: '203.0.113.7' },
  };
  const template = base.initiatedBy.user as Record<string, unknown>;
  record.initiatedBy =
    'user' in actor
      ? {
          app: null,
          user: {
            ...template,
            id: actor.user.id,
            displayName: actor.user.displayName ?? null,
            userPrincipalName: actor.user.upn ?? null,
            ipAddress: actor.user.ip ?? null,
          },
        }
      : {
          user: null,
          app: {
            appId: actor.app.appId,
            displayName: actor.app.displayName ?? null,
            servicePrincipalId: actor.app.servicePrincipalId ?? null,
            servicePrincipalName: null,
          },
        };
  const targetTemplate = base.targetResources[0]!;
  const target = input.target ?? { id: 'b2c0d2ef-0000-4000-8000-0000000000b1', upn: 'alice@contoso.example', displayName: 'Alice Example' };
  record.targetResources = [
    {
      ...targetTemplate,
      id: target.id,
      displayName: target.displayName ?? null,
      type: target.type ?? 'User',
      userPrincipalName: target.upn ?? null,
      modifiedProperties: target.modifiedProperties ?? [],
    },
    ...(input.extraTargets ?? []).map((t) => ({
      ...targetTemplate,
      id: t.id,
      displayName: t.displayName ?? null,
      type: t.type,
      userPrincipalName: null,
      modifiedProperties: [],
    })),
  ];
  record.additionalDetails = input.additionalDetails ?? [];
  return record;
}
