import type { RequestView } from '../../requests/workflow-context.js';
import type { ActiveSession } from '../console-sessions.js';
import { nameOf } from '../console-person.js';
import { html } from '../html.js';
import { notice, page } from './layout.js';
import { stateBadge } from './request-pages.js';

/** The overview after sign-in: what each of the person's roles can do, and the requests that are open. */
export function homePage(session: ActiveSession, requests: readonly RequestView[]): string {
  const roles = session.person.roles;
  const open = requests.filter((r) => ['draft', 'proofing', 'pending_approval', 'approved'].includes(r.state));
  const count = (state: string) => requests.filter((r) => r.state === state).length;
  return page({
    title: 'Overview',
    session,
    current: 'home',
    body: html`<h1>Welcome, ${nameOf(session.person)}</h1>
${roles.length === 0 ? notice('warn', 'Your groups give you no Warden role in this tenant', `Ask an administrator to add you to a group mapped in tenants[].oidc.roles. Your groups: ${session.person.groups.join(', ') || 'none'}.`) : ''}
<div class="grid">
${roles.includes('helpdesk') || roles.includes('admin') ? html`<section class="card"><h2>Help desk</h2><p>Verify a caller and file the change they ask for.</p><p><a class="button" href="/console/requests/new">File a request</a></p></section>` : ''}
${roles.includes('approver') ? html`<section class="card"><h2>Approver</h2><p>${count('pending_approval')} request(s) wait for approval.</p><p><a class="button" href="/console/approvals">Open the queue</a></p></section>` : ''}
${roles.length > 0 ? html`<section class="card"><h2>In numbers</h2><dl class="facts"><dt>Waiting for proofing</dt><dd>${count('proofing')}</dd><dt>Waiting for approval</dt><dd>${count('pending_approval')}</dd><dt>Approved, not yet used</dt><dd>${count('approved')}</dd><dt>Done</dt><dd>${count('executed')}</dd></dl></section>` : ''}
</div>
${
  open.length > 0
    ? html`<h2 class="section">Open requests</h2><ul>${open.slice(0, 10).map((r) => html`<li><a href="/console/requests/${r.id}">${r.kind} for ${r.target.displayName ?? r.target.login ?? r.target.id}</a> ${stateBadge(r.state)}</li>`)}</ul>`
    : ''
}`,
  });
}
