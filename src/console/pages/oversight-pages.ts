import type { Alert } from '../../core/alert.js';
import type { AuditVerification } from '../../audit/verify-audit.js';
import type { AuditRow } from '../../store/store.js';
import type { ActiveSession } from '../console-sessions.js';
import { html } from '../html.js';
import { csrfField, notice, page, when } from './layout.js';

/** The auditor's page: the newest audit records, the chain's verification, and the accountability report. */
export function auditPage(session: ActiveSession, rows: readonly AuditRow[], head: { seq: number; hash: string }, verification?: AuditVerification): string {
  return page({
    title: 'Audit log',
    session,
    current: 'audit',
    body: html`<h1>Audit log</h1>
${
  verification
    ? verification.ok
      ? notice(
          'ok',
          `The chain verifies: ${verification.records} records, each linked to the one before.`,
          html`Head hash <code>${verification.head}</code>: compare it with a copy kept elsewhere.`,
        )
      : notice('error', 'The chain does not verify', `${JSON.stringify(verification.break ?? {})}`)
    : ''
}
<div class="grid">
<section class="card"><h2>Chain</h2><dl class="facts"><dt>Records</dt><dd>${head.seq}</dd><dt>Head hash</dt><dd><code>${head.hash.slice(0, 24)}…</code></dd></dl>
<form method="post" action="/console/audit/verify">${csrfField(session)}<div class="actions"><button type="submit">Verify the chain</button></div></form></section>
<section class="card"><h2>Accountability report</h2><p>Every change request of the last 30 days: who asked, who proved, who approved, what the IdP did.</p>
<div class="actions"><a class="button secondary" href="/console/reports/accountability.csv" download>Download CSV</a><a class="button secondary" href="/console/reports/accountability.json" download>Download JSON</a></div></section>
</div>
<h2>Newest records</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Type</th><th scope="col" class="optional">Hash</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td>${r.seq}</td><td>${when(r.at)}</td><td><code>${r.type}</code></td><td class="optional"><code>${r.hash.slice(0, 16)}…</code></td></tr>`)}
</tbody></table></div>`,
  });
}

/** The security analyst's page: alerts, newest first, each with its chain of changes. */
export function alertsPage(session: ActiveSession, alerts: readonly Alert[]): string {
  return page({
    title: 'Alerts',
    session,
    current: 'alerts',
    body: html`<h1>Alerts</h1>
${alerts.length === 0 ? html`<p class="card">No alerts.</p>` : ''}
${alerts.map(
  (
    a,
  ) => html`<section class="card"><h2><span class="badge ${a.severity === 'low' ? 'warn' : 'bad'}">${a.severity}</span> ${a.title} <span class="badge ${a.status === 'open' ? 'warn' : 'ok'}">${a.status}</span></h2>
<p>${a.summary}</p><p class="muted">${a.key} · raised ${when(a.raisedAt)}</p>
<ol class="timeline">${a.changes.map((c) => html`<li>${when(c.occurredAt)}<code>${c.kind}</code> on ${c.target} by ${c.actor} (${c.idp}, ${c.channel})</li>`)}</ol></section>`,
)}`,
  });
}
