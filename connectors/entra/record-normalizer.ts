import { systemClock } from '../../src/core/clock.js';
import type { RecordNormalizer } from '../../src/connector/index.js';
import type { DirectoryView } from '../../src/core/directory-snapshot.js';
import { enrichFromSnapshot } from './enrich-change.js';
import { normalizeDirectoryAudit, type NormalizeResult } from './normalize-directory-audit.js';
import { normalizeManagementActivity } from './normalize-management-activity.js';
import { field, isRecord } from './vendor-record.js';

/**
 * The record formats the Entra connector reads, for replays and backtests
 * (the `records` port): Graph `directoryAudit`s, Azure Monitor exports of
 * Entra logs (audit and sign-in), and Office 365 Management Activity records.
 */

/** Which format a record is, if it is one of ours. */
export function recordFormat(record: unknown): 'directoryAudit' | 'azureMonitor' | 'managementActivity' | undefined {
  if (!isRecord(record)) return undefined;
  if (
    typeof field(record, 'activityDisplayName') === 'string' &&
    field(record, 'loggedByService') !== undefined &&
    field(record, 'activityDateTime') !== undefined
  )
    return 'directoryAudit';
  if (
    field(record, 'category') !== undefined &&
    field(record, 'operationName') !== undefined &&
    (field(record, 'properties') !== undefined || field(record, 'resourceId') !== undefined || field(record, 'tenantId') !== undefined)
  )
    return 'azureMonitor';
  if (
    field(record, 'CreationTime') !== undefined &&
    field(record, 'Operation') !== undefined &&
    (field(record, 'Workload') !== undefined || field(record, 'RecordType') !== undefined)
  )
    return 'managementActivity';
  return undefined;
}

/**
 * Normalizes any of the connector's record formats (no IdP calls). With the
 * Entra directory of a snapshot, help-desk roles and enrichment are applied as
 * the inbox handler applies them with the live directory (Microsoft 365
 * records too: live, they are enriched from Entra).
 */
export function normalizeEntraRecord(record: unknown, tenant: string, observedAt: Date = systemClock(), directory?: DirectoryView): NormalizeResult {
  const helpdeskRoles = directory ? new Set(directory.helpdesk.roles) : undefined;
  let result: NormalizeResult;
  switch (recordFormat(record)) {
    case 'directoryAudit':
    case 'azureMonitor':
      result = normalizeDirectoryAudit(record, { tenant, via: 'poll', observedAt, ...(helpdeskRoles ? { helpdeskRoles } : {}) });
      break;
    case 'managementActivity':
      result = normalizeManagementActivity(record, { tenant, via: 'poll', observedAt });
      break;
    default:
      return { ignored: 'not an Entra or Office 365 record' };
  }
  if (!directory || !helpdeskRoles || 'ignored' in result) return result;
  return { changes: result.changes.map((c) => enrichFromSnapshot(c, directory, helpdeskRoles)) };
}

/** The `records` port of the Entra connector. */
export const entraRecordNormalizer: RecordNormalizer = {
  recognizes: (record) => recordFormat(record) !== undefined,
  normalize: (record, tenant, observedAt, snapshot) => normalizeEntraRecord(record, tenant, observedAt, snapshot?.directory('entra')),
};
