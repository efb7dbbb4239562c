/**
 * The people of `warden demo`: the same logins in the Okta simulator, the
 * Entra simulator, ServiceNow, Jira and the development OIDC provider, so
 * that a person is one person everywhere (docs/demo.md lists them).
 *
 * Their Warden roles come from their groups, through the tenant's
 * `oidc.roles` (demo-config.ts): Service Desk → helpdesk, iam-approvers →
 * approver, warden-admins → admin, security-audit → auditor.
 */
import type { DemoPersona } from '../connector/demo-kit.js';

export type { DemoPersona };

/** The password every persona types at the development OIDC provider, ServiceNow and Jira (a demo, not a secret). */
export const DEMO_PASSWORD = 'warden-demo';

export const DEMO_DOMAIN = 'acme.example';

export const DEMO_PERSONAS: readonly DemoPersona[] = [
  {
    handle: 'kim',
    login: 'kim.agent@acme.example',
    firstName: 'Kim',
    lastName: 'Agent',
    part: 'help-desk agent (files requests, resets factors)',
    groups: ['Everyone', 'Service Desk'],
    oktaRoles: ['HELP_DESK_ADMIN'],
    entraRole: 'Helpdesk Administrator',
    factor: true,
    agent: true,
  },
  {
    handle: 'ann',
    login: 'ann.approver@acme.example',
    firstName: 'Ann',
    lastName: 'Approver',
    part: 'approver (IAM)',
    groups: ['Everyone', 'iam-approvers'],
    factor: true,
  },
  {
    handle: 'bob',
    login: 'bob.approver@acme.example',
    firstName: 'Bob',
    lastName: 'Approver',
    part: 'second approver (IAM)',
    groups: ['Everyone', 'iam-approvers'],
    factor: true,
  },
  {
    handle: 'ada',
    login: 'ada.admin@acme.example',
    firstName: 'Ada',
    lastName: 'Admin',
    part: 'Warden admin (holds, exceptions)',
    groups: ['Everyone', 'warden-admins'],
    factor: true,
  },
  {
    handle: 'aud',
    login: 'aud.auditor@acme.example',
    firstName: 'Audrey',
    lastName: 'Auditor',
    part: 'auditor (audit log, reports)',
    groups: ['Everyone', 'security-audit'],
    factor: true,
  },
  {
    handle: 'dana',
    login: 'dana.lee@acme.example',
    firstName: 'Dana',
    lastName: 'Lee',
    part: 'end user, privileged (finance payments admin)',
    groups: ['Everyone', 'Finance', 'Privileged Access'],
    factor: true,
  },
  {
    handle: 'eve',
    login: 'eve.staff@acme.example',
    firstName: 'Eve',
    lastName: 'Staff',
    part: 'end user, standard',
    groups: ['Everyone', 'Finance'],
    factor: true,
  },
  {
    handle: 'frank',
    login: 'frank.roe@acme.example',
    firstName: 'Frank',
    lastName: 'Roe',
    part: 'end user, standard',
    groups: ['Everyone', 'Sales'],
    factor: true,
  },
];

/** The persona a handle or login names (case-insensitive). */
export function findPersona(name: string): DemoPersona | undefined {
  const n = name.toLowerCase();
  return DEMO_PERSONAS.find((p) => p.handle === n || p.login === n);
}
