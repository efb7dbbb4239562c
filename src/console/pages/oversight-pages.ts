import type { Alert } from '../../core/alert.js';
import type { AuditVerification } from '../../audit/verify-audit.js';
import type { AuditRow } from '../../store/store.js';
import type { ActiveSession } from '../console-sessions.js';
import { html, type Html } from '../html.js';
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

/** What the alerts page shows besides the alerts. */
export interface AlertsView {
  /** Admins may close alerts. */
  mayClose: boolean;
  error?: { alertId?: string; message: string };
  done?: string;
}

/** An alert's chain of changes on one timeline: each change, each rule match, and its closing. */
function alertTimeline(a: Alert): Html {
  const entries: Array<{ at: string; order: number; body: Html }> = [
    ...a.changes.map((c) => ({
      at: c.occurredAt,
      order: 0,
      body: html`<code>${c.kind}</code> on ${c.target} by ${c.actor} (${c.idp}, ${c.channel})${c.coveredBy ? html` · covered by <a href="/console/requests/${c.coveredBy}">an approved request</a>` : ''}`,
    })),
    ...a.matches.map((m) => ({
      at: m.at,
      order: 1,
      body: html`<strong>Rule matched:</strong> ${m.title} <code>${m.rule}</code> (${m.severity}${m.attack.length ? `, ATT&CK ${m.attack.join(', ')}` : ''})`,
    })),
    ...(a.closed ? [{ at: a.closed.at, order: 2, body: html`<strong>Closed</strong> by ${a.closed.by.name ?? a.closed.by.id}: ${a.closed.reason}` }] : []),
  ].sort((x, y) => Date.parse(x.at) - Date.parse(y.at) || x.order - y.order);
  return html`<ol class="timeline">${entries.map((e) => html`<li>${when(e.at)}${e.body}</li>`)}</ol>`;
}

/** The security analyst's page: alerts, newest first, each with its chain of changes on a timeline; admins close them with a reason. */
export function alertsPage(session: ActiveSession, alerts: readonly Alert[], v: AlertsView = { mayClose: false }): string {
  return page({
    title: 'Alerts',
    session,
    current: 'alerts',
    body: html`<h1>Alerts</h1>
${v.error && !v.error.alertId ? notice('error', 'Not done; nothing was changed.', v.error.message) : ''}${v.done === 'closed' ? notice('ok', 'The alert is closed. It no longer weighs on decisions about the person.') : ''}${v.done === 'stepped_up' ? notice('ok', 'You signed in again: you may close alerts for the next few minutes.') : ''}
${v.mayClose ? html`<p>Closing an alert is a decision: it needs a recent multi-factor sign-in. <a href="/console/step-up?return=/console/alerts">Sign in again</a> if Warden asks for one. Closing does not undo containment: release the holds it caused on the <a href="/console/admin#holds">admin page</a>.</p>` : ''}
${alerts.length === 0 ? html`<p class="card">No alerts.</p>` : ''}
${alerts.map(
  (
    a,
  ) => html`<section class="card" aria-labelledby="alert-${a.id}"><h2 id="alert-${a.id}"><span class="badge ${a.severity === 'low' ? 'warn' : 'bad'}">${a.severity}</span> ${a.title} <span class="badge ${a.status === 'open' ? 'warn' : 'ok'}">${a.status}</span></h2>
<p>${a.summary}</p><p class="muted">${a.key} · raised ${when(a.raisedAt)} · id <code>${a.id}</code></p>
<h3>Chain of changes</h3>
${alertTimeline(a)}
${v.error?.alertId === a.id ? notice('error', 'Not closed; nothing was changed.', v.error.message) : ''}
${
  v.mayClose && a.status === 'open'
    ? html`<form class="stack" method="post" action="/console/alerts/${a.id}/close">${csrfField(session)}
<label for="close-${a.id}">Why close it <span class="hint">What the review found; kept in the audit log</span></label><input id="close-${a.id}" name="reason" type="text" required maxlength="1000">
<div class="actions"><button type="submit">Close this alert</button></div></form>`
    : ''
}</section>`,
)}`,
  });
}
