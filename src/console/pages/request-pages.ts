import { CONTACT_CHANNELS } from '../../core/change-request.js';
import type { Alert } from '../../core/alert.js';
import type { RequestView } from '../../requests/request-context.js';
import type { ActiveSession } from '../console-sessions.js';
import { html, type Html } from '../html.js';
import { csrfField, notice, page, when } from './layout.js';

/** Kinds the help desk files most, first; the rest follow. */
export const FILED_KINDS = ['factor.reset_all', 'password.reset', 'factor.remove', 'factor.enroll', 'tap.issue'] as const;

const STATE_LABEL: Record<string, [string, 'ok' | 'warn' | 'bad' | 'info']> = {
  draft: ['Draft', 'info'],
  proofing: ['Waiting for proofing', 'warn'],
  pending_approval: ['Waiting for approval', 'warn'],
  approved: ['Approved', 'ok'],
  executed: ['Done: change matched and allowed', 'ok'],
  rejected: ['Rejected', 'bad'],
  expired: ['Expired', 'bad'],
  cancelled: ['Cancelled', 'bad'],
};

export function stateBadge(state: string): Html {
  const [label, kind] = STATE_LABEL[state] ?? [state, 'info'];
  return html`<span class="badge ${kind}">${label}</span>`;
}

const who = (p: { id: string; login?: string | undefined; displayName?: string | undefined }) => p.displayName ?? p.login ?? p.id;

/** The list of requests (help desk, approvers, admins, auditors). */
export function requestsPage(
  session: ActiveSession,
  items: readonly RequestView[],
  view: { title: string; current: string; empty: string; intro?: string },
): string {
  return page({
    title: view.title,
    session,
    current: view.current,
    body: html`<h1>${view.title}</h1>${view.intro ? html`<p>${view.intro}</p>` : ''}
${
  items.length === 0
    ? html`<p class="card">${view.empty}</p>`
    : html`<div class="table-wrap"><table><caption class="skip">${view.title}</caption><thead><tr><th scope="col">Request</th><th scope="col">Target</th><th scope="col">State</th><th scope="col" class="optional">Executor</th><th scope="col" class="optional">Filed</th></tr></thead><tbody>
${items.map(
  (
    r,
  ) => html`<tr><td><a href="/console/requests/${r.id}">${r.kind}</a>${r.breakGlass ? html` <span class="badge bad">break-glass</span>` : ''}<br><span class="muted">${r.id.slice(0, 8)}${r.ticket ? html` · ${r.ticket.system} ${r.ticket.id}` : ''}</span></td>
<td>${who(r.target)}</td><td>${stateBadge(r.state)}</td><td class="optional">${who(r.executor)}</td><td class="optional">${when(r.createdAt)}</td></tr>`,
)}</tbody></table></div>`
}`,
  });
}

/** Values of the new-request form, as typed (kept when the form comes back with an error). */
export type NewRequestValues = Partial<
  Record<
    | 'target'
    | 'requester'
    | 'kind'
    | 'ticketSystem'
    | 'ticketId'
    | 'channel'
    | 'contactDetail'
    | 'mailboxRulesChangedAt'
    | 'phoneChangedAt'
    | 'deviceTrusted'
    | 'broker'
    | 'note',
    string
  >
>;

