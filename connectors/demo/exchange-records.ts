import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';

/**
 * Exchange audit records as the Office 365 Management Activity API returns
 * them (`Audit.Exchange`), for the Entra simulator's `addExchangeRecords`:
 * Panther's test events of "Microsoft365.Exchange.External.Forwarding"
 * (test/fixtures/entra/corpus/panther-m365, verbatim Office 365 records whose
 * top-level keys the corpus lower-cased; put back in the API's casing here,
 * PROVENANCE.md there). The demo and the tests build them here alike.
 */

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

/** Test names in the corpus file, e.g. `Suspicious Forwarding Pattern` (New-InboxRule with ForwardTo), `External Organization Forwarding` (Set-Mailbox forwarding). */
export type ForwardingCase = 'Suspicious Forwarding Pattern' | 'External Organization Forwarding' | (string & {});

let corpus: Array<{ name: string; log: Record<string, unknown> }> | undefined;

/**
 * One corpus record about `upn`'s mailbox, made `at` by `actor` (default:
 * the person, e.g. in Outlook on the web), with a fresh `Id`. The parameters
 * naming the mailbox (`Mailbox`, `Identity` when it is an address) are set
 * to `upn`; everything else is Panther's record: nothing is added that the
 * record does not have.
 *
 * @throws WardenError `ERR_INTERNAL` when the corpus has no test `name`
 */
export function exchangeRecord(name: ForwardingCase, input: { upn: string; at: Date; actor?: string; organization: string }): Record<string, unknown> {
  corpus ??= JSON.parse(
    readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'entra', 'corpus', 'panther-m365', 'Microsoft365.Exchange.External.Forwarding.json'), 'utf8'),
  ) as Array<{ name: string; log: Record<string, unknown> }>;
  const log = corpus.find((t) => t.name === name)?.log;
  if (!log) throw new WardenError('ERR_INTERNAL', `no test "${name}" in the Panther forwarding corpus`);
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

/**
 * The record of an inbox rule that forwards a mailbox's mail outside and
 * deletes it: the `New-InboxRule` record of Panther's "Suspicious Forwarding
 * Pattern" test event, about `upn`'s mailbox, made by `actor` (default:
 * someone in the person's own Outlook session).
 */
export function inboxRuleRecord(input: { upn: string; actor?: string; at: Date; organization: string }): Record<string, unknown> {
  return exchangeRecord('Suspicious Forwarding Pattern', input);
}
