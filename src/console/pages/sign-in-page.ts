import type { ConsoleTenant } from '../oidc-sign-in.js';
import { html } from '../html.js';
import { notice, page } from './layout.js';

/** The sign-in page: one button per tenant whose IdP offers the console. */
export function signInPage(tenants: readonly ConsoleTenant[], options: { message?: string; returnTo?: string; signedOut?: boolean } = {}): string {
  const ret = options.returnTo && options.returnTo !== '/console/' ? `&return=${encodeURIComponent(options.returnTo)}` : '';
  return page({
    title: 'Sign in',
    body: html`<h1>Sign in to the Warden console</h1>
${options.signedOut ? notice('ok', 'You are signed out.') : ''}
${options.message ? notice('warn', options.message.charAt(0).toUpperCase() + options.message.slice(1)) : ''}
<div class="card">
<p>Sign in with your organisation's identity provider. You see the tenants whose identity provider signs you in, with the Warden roles your groups give you.</p>
<ul class="signin-list">${tenants.map(
      (t) =>
        html`<li><a class="button" href="/console/sign-in?tenant=${encodeURIComponent(t.id)}${ret}">Sign in to ${t.id}</a> <span class="muted">with ${new URL(t.oidc.issuer).host}</span></li>`,
    )}</ul>
${tenants.length === 0 ? html`<p>No tenant offers the console yet: set <code>tenants[].oidc.console</code> in warden.yaml (docs/console.md).</p>` : ''}
</div>`,
  });
}