/** The help desk's form to file a request. */
export function newRequestPage(session: ActiveSession, values: NewRequestValues = {}, error?: string): string {
  const v = (k: keyof NewRequestValues) => values[k] ?? '';
  const option = (value: string, label: string, selected: string) =>
    html`<option value="${value}"${value === selected ? html` selected` : ''}>${label}</option>`;
  return page({
    title: 'File a request',
    session,
    current: 'new',
    body: html`<h1>File a change request</h1>
${error ? notice('error', 'The request was not filed; nothing was changed.', error) : ''}
<form class="stack card" method="post" action="/console/requests">
${csrfField(session)}
<fieldset><legend>Who and what</legend>
<label for="target">Target's login <span class="hint">The person whose factors or password change, looked up in the identity provider</span></label>
<input id="target" name="target" type="text" required autocomplete="off" value="${v('target')}">
<label for="requester">Requester's login <span class="hint">Who is asking; leave empty when it is the target on the phone</span></label>
<input id="requester" name="requester" type="text" autocomplete="off" value="${v('requester')}">
<label for="kind">Change</label>
<select id="kind" name="kind">${FILED_KINDS.map((k) => option(k, k, v('kind') || 'factor.reset_all'))}</select>
<label><input type="checkbox" name="broker" value="yes"${v('broker') === 'yes' ? html` checked` : ''}> Warden makes the change itself once approved (broker mode)</label>
</fieldset>
<fieldset><legend>Why</legend>
<label for="ticketSystem">Ticket system</label>
<select id="ticketSystem" name="ticketSystem">${option('servicenow', 'ServiceNow', v('ticketSystem') || 'servicenow')}${option('jira', 'Jira Service Management', v('ticketSystem'))}</select>
<label for="ticketId">Ticket <span class="hint">e.g. INC0010002 or HELP-42</span></label>
<input id="ticketId" name="ticketId" type="text" required value="${v('ticketId')}">
<label for="note">Note <span class="hint">Optional</span></label>
<textarea id="note" name="note" rows="2">${v('note')}</textarea>
</fieldset>
<fieldset><legend>How the caller reached you</legend>
<label for="channel">Channel</label>
<select id="channel" name="channel">${CONTACT_CHANNELS.map((c) => option(c, c.replace('_', ' '), v('channel') || 'phone'))}</select>
<label for="contactDetail">Detail <span class="hint">e.g. the number they called from</span></label>
<input id="contactDetail" name="contactDetail" type="text" value="${v('contactDetail')}">
</fieldset>
<fieldset><legend>Risk context <span class="hint">Raises the proofing level the policy asks for</span></legend>
<label for="mailboxRulesChangedAt">Mailbox rules or forwarding last changed (UTC)</label>
<input id="mailboxRulesChangedAt" name="mailboxRulesChangedAt" type="datetime-local" value="${v('mailboxRulesChangedAt')}">
<label for="phoneChangedAt">Phone number last changed (UTC)</label>
<input id="phoneChangedAt" name="phoneChangedAt" type="datetime-local" value="${v('phoneChangedAt')}">
<label for="deviceTrusted">Caller's device</label>
<select id="deviceTrusted" name="deviceTrusted">${option('', 'unknown', v('deviceTrusted'))}${option('yes', 'managed (trusted)', v('deviceTrusted'))}${option('no', 'unmanaged (untrusted)', v('deviceTrusted'))}</select>
</fieldset>
<div class="actions"><button type="submit">File the request</button><a href="/console/requests">Cancel</a></div>
</form>`,
  });
}

/** What the request page shows besides the request. */
export interface RequestExtras {
  /** Why this person may not approve (separation of duties), when they may not. */
  sodReason?: string;
  /** Until when this session's step-up sign-in lets the person decide. */
  stepUpUntil?: Date;
  openAlerts: readonly Alert[];
  otherRequests: readonly RequestView[];
  error?: { title: string; message: string };
  done?: string;
  /** A push sent and not yet answered. */
  pushTransaction?: string;
  /** A one-time secret the broker returned (a TAP), shown once. */
  brokerSecret?: { reference: string; secret?: string; expiresAt?: string };
}

const DONE: Record<string, string> = {
  filed: 'The request is filed.',
  callback: 'The callback is recorded.',
  attested: 'Your attestation is recorded.',
  approve: 'Your approval is recorded.',
  reject: 'Your rejection is recorded.',
  push: "The push was sent to the person's phone. Ask them to approve it, then check the answer.",
  push_success: 'The person approved the push: proofing is complete.',
  push_waiting: 'No answer to the push yet.',
  executed: 'Warden made the change in the identity provider.',
  ticket: 'The ticket was checked again.',
  stepped_up: 'You signed in again: you may decide on this request now.',
  cancelled: 'The request is cancelled.',
};

