import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/package-root.js';

/**
 * Exchange audit records as the Office 365 Management Activity API returns
 * them, for the Entra simulator's `addExchangeRecords`: Panther's test events
 * of "Microsoft365.Exchange.External.Forwarding"
 * (test/fixtures/entra/corpus/panther-m365, verbatim Office 365 records whose
 * top-level keys the corpus lower-cased; put back in the API's casing here).
 */

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

/** Test names in the corpus file, e.g. `Suspicious Forwarding Pattern` (New-InboxRule with ForwardTo), `External Organization Forwarding` (Set-Mailbox forwarding). */
export type ForwardingCase = 'Suspicious Forwarding Pattern' | 'External Organization Forwarding' | (string & {});

let corpus: Array<{ name: string; log: Record<string, unknown> }> | undefined;

/**
 * One corpus record about `upn`'s mailbox, made `at` by `actor` (default:
 * the person, e.g. in Outlook on the web), with a fresh `Id`. The parameters
 * naming the mailbox (`Mailbox`, `Identity` when it is an address) are set
 * to `upn`; everything else is Panther's record.
 */
export function exchangeRecord(name: ForwardingCase, input: { upn: string; at: Date; actor?: string; organization: string }): Record<string, unknown> {
  corpus ??= JSON.parse(
    readFileSync(path.join(packageRoot(), 'test/fixtures/entra/corpus/panther-m365/Microsoft365.Exchange.External.Forwarding.json'), 'utf8'),
  ) as Array<{ name: string; log: Record<string, unknown> }>;
  const log = corpus.find((t) => t.name === name)?.log;
  if (!log) throw new Error(`no test "${name}" in the Panther forwarding corpus`);
  const record = Object.fromEntries(Object.entries(log).map(([k, v]) => [CASING[k] ?? k, v]));
  const params = (record.Parameters as Array<{ Name: string; Value: string }>).map((p) =>
    ['Mailbox', 'Identity'].includes(p.Name) && p.Value.includes('@') ? { ...p, Value: input.upn } : p,
  );
  return {
    ...record,
    Id: randomUUID(),
    CreationTime: input.at.toISOString().slice(0, 19),
    UserId: input.actor ?? input.upn,
    Parameters: params,
    OrganizationName: input.organization,
  };
}
