import type { ActiveSession } from '../console-sessions.js';
import { html } from '../html.js';
import { notice, page } from './layout.js';

/** A page that says what went wrong and that nothing changed, with a way back. */
export function errorPage(input: { title: string; message: string; session?: ActiveSession; back?: { href: string; label: string } }): string {
  return page({
    title: input.title,
    ...(input.session ? { session: input.session } : {}),
    body: html`<h1>${input.title}</h1>${notice('error', input.message)}
<p>${input.back ? html`<a href="${input.back.href}">${input.back.label}</a>` : html`<a href="/console/">Back to the console</a>`}</p>`,
  });
}