function timeline(r: RequestView): Html {
  const events: Array<{ at: string; text: Html }> = [
    { at: r.createdAt, text: html`Filed by ${r.createdBy.name ?? r.createdBy.id} (${r.contact.channel}${r.contact.detail ? `: ${r.contact.detail}` : ''})` },
  ];
  for (const e of r.evidence)
    events.push({
      at: e.verifiedAt,
      text: html`${e.kind === 'ticket' ? 'Ticket checked' : 'Proofing'}: ${e.method}${e.level ? ` (${e.level})` : ''} — ${e.accepted ? html`<span class="badge ok">accepted</span>` : html`<span class="badge bad">refused</span> ${e.problems.join('; ')}`}`,
    });
  for (const a of r.approvals)
    events.push({
      at: a.at,
      text: html`${a.verdict === 'approve' ? 'Approved' : 'Rejected'} by ${a.names.find((n) => n.includes('@')) ?? a.subject ?? a.approverId}${a.comment ? `: “${a.comment}”` : ''}`,
    });
  if (r.consumed)
    events.push({
      at: r.consumed.at,
      text: html`The change was observed in the identity provider, matched this request and was <strong>allowed</strong>${r.consumed.releasedHold ? ' (its hold was released)' : ''}`,
    });
  if (['rejected', 'expired', 'cancelled'].includes(r.state)) events.push({ at: r.updatedAt, text: html`${stateBadge(r.state)}` });
  events.sort((a, b) => a.at.localeCompare(b.at));
  return html`<ol class="timeline">${events.map((e) => html`<li>${when(e.at)}${e.text}</li>`)}</ol>`;
}

const has = (s: ActiveSession, ...roles: string[]) => roles.some((r) => s.person.roles.includes(r as never));

function proofingActions(s: ActiveSession, r: RequestView, x: RequestExtras): Html {
  if (r.state !== 'proofing' || !has(s, 'helpdesk', 'admin')) return html``;
  return html`<div class="card"><h2>Run proofing</h2>
<p>The policy needs <strong>${r.needs.proofing ?? 'none'}</strong>. Any method that proves at least that level completes proofing.</p>
<div class="actions">
<form method="post" action="/console/requests/${r.id}/push">${csrfField(s)}<button type="submit" class="secondary">Send an Okta Verify push</button></form>
${x.pushTransaction ? html`<form method="post" action="/console/requests/${r.id}/push/${x.pushTransaction}">${csrfField(s)}<button type="submit">Check the push answer</button></form>` : ''}
</div>
<form class="stack" method="post" action="/console/requests/${r.id}/callback">${csrfField(s)}
<fieldset><legend>Record a callback</legend>
<label for="cb-number">Number you called back</label><input id="cb-number" name="number" type="tel" required>
<label for="cb-source">Where the number came from <span class="hint">A number the caller gave never counts</span></label>
<select id="cb-source" name="numberSource"><option value="hr">HR record</option><option value="directory">Directory</option><option value="idp">Identity provider</option><option value="caller">The caller</option></select>
<label for="cb-changed">When that number last changed (UTC)</label><input id="cb-changed" name="numberLastChangedAt" type="datetime-local" required>
<label for="cb-note">Note</label><input id="cb-note" name="note" type="text">
<div class="actions"><button type="submit">Record the callback</button></div></fieldset></form>
<p>To have the target's manager attest, send them this link; they sign in and confirm: <code>/console/attest/${r.id}</code></p>
<p class="muted">An external identity verification (IDV) arrives by itself from the verifier.</p>
</div>`;
}

