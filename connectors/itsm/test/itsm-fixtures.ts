import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../../src/package-root.js';

/**
 * Vendor payloads for the ITSM tests: the files in test/fixtures/itsm verbatim,
 * and the variants test/fixtures/itsm/PROVENANCE.md lists, built here in code.
 */

type Json = Record<string, unknown>;

export function fixture<T = Json>(name: string): T {
  return JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'itsm', name), 'utf8')) as T;
}

/** The incident of the vendor's PATCH example (INC0000050, In Progress, caller ≠ opened_by), as a Table API record. */
export function incident(patch: Json = {}): Json {
  return { ...fixture<{ result: Json }>('servicenow-table-patch-incident-response.json').result, ...patch };
}

/**
 * An incident with the dot-walked fields Warden asks for, as flat keys (the form of
 * servicenow-table-get-dotwalk-display-value-true.json). The people are the test's.
 */
export function incidentWithPeople(
  people: { caller?: [string, string]; openedBy?: [string, string]; assignedTo?: [string, string]; group?: string },
  patch: Json = {},
): Json {
  const flat: Json = {};
  if (people.caller) [flat['caller_id.email'], flat['caller_id.user_name']] = people.caller;
  if (people.openedBy) [flat['opened_by.email'], flat['opened_by.user_name']] = people.openedBy;
  if (people.assignedTo) [flat['assigned_to.email'], flat['assigned_to.user_name']] = people.assignedTo;
  if (people.group) flat['assignment_group.name'] = people.group;
  return { ...incident(patch), ...flat };
}

/** A Table API list answer: `{ "result": [records] }`. */
export const tableList = (...records: Json[]) => ({ result: records });

/** A Jira user (the User of jira-get-user-response.json, without groups and applicationRoles), with the test's identity. */
export function jiraUser(accountId: string, email: string, displayName: string): Json {
  const { groups: _g, applicationRoles: _a, ...user } = fixture('jira-get-user-response.json');
  return { ...user, accountId, emailAddress: email, displayName };
}

/** Jira StatusDetails (jira-get-status-response.json) with a live-site category key. */
export function jiraStatus(name: string, categoryKey: 'new' | 'indeterminate' | 'done'): Json {
  const status = fixture<{ statusCategory: Json }>('jira-get-status-response.json');
  return { ...status, name, statusCategory: { ...status.statusCategory, key: categoryKey } };
}

/** The getIssue envelope (jira-get-issue-response.json) for `key`, with status and people in `fields`. */
export function jiraIssue(key: string, fields: Json): Json {
  const issue = fixture<{ fields: Json }>('jira-get-issue-response.json');
  return { ...issue, key, fields: { ...issue.fields, ...fields } };
}
