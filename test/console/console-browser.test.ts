import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { PEOPLE, startConsoleWorld, type ConsoleWorld, type Person } from './console-world.js';

/**
 * The console in a real browser (Debian's chromium through playwright-core):
 * people sign in at the development IdP, file, proof and approve a request,
 * the change is made in the Okta simulator and matched; and the console's
 * refusals: approving one's own request, a POST without its CSRF token, an
 * expired session, an approval without a fresh step-up sign-in.
 * Screenshots land in test/console/screenshots/.
 */
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(packageRoot(), 'test', 'console', 'screenshots');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('the console in a browser', { timeout: 240_000 }, () => {
  let w: ConsoleWorld;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    mkdirSync(SHOTS, { recursive: true });
    [w, browser] = await Promise.all([startConsoleWorld(), chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })]);
  }, 240_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await w?.close();
  });

  /** A fresh browser (its own cookies) at 1280×800, or phone width. */
  async function newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    return page;
  }
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  /** Picks the persona at the development IdP's login page and signs in. */
  async function idpLogin(page: Page, person: Person, shotName?: string) {
    await page.waitForURL(/\/interaction\//);
    await page.getByLabel('Persona').selectOption(PEOPLE[person].login);
    await page.getByLabel('Password').fill('demo');
    if (shotName) await shot(page, shotName);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${w.url}/console/**`);
  }
  async function signIn(page: Page, person: Person) {
    await page.goto(`${w.url}/console/`);
    await page.getByRole('link', { name: 'Sign in to acme' }).click();
    await idpLogin(page, person);
    await expect(page.getByRole('heading', { level: 1 })).toBeDefined();
  }
  const h1 = (page: Page) => page.getByRole('heading', { level: 1 }).innerText();

  let tickets = 300;
  /** Files a factor reset for `target` as `executor` through the form; returns the request's URL. */
  async function file(page: Page, target: Person, executor: Person): Promise<string> {
    const number = `INC0030${tickets++}`;
    w.ticket(number, target, executor);
    await page.getByRole('link', { name: 'File a request' }).first().click();
    await page.getByLabel("Target's login").fill(PEOPLE[target].login);
    await page.getByLabel('Ticket', { exact: false }).last().fill(number);
    await page.getByLabel('Detail').fill('+1 415 555 0100');
    return page.url();
  }
  async function submitFiling(page: Page): Promise<string> {
    await page.getByRole('button', { name: 'File the request' }).click();
    await page.waitForURL(/\/console\/requests\/[0-9a-f-]{36}\?done=filed/);
    return page.url().split('?')[0]!;
  }
  async function recordCallback(page: Page) {
    await page.getByLabel('Number you called back').fill('+1 415 555 0199');
    await page.getByLabel('Where the number came from').selectOption('hr');
    await page.getByLabel('When that number last changed (UTC)').fill('2024-06-01T00:00');
    await page.getByRole('button', { name: 'Record the callback' }).click();
    await page.waitForURL(/done=callback/);
  }

  it('signs in with the IdP and signs out', async () => {
    const page = await newPage();
    await page.goto(`${w.url}/console/`);
    expect(await h1(page)).toBe('Sign in to the Warden console');
    const csp = (await page.request.get(`${w.url}/console/`)).headers()['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await shot(page, 'console-sign-in');
    await page.getByRole('link', { name: 'Sign in to acme' }).click();
    await idpLogin(page, 'sam', 'console-idp-login');
    expect(await h1(page)).toBe('Welcome, Sam Agent');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'warden_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/console' });
    await shot(page, 'console-overview');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByText('You are signed out.').count()).toBe(1);
    await page.goto(`${w.url}/console/requests`);
    expect(await h1(page)).toBe('Sign in to the Warden console');
  });

  let requestUrl = '';
  it('files a request, proofs the caller, another person approves after step-up, and the change made in Okta is matched and allowed', async () => {
    const sam = await newPage();
    await signIn(sam, 'sam');
    await file(sam, 'dana', 'sam');
    await shot(sam, 'console-file-request');
    requestUrl = await submitFiling(sam);
    expect(await h1(sam)).toContain('Waiting for proofing');
    expect(await sam.getByText('What the policy needs, and why').count()).toBe(1);
    await shot(sam, 'console-request-proofing');
    w.advance(60_000);
    await recordCallback(sam);
    expect(await h1(sam)).toContain('Waiting for approval');

    const ann = await newPage();
    await signIn(ann, 'ann');
    await ann.getByRole('link', { name: 'Approvals' }).click();
    await ann.getByRole('link', { name: 'factor.reset_all' }).first().click();
    expect(ann.url()).toBe(requestUrl);
    // No decision without a fresh sign-in at the IdP.
    expect(await ann.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await shot(ann, 'console-approver-step-up');
    await ann.getByRole('link', { name: 'Sign in again to decide' }).click();
    await ann.waitForURL(/\/interaction\//);
    expect(await ann.getByText('Re-authentication').count()).toBe(1);
    await idpLogin(ann, 'ann', 'console-idp-step-up');
    expect(ann.url()).toContain('done=stepped_up');
    await shot(ann, 'console-approver-decide');
    await ann.getByLabel('Comment').fill('callback to the HR number checks out');
    await ann.getByRole('button', { name: 'Approve' }).click();
    await ann.waitForURL(/done=approve/);
    expect(await h1(ann)).toContain('Approved');

    w.advance(120_000);
    w.sim.adminResetFactors(w.people.sam.id, w.people.dana.id);
    await w.settle();
    await sam.goto(requestUrl);
    expect(await h1(sam)).toContain('Done: change matched and allowed');
    expect(await sam.getByText('matched this request and was allowed', { exact: false }).count()).toBe(1);
    await shot(sam, 'console-request-done');
    expect(w.sim.groupNames(w.people.dana.id)).not.toContain('Warden Hold');
  });

  it('refuses to let a person approve a request they filed, and says why', async () => {
    const olga = await newPage();
    await signIn(olga, 'olga');
    await file(olga, 'frank', 'olga');
    const url = await submitFiling(olga);
    await recordCallback(olga);
    await olga.goto(url);
    expect(await olga.getByText('Separation of duties: you are the executor of this request', { exact: false }).count()).toBe(1);
    await olga.getByRole('link', { name: 'Sign in again to decide' }).click();
    await idpLogin(olga, 'olga');
    await olga.getByRole('button', { name: 'Approve' }).click();
    expect(await olga.getByRole('alert').innerText()).toMatch(/separation of duties: you are the (executor|creator) of request/);
    await shot(olga, 'console-sod-refused');
    expect(await h1(olga)).toContain('Waiting for approval');
  });

  it('refuses a state change without the CSRF token, and changes nothing', async () => {
    const olga = await newPage();
    await signIn(olga, 'olga');
    await file(olga, 'frank', 'olga');
    const url = await submitFiling(olga);
    // A tampered form: the hidden token removed before submitting.
    await olga.locator('form[action$="/callback"] input[name=csrf]').evaluate((input) => input.remove());
    await olga.getByLabel('Number you called back').fill('+1 415 555 0199');
    await olga.getByLabel('When that number last changed (UTC)').fill('2024-06-01T00:00');
    const response = olga.waitForResponse((r) => r.url().endsWith('/callback'));
    await olga.getByRole('button', { name: 'Record the callback' }).click();
    expect((await response).status()).toBe(403);
    expect(await h1(olga)).toBe('Refused: the form could not be verified');
    await shot(olga, 'console-csrf-refused');
    // Another site's POST with the person's cookie carries no token either.
    const forged = await olga.request.post(`${url}/callback`, {
      form: { number: '+1 415 555 0199', numberSource: 'hr', numberLastChangedAt: '2024-06-01T00:00' },
    });
    expect(forged.status()).toBe(403);
    await olga.goto(url);
    expect(await h1(olga)).toContain('Waiting for proofing');
  });

  it('ends a session after the idle timeout (on the test clock) and asks to sign in again', async () => {
    const sam = await newPage({ width: 390, height: 844 });
    await signIn(sam, 'sam');
    await sam.goto(requestUrl);
    await shot(sam, 'console-phone-request');
    w.advance(31 * 60_000);
    await sam.goto(`${w.url}/console/requests`);
    expect(await h1(sam)).toBe('Sign in to the Warden console');
    expect(await sam.getByText('your session ended after a period without activity', { exact: false }).count()).toBe(1);
    await shot(sam, 'console-session-expired');
  });

  it('asks for step-up: an approval posted without a fresh sign-in is refused and nothing is approved', async () => {
    const sam = await newPage();
    await signIn(sam, 'sam');
    await file(sam, 'dana', 'sam');
    const url = await submitFiling(sam);
    await recordCallback(sam);
    const ann = await newPage();
    await signIn(ann, 'ann');
    await ann.goto(url);
    const csrf = await ann.locator('input[name=csrf]').first().inputValue();
    const res = await ann.request.post(`${url}/approve`, { form: { csrf } });
    expect(res.status()).toBe(401);
    expect(await res.text()).toContain('needs a fresh sign-in at your identity provider');
    await ann.goto(url);
    expect(await h1(ann)).toContain('Waiting for approval');
  });

  /** Sam (help desk), still signed in after the bad-input test: later tests reuse the session instead of signing in again. */
  let helpdesk: Page;
  it('says what is wrong and changes nothing: a replayed sign-in callback, an unknown target, a tampered form, a wrong role, an expired request', async () => {
    const sam = await newPage();
    helpdesk = sam;
    let callback = '';
    sam.on('request', (r) => {
      if (r.url().includes('/console/callback?')) callback = r.url();
    });
    await signIn(sam, 'sam');
    await sam.goto(callback);
    expect(await h1(sam)).toBe('Sign-in refused');
    expect(await sam.getByRole('alert').innerText()).toContain('already used');
    await shot(sam, 'console-replayed-callback');

    const count = async () => (await w.server.store.listRequests('acme', {}, 1000)).length;
    const before = await count();
    await sam.goto(`${w.url}/console/requests/new`);
    await sam.getByLabel("Target's login").fill('nobody@acme.example');
    await sam.getByLabel('Ticket', { exact: false }).last().fill('INC0039999');
    await sam.getByRole('button', { name: 'File the request' }).click();
    expect(await sam.getByRole('alert').innerText()).toMatch(/The request was not filed; nothing was changed\.[\s\S]*nobody@acme\.example/);
    expect(await sam.getByLabel("Target's login").inputValue()).toBe('nobody@acme.example');
    await shot(sam, 'console-unknown-target');

    await sam.getByLabel("Target's login").fill(PEOPLE.dana.login);
    await sam.locator('select[name=kind]').evaluate((select) => {
      (select as unknown as { innerHTML: string }).innerHTML = '<option value="evil.kind" selected>evil</option>';
    });
    const tampered = sam.waitForResponse((r) => r.url().endsWith('/console/requests') && r.request().method() === 'POST');
    await sam.getByRole('button', { name: 'File the request' }).click();
    expect((await tampered).status()).toBe(400);
    expect(await sam.getByRole('alert').innerText()).toContain('the form is not valid');
    expect(await count()).toBe(before);

    // Sam is help desk, not an approver.
    await file(sam, 'dana', 'sam');
    const url = await submitFiling(sam);
    const csrf = await sam.locator('input[name=csrf]').first().inputValue();
    const wrongRole = await sam.request.post(`${url}/approve`, { form: { csrf } });
    expect(wrongRole.status()).toBe(403);
    expect(await wrongRole.text()).toContain('needs the role approver');

    // A day later the request has expired: the page says so and proofing is refused.
    w.advance(25 * 3_600_000);
    await w.server.workflow.sweep();
    // Sam's console session ended meanwhile; the IdP still knows Sam, so signing in again brings Sam back to the request.
    await sam.goto(url);
    await sam.getByRole('link', { name: 'Sign in to acme' }).click();
    await sam.waitForURL(url);
    expect(await h1(sam)).toContain('Expired');
    expect(await sam.getByText('This request has expired').count()).toBe(1);
    const late = await sam.request.post(`${url}/callback`, {
      form: {
        csrf: await sam.locator('input[name=csrf]').first().inputValue(),
        number: '+1 415 555 0199',
        numberSource: 'hr',
        numberLastChangedAt: '2024-06-01T00:00',
      },
    });
    expect(late.status()).toBe(409);
    expect(await late.text()).toContain('expired');
    await shot(sam, 'console-expired-request');
  });

  it('lets an auditor read and verify the audit log and download the accountability report; others may not', async () => {
    aude = await newPage();
    await signIn(aude, 'aude');
    await aude.getByRole('link', { name: 'Audit' }).click();
    expect(await h1(aude)).toBe('Audit log');
    expect(await aude.getByText('request.created').count()).toBeGreaterThan(0);
    await aude.getByRole('button', { name: 'Verify the chain' }).click();
    expect(await aude.getByRole('status').first().innerText()).toMatch(/The chain verifies: \d+ records/);
    await shot(aude, 'console-audit');
    const csv = await aude.request.get(`${w.url}/console/reports/accountability.csv`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-disposition']).toContain('attachment');
    expect((await csv.text()).split('\n').length).toBeGreaterThan(2);
    await aude.getByRole('link', { name: 'Alerts' }).click();
    expect(await h1(aude)).toBe('Alerts');

    const sam = await newPage();
    await signIn(sam, 'sam');
    const refused = await sam.request.get(`${w.url}/console/audit`);
    expect(refused.status()).toBe(403);
    expect(await refused.text()).toContain('needs the role auditor or admin');
  });

  let adam: Page;
  let aude: Page;
  it('lets an admin add and revoke a policy exception; a bad one is refused on the page', async () => {
    adam = await newPage();
    await signIn(adam, 'adam');
    expect(await adam.locator('svg.chart[aria-labelledby="chart-Latest-requests-by-state"] rect').count()).toBe(5);
    await adam.getByRole('link', { name: 'Admin' }).click();
    expect(await h1(adam)).toBe('Admin');
    const fill = async (reason: string) => {
      await adam.getByLabel('Rule id').fill('assisted-reset-standard');
      await adam.getByLabel('Target (login or IdP id)').fill(PEOPLE.frank.login);
      await adam.getByLabel('Owner').fill(PEOPLE.adam.login);
      await adam.getByLabel('Reason').fill(reason);
      await adam.getByLabel('Expires (UTC)').fill(new Date(w.clock.now.getTime() + 7 * 86_400_000).toISOString().slice(0, 16));
      await adam.getByRole('button', { name: 'Add the exception' }).click();
    };
    await fill('short');
    expect(await adam.getByRole('alert').innerText()).toContain('Not done; nothing was changed.');
    expect(await adam.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await fill('vendor migration weekend, agreed with IAM');
    await adam.waitForURL(/done=exception/);
    expect(await adam.getByText('vendor migration weekend, agreed with IAM', { exact: false }).count()).toBe(1);
    await shot(adam, 'console-admin');
    await adam.getByRole('button', { name: 'Revoke' }).click();
    await adam.waitForURL(/done=revoked/);
    expect(await adam.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
  });

  /** The CSRF token of a signed-in page (any form carries it). */
  const csrfOf = (page: Page) => page.locator('input[name=csrf]').first().inputValue();

  let heldDecision = '';
  it('lets an admin release a hold with a reason; a short reason, a tampered form, a wrong role, an unknown or released hold are refused and change nothing', async () => {
    // Sam resets Frank's factors in Okta with no request: Warden holds the change; then a new factor and a password reset make a takeover chain.
    w.advance(60_000);
    w.sim.adminResetFactors(w.people.sam.id, w.people.frank.id);
    w.sim.selfEnroll(w.people.frank.id, 'sms');
    w.advance(60_000);
    w.sim.resetPassword(w.people.sam.id, w.people.frank.id);
    await w.settle();
    const holds = await w.server.store.listHolds('acme', 50);
    const frankHold = holds.find((d) => d.outcome === 'hold');
    expect(frankHold).toBeDefined();
    heldDecision = frankHold!.id;
    expect(w.sim.groupNames(w.people.frank.id)).toContain('Warden Hold');

    await adam.goto(`${w.url}/console/admin`);
    const form = adam.locator(`form[action="/console/admin/holds/${heldDecision}/release"]`);
    expect(await form.count()).toBe(1);
    const released = async () => (await w.server.store.getRelease('acme', heldDecision)) !== undefined;

    // Too short a reason: said on the page, nothing released.
    await form.getByLabel('Why release it').fill('ok');
    await form.getByRole('button', { name: 'Release this hold' }).click();
    expect(await adam.getByRole('alert').innerText()).toContain('at least 10 characters');
    expect(await released()).toBe(false);

    // A tampered form (the CSRF token removed): refused, nothing released.
    await adam.goto(`${w.url}/console/admin`);
    await form.locator('input[name=csrf]').evaluate((input) => input.remove());
    await form.getByLabel('Why release it').fill('caller verified on the HR number, ticket INC0030999');
    const tampered = adam.waitForResponse((r) => r.url().endsWith('/release'));
    await form.getByRole('button', { name: 'Release this hold' }).click();
    expect((await tampered).status()).toBe(403);
    expect(await h1(adam)).toBe('Refused: the form could not be verified');
    expect(await released()).toBe(false);

    // A wrong role: the auditor's own session and token, refused by the workflow.
    const asAuditor = await aude.request.post(`${w.url}/console/admin/holds/${heldDecision}/release`, {
      form: { csrf: await csrfOf(aude), reason: 'an auditor should not release holds' },
    });
    expect(asAuditor.status()).toBe(403);
    expect(await asAuditor.text()).toContain('releasing a hold needs the role admin');
    expect(await released()).toBe(false);

    // An unknown decision.
    await adam.goto(`${w.url}/console/admin`);
    const unknown = await adam.request.post(`${w.url}/console/admin/holds/00000000-0000-7000-8000-000000000000/release`, {
      form: { csrf: await csrfOf(adam), reason: 'releasing something that does not exist' },
    });
    expect(unknown.status()).toBe(404);
    expect(await unknown.text()).toContain('no decision 00000000-0000-7000-8000-000000000000');

    await form.getByLabel('Why release it').fill('caller verified on the HR number, ticket INC0030999');
    await shot(adam, 'console-admin-holds');
    await form.getByRole('button', { name: 'Release this hold' }).click();
    await adam.waitForURL(/done=released/);
    expect(await adam.getByRole('status').first().innerText()).toContain('The hold is released');
    expect(await adam.locator(`form[action="/console/admin/holds/${heldDecision}/release"]`).count()).toBe(0);
    expect((await w.server.store.getRelease('acme', heldDecision))?.reason).toBe('caller verified on the HR number, ticket INC0030999');
    await w.settle();
    expect(w.sim.groupNames(w.people.frank.id)).not.toContain('Warden Hold');

    // The same form again (a replay): refused, said why.
    const again = await adam.request.post(`${w.url}/console/admin/holds/${heldDecision}/release`, {
      form: { csrf: await csrfOf(adam), reason: 'caller verified on the HR number, ticket INC0030999' },
    });
    expect(again.status()).toBe(409);
    expect(await again.text()).toContain('was released before');
  });

  it('lets an admin close an alert with a reason, shown on its timeline; refusals change nothing', async () => {
    const alerts = await w.server.store.listAlerts('acme', { limit: 10, status: 'open' });
    expect(alerts.length).toBeGreaterThan(0);
    const alert = alerts[0]!;
    await adam.getByRole('link', { name: 'Alerts' }).click();
    expect(await h1(adam)).toBe('Alerts');
    const card = adam.locator('section.card', { has: adam.locator(`#alert-${alert.id}`) });
    expect(await card.locator('ol.timeline li').count()).toBeGreaterThanOrEqual(alert.changes.length + 1);
    expect(await card.getByText('Rule matched:').count()).toBeGreaterThan(0);

    // Wrong role: the auditor sees the alerts but no close form, and a forged POST is refused.
    await aude.goto(`${w.url}/console/alerts`);
    expect(await aude.getByRole('button', { name: 'Close this alert' }).count()).toBe(0);
    const asAuditor = await aude.request.post(`${w.url}/console/alerts/${alert.id}/close`, { form: { csrf: await csrfOf(aude), reason: 'not mine to close' } });
    expect(asAuditor.status()).toBe(403);
    expect(await asAuditor.text()).toContain('closing an alert needs the role admin');
    // No reason, an unknown alert, a missing CSRF token.
    const noReason = await adam.request.post(`${w.url}/console/alerts/${alert.id}/close`, { form: { csrf: await csrfOf(adam), reason: ' ' } });
    expect(noReason.status()).toBe(400);
    expect(await noReason.text()).toContain('closing an alert needs a reason');
    const unknown = await adam.request.post(`${w.url}/console/alerts/00000000-0000-7000-8000-000000000000/close`, {
      form: { csrf: await csrfOf(adam), reason: 'no such alert' },
    });
    expect(unknown.status()).toBe(404);
    expect(await unknown.text()).toContain('no alert 00000000-0000-7000-8000-000000000000');
    const forged = await adam.request.post(`${w.url}/console/alerts/${alert.id}/close`, { form: { reason: 'forged' } });
    expect(forged.status()).toBe(403);
    expect((await w.server.store.getAlert('acme', alert.id))?.status).toBe('open');

    await card.getByLabel('Why close it').fill('Frank confirmed the reset with the service desk; hold released');
    await shot(adam, 'console-alerts');
    await card.getByRole('button', { name: 'Close this alert' }).click();
    await adam.waitForURL(/done=closed/);
    const closedCard = adam.locator('section.card', { has: adam.locator(`#alert-${alert.id}`) });
    expect(await closedCard.locator('ol.timeline li').last().innerText()).toContain('Closed by Adam Admin: Frank confirmed the reset');
    await shot(adam, 'console-alert-closed');
    const stored = await w.server.store.getAlert('acme', alert.id);
    expect(stored?.closed).toMatchObject({
      by: { type: 'user', id: w.people.adam.id },
      reason: 'Frank confirmed the reset with the service desk; hold released',
    });
    const again = await adam.request.post(`${w.url}/console/alerts/${alert.id}/close`, { form: { csrf: await csrfOf(adam), reason: 'twice' } });
    expect(again.status()).toBe(409);
    expect(await again.text()).toContain('was closed before');
  });

  it("gives auditors a request's evidence bundle whose audit records verify; others may not", async () => {
    await aude.goto(requestUrl);
    const link = aude.getByRole('link', { name: 'Download the evidence bundle (JSON)' });
    expect(await link.count()).toBe(1);
    const res = await aude.request.get(`${requestUrl}/evidence.json`);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-disposition']).toContain('attachment');
    const bundle = (await res.json()) as any;
    expect(bundle.request.id).toBe(requestUrl.split('/').pop());
    expect(bundle.transitions.map((t: { type: string }) => t.type)).toEqual(expect.arrayContaining(['request.created', 'request.approved']));
    expect(bundle.approvals).toHaveLength(1);
    expect(bundle.proofing.length).toBeGreaterThan(0);
    expect(bundle.matched.decision.outcome).toBe('allow');
    expect(bundle.audit.length).toBeGreaterThan(3);
    for (const r of bundle.audit) {
      expect(createHash('sha256').update(r.record).digest('hex')).toBe(r.hash);
      expect(JSON.parse(r.record).prevHash).toBe(r.prevHash);
    }
    expect(bundle.audit.map((r: { type: string }) => r.type)).toContain('decision.recorded');
    const refused = await helpdesk.request.get(`${requestUrl}/evidence.json`);
    expect(refused.status()).toBe(403);
    expect(await refused.text()).toContain('an evidence bundle needs the role auditor or admin');
  });

  it('shows the dashboard, policy status and connector health, with text alternatives, at 1280×800 and at phone width', async () => {
    await adam.goto(`${w.url}/console/`);
    const decisions = adam.locator('svg.chart[aria-labelledby="decisions-title"]');
    expect(await decisions.count()).toBe(1);
    expect(await adam.locator('#decisions-title').textContent()).toMatch(/\d+ allowed/);
    expect(await adam.locator('svg.chart rect').count()).toBeGreaterThan(5);
    expect(await adam.getByText('Show the data as a table').count()).toBe(1);
    expect(await adam.getByText('held change', { exact: false }).count()).toBeGreaterThan(0);
    await shot(adam, 'console-dashboard');
    await adam.getByRole('link', { name: 'Status' }).click();
    expect(await h1(adam)).toBe('Policy and connector status');
    expect(await adam.getByText(w.server.policies.get('acme').version).count()).toBe(1);
    expect(await adam.getByRole('row', { name: /Okta event hook/ }).innerText()).toContain('verified');
    expect(await adam.getByRole('row', { name: /Deliveries in, failed/ }).innerText()).toContain('0');
    await shot(adam, 'console-status');
    const phone = await adam
      .context()
      .browser()!
      .newContext({ viewport: { width: 390, height: 844 }, storageState: await adam.context().storageState() });
    contexts.push(phone);
    const small = await phone.newPage();
    await small.goto(`${w.url}/console/`);
    // Nothing wider than the phone: no sideways scrolling of the page.
    expect(await small.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(small, 'console-phone-dashboard');
    await small.goto(`${w.url}/console/status`);
    expect(await small.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(small, 'console-phone-status');
    await small.goto(`${w.url}/console/alerts`);
    expect(await small.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(small, 'console-phone-alerts');
  });

  /** Run in the page (the tests are type-checked without the DOM's types): the controls with no label, no text and no aria-label. */
  const UNLABELLED = `[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter((el) => {
      const id = el.getAttribute('id');
      const named = el.tagName === 'BUTTON'
        ? (el.textContent || '').trim() !== ''
        : (id !== null && document.querySelector('label[for="' + id + '"]') !== null) || el.closest('label') !== null;
      return !named && !el.getAttribute('aria-label');
    })
    .map((el) => el.outerHTML.slice(0, 80))`;

  it('can be used with the keyboard alone, and every control has a label', async () => {
    for (const path of ['/console/', '/console/admin', '/console/alerts', '/console/status', '/console/audit', '/console/requests/new']) {
      await adam.goto(`${w.url}${path}`);
      const unlabelled = await adam.evaluate<string[]>(UNLABELLED);
      expect(unlabelled, path).toEqual([]);
    }
    // The first Tab reaches the skip link, Enter moves to the content, further Tabs reach the page's controls in order.
    await adam.goto(`${w.url}/console/admin`);
    await adam.keyboard.press('Tab');
    expect(await adam.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await adam.keyboard.press('Enter');
    expect(adam.url()).toContain('#main');
    const focused: string[] = [];
    for (let i = 0; i < 40 && !focused.includes('Add the exception'); i++) {
      await adam.keyboard.press('Tab');
      focused.push(await adam.evaluate<string>("(document.activeElement.textContent || '').trim() || document.activeElement.getAttribute('name') || ''"));
    }
    expect(focused).toEqual(expect.arrayContaining(['ruleId', 'target', 'reason', 'Add the exception']));
  });
});
