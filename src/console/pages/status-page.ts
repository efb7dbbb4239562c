import type { PolicyStatus } from '../../config/policy-registry.js';
import type { CursorState, FailureCounts } from '../../store/store.js';
import type { ActiveSession } from '../console-sessions.js';
import { html, type Html } from '../html.js';
import { page, when } from './layout.js';

/** What the status page shows for the signed-in person's tenant. */
export interface StatusView {
  policy?: PolicyStatus;
  cursors: readonly CursorState[];
  failures: FailureCounts;
  now: Date;
}

/** A poller is "behind" when its cursor has not moved for this long. */
const LAG_WARN_MS = 15 * 60_000;
/** A Graph subscription expiring within this is flagged (Warden renews well before). */
const EXPIRY_WARN_MS = 6 * 3_600_000;

function age(ms: number): string {
  const m = Math.round(ms / 60_000);
  if (m < 1) return 'under a minute';
  if (m < 120) return `${m} min`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`;
}

const badge = (tone: 'ok' | 'warn' | 'bad', text: string) => html`<span class="badge ${tone}">${text}</span>`;

/** The rows of connector health: the Okta event hook, the Graph subscription, each poller's cursor. */
function healthRows(v: StatusView): Html[] {
  const rows: Html[] = [];
  const now = v.now.getTime();
  for (const c of v.cursors) {
    const value = (c.value ?? {}) as Record<string, unknown>;
    if (c.name === 'okta.eventHook') {
      const at = typeof value.verifiedAt === 'string' ? value.verifiedAt : undefined;
      rows.push(
        html`<tr><th scope="row">Okta event hook</th><td>${at ? badge('ok', 'verified') : badge('warn', 'not verified')}</td><td>${at ? html`Okta verified the hook ${when(at)}` : 'never verified by Okta'}</td></tr>`,
      );
    } else if (c.name === 'entra.subscription') {
      const expires = typeof value.expiresAt === 'string' ? Date.parse(value.expiresAt) : Number.NaN;
      const error = typeof value.lastError === 'string' ? value.lastError : undefined;
      const silent = typeof value.silentSince === 'string' ? value.silentSince : undefined;
      const tone = Number.isNaN(expires) || expires <= now ? 'bad' : expires - now < EXPIRY_WARN_MS || error || silent ? 'warn' : 'ok';
      rows.push(
        html`<tr><th scope="row">Entra Graph subscription</th><td>${badge(tone, Number.isNaN(expires) ? 'none' : expires <= now ? 'expired' : tone === 'ok' ? 'active' : 'attention')}</td><td>${
          Number.isNaN(expires)
            ? 'no subscription recorded'
            : html`expires ${when(new Date(expires))} (${expires > now ? `in ${age(expires - now)}` : `${age(now - expires)} ago`})`
        }${silent ? html`; silent since ${when(silent)}` : ''}${error ? html`; last error: ${error}` : ''}</td></tr>`,
      );
    } else {
      const lag = now - Date.parse(c.updatedAt);
      rows.push(
        html`<tr><th scope="row">Poller cursor <code>${c.name}</code></th><td>${badge(lag > LAG_WARN_MS ? 'warn' : 'ok', lag > LAG_WARN_MS ? 'behind' : 'current')}</td><td>moved ${when(c.updatedAt)}, ${age(lag)} ago</td></tr>`,
      );
    }
  }
  return rows;
}

/** The admin's status page: the policy in force and how its last reload went; the connectors' health; failed work. */
export function statusPage(s: ActiveSession, v: StatusView): string {
  const p = v.policy;
  const f = v.failures;
  const count = (n: number, what: string, cmd?: Html) =>
    html`<tr><th scope="row">${what}</th><td>${badge(n > 0 ? 'bad' : 'ok', String(n))}</td><td>${n > 0 && cmd ? cmd : n > 0 ? 'see the server log' : 'none'}</td></tr>`;
  const rows = healthRows(v);
  return page({
    title: 'Status',
    session: s,
    current: 'status',
    body: html`<h1>Policy and connector status</h1>
<section class="card" aria-labelledby="h-policy"><h2 id="h-policy">Policy status</h2>
${
  p
    ? html`<dl class="facts">
<dt>Tenant</dt><dd>${p.tenant}</dd>
<dt>Version (content hash)</dt><dd><code>${p.version}</code></dd>
<dt>Mode</dt><dd>${p.mode === 'monitor' ? html`${badge('warn', 'monitor')} decisions are recorded, nothing is enforced` : html`${badge('ok', 'enforce')} decisions are enforced`}</dd>
<dt>Rules</dt><dd>${p.rules}</dd>
<dt>File</dt><dd><code>${p.file}</code></dd>
<dt>Loaded</dt><dd>${when(p.loadedAt)}</dd>
<dt>Last reload</dt><dd>${
        p.lastReload
          ? p.lastReload.status === 'rejected'
            ? html`${badge('bad', 'rejected')} ${when(p.lastReload.at)}: the file has errors, the version above is still in force`
            : html`${badge('ok', p.lastReload.status)} ${when(p.lastReload.at)}`
          : 'none since Warden started'
      }</dd>
</dl>
${
  p.lastReload?.status === 'rejected'
    ? html`<h3>Load errors</h3><ul class="errors">${(p.lastReload.issues?.length ? p.lastReload.issues.map((i) => `${i.file}:${i.line}:${i.column} ${i.message}`) : [p.lastReload.message ?? '']).map((m) => html`<li><code>${m}</code></li>`)}</ul>`
    : html`<p>Load errors: none.</p>`
}`
    : html`<p>No policy information.</p>`
}</section>
<section class="card" aria-labelledby="h-health"><h2 id="h-health">Connector health</h2>
<div class="table-wrap"><table><caption class="visually-hidden">Connector health</caption><thead><tr><th scope="col">What</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead><tbody>
${rows.length === 0 ? html`<tr><td colspan="3">No connector has recorded anything yet (no hook verification, subscription or poller cursor).</td></tr>` : rows}
${count(f.inboxFailed, 'Deliveries in, failed', html`<code>./warden inbox list --tenant ${s.tenant}</code>`)}
${count(f.outboxFailed, 'Actions out (containment, undo), failed', html`<code>./warden holds list --tenant ${s.tenant}</code>`)}
${count(f.notifyFailed, 'Notifications (webhooks), failed', html`<code>./warden notify list --tenant ${s.tenant} --failed</code>`)}
<tr><th scope="row">Notifications being retried</th><td>${badge(f.notifyRetrying > 0 ? 'warn' : 'ok', String(f.notifyRetrying))}</td><td>${f.notifyRetrying > 0 ? 'the endpoint did not accept them yet' : 'none'}</td></tr>
</tbody></table></div></section>`,
  });
}
