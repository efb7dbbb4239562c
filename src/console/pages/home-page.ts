import type { RequestView } from '../../requests/request-context.js';
import type { ActiveSession } from '../console-sessions.js';
import { nameOf } from '../console-person.js';
import { html } from '../html.js';
import { notice, page } from './layout.js';
import { stateBadge } from './request-pages.js';
import { barChart } from './bar-chart.js';
import { columnChart } from './column-chart.js';

/** What the dashboard shows: decisions per day by outcome, open holds, alerts by rule. */
export interface Dashboard {
  /** UTC days, oldest first (`YYYY-MM-DD`). */
  days: readonly string[];
  decisions: Record<'allow' | 'hold' | 'deny', readonly number[]>;
  openHolds: number;
  alertsByRule: ReadonlyArray<{ rule: string; count: number }>;
}

/** Median minutes from filing to approval over the requests that were approved, as text. */
function medianApproval(requests: readonly RequestView[]): string {
  const minutes = requests
    .filter((r) => r.approvedAt)
    .map((r) => (Date.parse(r.approvedAt!) - Date.parse(r.createdAt)) / 60_000)
    .sort((a, b) => a - b);
  if (minutes.length === 0) return 'no approvals yet';
  const mid = Math.floor(minutes.length / 2);
  const median = minutes.length % 2 ? minutes[mid]! : (minutes[mid - 1]! + minutes[mid]!) / 2;
  return `${Math.round(median)} min (${minutes.length} approved)`;
}

/** The overview after sign-in: what each of the person's roles can do, and the requests that are open. */
export function homePage(session: ActiveSession, requests: readonly RequestView[], dashboard?: Dashboard): string {
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
${
  roles.length > 0
    ? html`<section class="card"><h2>Requests by state</h2>${barChart('Latest requests by state', [
        { label: 'Waiting for proofing', value: count('proofing'), tone: 'warn' },
        { label: 'Waiting for approval', value: count('pending_approval'), tone: 'warn' },
        { label: 'Approved, not used', value: count('approved'), tone: 'info' },
        { label: 'Done (matched)', value: count('executed'), tone: 'ok' },
        { label: 'Rejected / expired', value: count('rejected') + count('expired') + count('cancelled'), tone: 'bad' },
      ])}<p>Median time from filing to approval: <strong>${medianApproval(requests)}</strong></p></section>`
    : ''
}
</div>
${
  dashboard
    ? html`<h2 class="section" id="dashboard">Dashboard</h2>
<div class="grid">
<section class="card" aria-labelledby="h-decisions"><h2 id="h-decisions">Decisions by outcome, last ${dashboard.days.length} days</h2>${columnChart(
        'decisions',
        `Decisions per day (UTC), ${dashboard.days[0]} to ${dashboard.days[dashboard.days.length - 1]}`,
        dashboard.days.map((d) => d.slice(5)),
        [
          { name: 'allowed', colour: '#116329', values: dashboard.decisions.allow },
          { name: 'held', colour: '#7a4a00', values: dashboard.decisions.hold },
          { name: 'denied', colour: '#a40e26', values: dashboard.decisions.deny },
        ],
      )}</section>
<section class="card" aria-labelledby="h-holds"><h2 id="h-holds">Open holds and alerts</h2>
<p class="figure-number"><strong>${dashboard.openHolds}</strong> held change${dashboard.openHolds === 1 ? '' : 's'} not released${session.person.roles.includes('admin') ? html` (<a href="/console/admin#holds">release</a>)` : ''}</p>
${
  dashboard.alertsByRule.length === 0
    ? html`<p>No alerts in the last ${dashboard.days.length} days.</p>`
    : barChart(
        `Alerts by rule, last ${dashboard.days.length} days`,
        dashboard.alertsByRule.map((a) => ({ label: a.rule, value: a.count, tone: 'bad' as const })),
      )
}</section>
</div>`
    : ''
}
${
  open.length > 0
    ? html`<h2 class="section">Open requests</h2><ul>${open.slice(0, 10).map((r) => html`<li><a href="/console/requests/${r.id}">${r.kind} for ${r.target.displayName ?? r.target.login ?? r.target.id}</a> ${stateBadge(r.state)}</li>`)}</ul>`
    : ''
}`,
  });
}
