import express, { type Request, type Response, type Router } from 'express';
import { isWardenError, type WardenErrorCode } from '../../core/errors.js';
import { htmlEscape } from '../../notify/channels/email-channel.js';
import { answerNotMe, inspectNotMe, type NotMeDeps } from '../../requests/not-me/answer-not-me.js';
import { FixedWindowLimiter } from '../fixed-window-limiter.js';
import type { Logger } from '../../runtime/logger.js';

/** The headers of every page: no scripts, no styles from anywhere, no framing, forms only to Warden, no referrer (the token is in the URL), no caching. */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

function page(res: Response, status: number, title: string, body: string): void {
  res.status(status).set(PAGE_HEADERS).type('text/html; charset=utf-8');
  res.send(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${htmlEscape(title)}</title></head><body><h1>${htmlEscape(title)}</h1>${body}</body></html>`,
  );
}

const FAILURES: Partial<Record<WardenErrorCode, [number, string]>> = {
  ERR_LINK_INVALID: [400, 'This link is not valid. Use the link from the e-mail exactly as it was sent, or call your help desk.'],
  ERR_LINK_EXPIRED: [410, 'This link has expired. If something happened to your account that you did not ask for, call your help desk or security team now.'],
  ERR_LINK_USED: [409, 'This link was used already. If you did not use it, call your security team now.'],
  ERR_LINK_WRONG_PERSON: [403, 'This link was not sent to you, or is about something else.'],
};

function failure(res: Response, err: unknown, log: Logger): void {
  const known = isWardenError(err) ? FAILURES[err.code] : undefined;
  if (known) return page(res, known[0], 'Link not accepted', `<p>${htmlEscape(known[1])}</p>`);
  log.error({ err }, 'not-me page failed');
  page(res, 500, 'Something went wrong', '<p>Warden could not handle this link. Call your help desk or security team.</p>');
}

/**
 * The pages behind "this wasn't me" links: `GET /me/confirm/:token` only
 * shows what happened and two buttons (so link scanners and previews that
 * fetch the URL change nothing); `POST /me/confirm` with the token and the
 * answer acts. Plain HTML, every value escaped, a CSP that allows no script.
 * Each address may load or answer at most 30 pages a minute.
 */
export function mountNotMePages(router: Router, deps: NotMeDeps & { log: Logger; limiter?: FixedWindowLimiter }): void {
  const limiter = deps.limiter ?? new FixedWindowLimiter(30, 60_000, () => deps.ctx.now());
  const limited = (req: Request, res: Response): boolean => {
    if (limiter.take(req.ip ?? 'unknown')) return false;
    res.set('retry-after', '60');
    page(res, 429, 'Too many attempts', '<p>Wait a minute and try again.</p>');
    return true;
  };

  router.get('/me/confirm/:token', async (req, res) => {
    if (limited(req, res)) return;
    const token = String(req.params.token);
    try {
      const view = await inspectNotMe(deps, token);
      const form = (answer: string, label: string) =>
        `<form method="post" action="/me/confirm"><input type="hidden" name="token" value="${htmlEscape(token)}"><input type="hidden" name="answer" value="${answer}"><button type="submit">${htmlEscape(label)}</button></form>`;
      page(
        res,
        200,
        'Was this you?',
        `<p>${htmlEscape(view.what)}</p><p>If you did not ask for this, press "This wasn't me": Warden cancels the request, holds your account in every sign-in system and tells security, who will contact you.</p>${form('not_me', "This wasn't me")}${form('was_me', 'It was me')}<p><small>This link works once, until ${htmlEscape(view.expiresAt)}. Warden never asks for your password or a code.</small></p>`,
      );
    } catch (err) {
      failure(res, err, deps.log);
    }
  });

  router.post('/me/confirm', express.urlencoded({ extended: false, limit: 4096, parameterLimit: 4 }), async (req, res) => {
    if (limited(req, res)) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const token = typeof body.token === 'string' ? body.token : '';
    const answer = body.answer === 'not_me' || body.answer === 'was_me' ? body.answer : undefined;
    if (!token || !answer) return page(res, 400, 'Link not accepted', '<p>Open the link from the e-mail and press one of the buttons.</p>');
    try {
      const done = await answerNotMe(deps, token, answer, { ...(req.get('user-agent') ? { userAgent: req.get('user-agent')! } : {}) });
      if (done.outcome === 'was_me') page(res, 200, 'Thank you', '<p>Your answer was recorded. The help desk still verifies your identity as usual.</p>');
      else
        page(
          res,
          200,
          'Security has been told',
          '<p>Warden stopped the request, is holding your account and has told security. They will contact you. Do not approve sign-in prompts you did not start.</p>',
        );
    } catch (err) {
      failure(res, err, deps.log);
    }
  });
}
