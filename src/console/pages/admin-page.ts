import type { Decision } from '../../core/decision.js';
import type { IdentityChange } from '../../core/identity-change.js';
import type { Review } from '../../core/change-request.js';
import type { ExceptionState } from '../../requests/policy-exceptions.js';
import type { ActiveSession } from '../console-sessions.js';
import { html } from '../html.js';
import { csrfField, notice, page, when } from './layout.js';

/** What the admin page shows. */
export interface AdminView {
  holds: ReadonlyArray<{ decision: Decision; change?: IdentityChange | undefined; failedActions: number }>;
  exceptions: readonly ExceptionState[];
  reviews: readonly Review[];
  error?: string;
  done?: string;
}

const DONE: Record<string, string> = {
  stepped_up: 'You signed in again: you may release holds, add or revoke exceptions and complete reviews for the next few minutes.',
  released: 'The hold is released: containment not yet started is cancelled, and the undo of what ran is queued.',
  exception: 'The exception is recorded.',
  revoked: 'The exception is revoked.',
  review: 'The review is recorded.',
};

/** The admin's page: holds (read), policy exceptions (add, revoke), break-glass reviews (complete). */
export function adminPage(s: ActiveSession, v: AdminView): string {
  return page({
    title: 'Admin',
    session: s,
    current: 'admin',
    body: html`<h1>Admin</h1>
${v.error ? notice('error', 'Not done; nothing was changed.', v.error) : ''}${v.done && DONE[v.done] ? notice('ok', DONE[v.done]!) : ''}
<p>Releasing a hold, exceptions and reviews are decisions: they need a recent multi-factor sign-in. <a href="/console/step-up?return=/console/admin">Sign in again</a> if Warden asks for one.</p>
<section class="card" aria-labelledby="holds"><h2 id="holds">Holds</h2>
<p>Changes Warden held (or denied) and nobody released yet. Release one when you know the change was legitimate; say why, for the audit log.</p>
${
  v.holds.length === 0
    ? html`<p>No changes are held.</p>`
    : html`<ul class="holds">${v.holds.map(({ decision: d, change: c, failedActions }) => {
        const what = c
          ? html`<code>${c.kind}</code> on ${c.target.login ?? c.target.id} by ${c.actor.login ?? c.actor.id}`
          : html`change <code>${d.changeId}</code>`;
        return html`<li class="hold"><p><span class="badge ${d.outcome === 'deny' ? 'bad' : 'warn'}">${d.outcome === 'deny' ? 'denied' : 'held'}</span> ${what}, ${when(d.decidedAt)} · tier ${d.tier} · rules ${d.rules.map((r) => html`<code>${r.id}</code> `)}${failedActions ? html` · <strong>${failedActions} containment action(s) failed</strong>` : ''}</p>
<form class="stack inline-form" method="post" action="/console/admin/holds/${d.id}/release">${csrfField(s)}
<label for="rel-${d.id}">Why release it <span class="hint">At least 10 characters; kept in the audit log</span></label><input id="rel-${d.id}" name="reason" type="text" required maxlength="1000">
<div class="actions"><button type="submit">Release this hold</button></div></form></li>`;
      })}</ul>`
}</section>
<section class="card"><h2>Policy exceptions</h2>
${
  v.exceptions.length === 0
    ? html`<p>None.</p>`
    : html`<ul>${v.exceptions.map(
        (e) => html`<li><strong>${e.ruleId}</strong> not applied to ${e.target} until ${when(e.expiresAt)} (owner ${e.owner}, ${e.state}): ${e.reason}
${e.state === 'active' ? html`<form method="post" action="/console/admin/exceptions/${e.id}/revoke">${csrfField(s)}<button type="submit" class="secondary">Revoke</button></form>` : ''}</li>`,
      )}</ul>`
}
<form class="stack" method="post" action="/console/admin/exceptions">${csrfField(s)}<fieldset><legend>Add an exception</legend>
<label for="ex-rule">Rule id</label><input id="ex-rule" name="ruleId" type="text" required>
<label for="ex-target">Target (login or IdP id)</label><input id="ex-target" name="target" type="text" required>
<label for="ex-owner">Owner</label><input id="ex-owner" name="owner" type="text" required>
<label for="ex-reason">Reason <span class="hint">At least 10 characters</span></label><input id="ex-reason" name="reason" type="text" required>
<label for="ex-expires">Expires (UTC)</label><input id="ex-expires" name="expiresAt" type="datetime-local" required>
<div class="actions"><button type="submit">Add the exception</button></div></fieldset></form></section>
<section class="card"><h2>Break-glass reviews</h2>
${
  v.reviews.length === 0
    ? html`<p>None.</p>`
    : html`<ul>${v.reviews.map(
        (r) =>
          html`<li>Request <a href="/console/requests/${r.requestId}">${r.requestId.slice(0, 8)}</a>, due ${when(r.dueAt)}: ${
            r.state === 'done'
              ? html`${r.outcome} — ${r.notes ?? ''}`
              : html`<form class="stack" method="post" action="/console/admin/reviews/${r.id}">${csrfField(s)}
<label for="rv-${r.id}-outcome">Outcome</label><select id="rv-${r.id}-outcome" name="outcome"><option value="justified">justified</option><option value="unjustified">unjustified</option></select>
<label for="rv-${r.id}-notes">Notes</label><input id="rv-${r.id}-notes" name="notes" type="text" required>
<div class="actions"><button type="submit">Complete the review</button></div></form>`
          }</li>`,
      )}</ul>`
}
</section>`,
  });
}
