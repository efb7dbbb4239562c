import type { Role } from '../../requests/caller.js';
import { nameOf } from '../console-person.js';
import type { ActiveSession } from '../console-sessions.js';
import { html, type Html } from '../html.js';

/** What every console page is built from. */
export interface PageInput {
  title: string;
  session?: ActiveSession;
  body: Html;
  /** Which nav entry is current. */
  current?: string;
}

const has = (session: ActiveSession, ...roles: Role[]) => roles.some((r) => session.person.roles.includes(r));

function nav(session: ActiveSession, current: string | undefined): Html {
  const items: Array<[string, string, boolean]> = [
    ['home', 'Overview', true],
    ['requests', 'Requests', has(session, 'helpdesk', 'approver', 'admin', 'auditor')],
    ['new', 'File a request', has(session, 'helpdesk', 'admin')],
    ['approvals', 'Approvals', has(session, 'approver')],
    ['audit', 'Audit', has(session, 'auditor', 'admin')],
    ['alerts', 'Alerts', has(session, 'auditor', 'admin')],
    ['admin', 'Admin', has(session, 'admin')],
    ['status', 'Status', has(session, 'admin')],
  ];
  const href: Record<string, string> = {
    home: '/console/',
    requests: '/console/requests',
    new: '/console/requests/new',
    approvals: '/console/approvals',
    audit: '/console/audit',
    alerts: '/console/alerts',
    admin: '/console/admin',
    status: '/console/status',
  };
  return html`<nav aria-label="Console"><ul>${items
    .filter(([, , shown]) => shown)
    .map(([key, label]) => html`<li><a href="${href[key]}"${current === key ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul></nav>`;
}

/** A whole console page: header with the signed-in person and sign-out, navigation by role, the body. */
export function page(input: PageInput): string {
  const s = input.session;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${input.title} · Warden</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/console/">Warden</a>
${s ? nav(s, input.current) : ''}
${
  s
    ? html`<div class="who"><span>${nameOf(s.person)} · ${s.tenant} · ${s.person.roles.join(', ') || 'no Warden role'}</span>
<form method="post" action="/console/sign-out"><input type="hidden" name="csrf" value="${s.csrfToken}"><button class="link" type="submit">Sign out</button></form></div>`
    : ''
}
</header>
<main id="main">
${input.body}
</main>
</body>
</html>`.value;
}

/** A message box; `kind` error/warn/ok/info. Errors take keyboard focus. */
export function notice(kind: 'error' | 'warn' | 'ok' | 'info', title: string, text?: string | Html): Html {
  return html`<div class="notice ${kind === 'info' ? '' : kind}" role="${kind === 'error' ? 'alert' : 'status'}"${kind === 'error' ? html` data-focus` : ''}><p><strong>${title}</strong></p>${text ? html`<p>${text}</p>` : ''}</div>`;
}

/** The hidden CSRF field every form carries. */
export function csrfField(session: ActiveSession): Html {
  return html`<input type="hidden" name="csrf" value="${session.csrfToken}">`;
}

/** A time as people read it (UTC, to the minute), in a machine-readable <time>. */
export function when(iso: string | Date | undefined): Html {
  if (!iso) return html`<span class="muted">—</span>`;
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  return html`<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;
}