/** The page a manager opens from the help desk's link: no request details (a manager needs no Warden role), the workflow checks they are the target's manager. */
export function attestPage(s: ActiveSession, requestId: string, error?: string, done?: boolean): string {
  return page({
    title: 'Manager attestation',
    session: s,
    body: html`<h1>Manager attestation</h1>
${error ? notice('error', 'Not recorded; nothing was changed.', error) : ''}${done ? notice('ok', 'Your attestation is recorded. You may close this page.') : ''}
<div class="card"><p>The help desk asked you, as the manager of the person on request <code>${requestId}</code>, to confirm that you recognised them. Attest only if you spoke with them yourself.</p>
<form method="post" action="/console/attest/${requestId}">${csrfField(s)}<button type="submit">I attest as their manager</button></form></div>`,
  });
}

function decisionActions(s: ActiveSession, r: RequestView, x: RequestExtras, now: Date): Html {
  if (!has(s, 'approver') || !['pending_approval', 'proofing'].includes(r.state)) return html``;
  const fresh = x.stepUpUntil && x.stepUpUntil.getTime() > now.getTime();
  return html`<div class="card" id="decide"><h2>Your decision</h2>
${x.sodReason ? notice('warn', 'You may not decide on this request', x.sodReason) : ''}
${
  fresh
    ? html`<p>You signed in again at the identity provider; you may decide until ${when(x.stepUpUntil)}.</p>
<form class="stack" method="post" action="/console/requests/${r.id}/approve">${csrfField(s)}
<label for="comment">Comment <span class="hint">Optional; recorded in the audit log</span></label><input id="comment" name="comment" type="text">
<div class="actions">${r.state === 'pending_approval' ? html`<button type="submit">Approve</button>` : ''}
<button type="submit" class="danger" formaction="/console/requests/${r.id}/reject">Reject</button></div></form>`
    : html`<p>Approving or rejecting needs a fresh sign-in at your identity provider (step-up), not a click in an open session.</p>
<div class="actions"><a class="button" href="/console/requests/${r.id}/step-up">Sign in again to decide</a></div>`
}
</div>`;
}

function brokerActions(s: ActiveSession, r: RequestView, x: RequestExtras): Html {
  const result = x.brokerSecret
    ? html`<div class="notice ok" role="status"><p><strong>Done in the identity provider</strong> (reference ${x.brokerSecret.reference}).</p>${x.brokerSecret.secret ? html`<p>One-time secret for the person: <code>${x.brokerSecret.secret}</code>${x.brokerSecret.expiresAt ? html`, valid until ${when(x.brokerSecret.expiresAt)}` : ''}. It is shown once and never stored.</p>` : ''}</div>`
    : html``;
  if (!r.broker || r.state !== 'approved' || !has(s, 'helpdesk', 'admin')) return result;
  return html`${result}<div class="card"><h2>Make the change</h2><p>This request is in broker mode: Warden makes the change in the identity provider itself.</p>
<form method="post" action="/console/requests/${r.id}/execute">${csrfField(s)}<button type="submit">Execute now</button></form></div>`;
}

