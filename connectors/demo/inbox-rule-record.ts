import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/connector/index.js';

/** Top-level keys of the Office 365 Management Activity schema, which the Panther corpus lower-cased. */
const CASING: Record<string, string> = {
  clientip: 'ClientIP',
  creationtime: 'CreationTime',
  externalaccess: 'ExternalAccess',
  id: 'Id',
  objectid: 'ObjectId',
  operation: 'Operation',
  organizationid: 'OrganizationId',
  organizationname: 'OrganizationName',
  originatingserver: 'OriginatingServer',
  parameters: 'Parameters',
  recordtype: 'RecordType',
  resultstatus: 'ResultStatus',
  userid: 'UserId',
  userkey: 'UserKey',
  usertype: 'UserType',
  workload: 'Workload',
};

/**
 * The Exchange audit record (Office 365 Management Activity API,
 * `Audit.Exchange`) of an inbox rule that forwards a mailbox's mail outside
 * and deletes it: the `New-InboxRule` record of Panther's "Suspicious
 * Forwarding Pattern" test event (test/fixtures/entra/corpus/panther-m365,
 * verbatim Office 365 fields, PROVENANCE.md there), about `upn`'s mailbox,
 * made by `actor` (default: someone in the person's own Outlook session), at
 * `at`, with a fresh `Id`. Nothing is added that the record does not have.
 */
export function inboxRuleRecord(input: { upn: string; actor?: string; at: Date; organization: string }): Record<string, unknown> {
  const corpus = JSON.parse(
    readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'entra', 'corpus', 'panther-m365', 'Microsoft365.Exchange.External.Forwarding.json'), 'utf8'),
  ) as Array<{ name: string; log: Record<string, unknown> }>;
  const log = corpus.find((t) => t.name === 'Suspicious Forwarding Pattern')!.log;
  const record = Object.fromEntries(Object.entries(log).map(([k, v]) => [CASING[k] ?? k, v]));
  const params = (record.Parameters as Array<{ Name: string; Value: string }>).map((p) => (p.Name === 'Mailbox' ? { ...p, Value: input.upn } : p));
  return {
    ...record,
    Id: randomUUID(),
    CreationTime: input.at.toISOString().slice(0, 19),
    UserId: input.actor ?? input.upn,
    Parameters: params,
    OrganizationName: input.organization,
  };
}