/** One request: what policy needs and why, proofing, ticket, approvals, timeline, the target, and the actions this person may take. */
export function requestPage(session: ActiveSession, r: RequestView, x: RequestExtras, now: Date): string {
  const n = r.needs;
  return page({
    title: `Request ${r.id.slice(0, 8)}`,
    session,
    current: 'requests',
    body: html`<h1>${r.kind} for ${who(r.target)} ${stateBadge(r.state)}</h1>
${x.error ? notice('error', x.error.title, x.error.message) : ''}
${x.done && DONE[x.done] ? notice('ok', DONE[x.done]!) : ''}
${r.state === 'expired' ? notice('warn', 'This request has expired', `Open requests expire when not approved in time, approved ones when their validity runs out (${when(r.expiresAt)}). File a new one.`) : ''}
<div class="grid">
<section class="card" aria-labelledby="h-summary"><h2 id="h-summary">Request</h2><dl class="facts">
<dt>Target</dt><dd>${who(r.target)} <span class="muted">${r.target.id}</span></dd>
<dt>Requester</dt><dd>${who(r.requester)}</dd>
<dt>Executor</dt><dd>${who(r.executor)}${r.broker ? ' (Warden, broker mode)' : ''}</dd>
<dt>Contact</dt><dd>${r.contact.channel}${r.contact.detail ? ` — ${r.contact.detail}` : ''}</dd>
<dt>Ticket</dt><dd>${r.ticket ? html`${r.ticket.system} ${r.ticket.id}: ${r.ticket.state ?? 'unknown state'} ${r.ticket.valid ? html`<span class="badge ok">valid</span>` : html`<span class="badge bad">not valid</span> ${r.ticket.problems.join('; ')}`}` : (r.justification.incident ?? r.justification.outage ?? '—')}</dd>
<dt>Expires</dt><dd>${when(r.expiresAt)}</dd>
<dt>Id</dt><dd><code>${r.id}</code></dd>
</dl></section>
<section class="card" aria-labelledby="h-needs"><h2 id="h-needs">What the policy needs, and why</h2><dl class="facts">
<dt>Proofing</dt><dd>${n.proofing ?? 'none'}${n.policyProofing && n.policyProofing !== n.proofing ? html` <span class="badge warn">raised from ${n.policyProofing}</span>` : ''}</dd>
${n.raisedBy.length > 0 ? html`<dt>Raised because</dt><dd><ul>${n.raisedBy.map((b) => html`<li>${b}</li>`)}</ul></dd>` : ''}
<dt>Ticket</dt><dd>${n.ticket ? 'required' : 'not required'}</dd>
<dt>Approvals</dt><dd>${n.approvals ? html`${n.approvals.count} from ${n.approvals.from.join(', ') || 'any approver'}` : 'none'}</dd>
<dt>Valid for</dt><dd>${Math.round(n.ttlSeconds / 60)} minutes once approved</dd>
<dt>Rules</dt><dd>${n.rules.map((rule, i) => html`${i ? ', ' : ''}<code>${rule}</code>`)}</dd>
<dt>Policy</dt><dd><code>${n.policyVersion.slice(0, 19)}</code></dd>
</dl></section>
</div>
${proofingActions(session, r, x)}
${decisionActions(session, r, x, now)}
${brokerActions(session, r, x)}
<div class="grid">
<section class="card" aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>${timeline(r)}</section>
<section class="card" aria-labelledby="h-target"><h2 id="h-target">The target</h2><dl class="facts">
<dt>Groups</dt><dd>${r.target.groups.join(', ') || 'none'}</dd>
<dt>Admin roles</dt><dd>${r.target.adminRoles.join(', ') || 'none'}</dd>
<dt>Type</dt><dd>${r.target.employeeType ?? '—'}</dd>
<dt>Open alerts</dt><dd>${x.openAlerts.length === 0 ? 'none' : html`<ul>${x.openAlerts.map((a) => html`<li><span class="badge bad">${a.severity}</span> ${a.title} (${when(a.raisedAt)})</li>`)}</ul>`}</dd>
<dt>Recent requests</dt><dd>${x.otherRequests.length === 0 ? 'none' : html`<ul>${x.otherRequests.map((o) => html`<li><a href="/console/requests/${o.id}">${o.kind}</a> ${stateBadge(o.state)} ${when(o.createdAt)}</li>`)}</ul>`}</dd>
</dl></section>
</div>
${
  has(session, 'auditor', 'admin')
    ? html`<section class="card" aria-labelledby="h-bundle"><h2 id="h-bundle">Evidence bundle</h2><p>One JSON file with this request, its transitions, proofing evidence, approvals, the matched change and decision, and the audit records with their chain digests, so it can be verified without Warden.</p>
<div class="actions"><a class="button secondary" href="/console/requests/${r.id}/evidence.json" download>Download the evidence bundle (JSON)</a></div></section>`
    : ''
}`,
  });
}
