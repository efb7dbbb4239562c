import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLOCK_START_ENV } from '../../src/core/clock.js';
import { DEMO_STATE_FILE, DemoControl, type AuditEntry } from '../../src/demo/demo-control.js';
import { READY_LINE } from '../../src/demo/run-demo.js';
import { useWardenProcess, wardenEnv, wardenNodeArgs } from '../helpers/warden-process.js';

useWardenProcess();

/**
 * `warden demo` as a person runs it: ONE demo process (the simulators, the
 * development sign-in and Warden), then both plays as separate `warden demo
 * --play` processes against it, then SIGTERM. Outcomes are read from the
 * running demo's control endpoint (the audit log, and what the simulated
 * IdPs show about a person), not from the plays' own words.
 *
 * The demo's clock starts at the test's now (WARDEN_CLOCK_START): the
 * development OpenID provider (oidc-provider) dates its tokens on the system
 * clock, so a clock elsewhere would make Warden refuse them as expired.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'warden-demo-'));
const clockStart = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
const children: ChildProcess[] = [];

function warden(args: string[], start: string = clockStart): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, wardenNodeArgs(...args), {
    cwd: dir,
    env: { ...process.env, ...wardenEnv(), LOG_LEVEL: 'warn', [CLOCK_START_ENV]: start },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

/** Resolves when `check` holds after some output, or rejects after `ms` naming what was awaited. */
function outputUntil(proc: ReturnType<typeof warden>, check: () => boolean, what: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`)), ms);
    const look = () => {
      if (!check()) return;
      clearTimeout(timer);
      resolve();
    };
    proc.child.stdout!.on('data', look);
    void proc.exit.then(() => {
      look();
      clearTimeout(timer);
      if (!check()) reject(new Error(`the process exited before ${what}\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`));
    });
    look();
  });
}

async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // A demo killed here leaves its own child (named in the state file) running: stop it too.
  const state = path.join(dir, DEMO_STATE_FILE);
  if (existsSync(state)) {
    try {
      process.kill((JSON.parse(readFileSync(state, 'utf8')) as { pid: number }).pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('warden demo: one process, both plays, then SIGTERM', () => {
  let demo: ReturnType<typeof warden>;
  let control: DemoControl;
  let childPid: number;
  const decisionOn = (audit: AuditEntry[], eventIds: (ids: string[]) => boolean) =>
    audit.filter((r) => r.type === 'decision.recorded' && eventIds(r.data.change.source.eventIds));

  it('starts everything on 127.0.0.1 and prints the URLs and each persona', async () => {
    demo = warden(['demo', '--dir', dir, '--port', '0', '--control-port', '0', '--oidc-port', '0']);
    await outputUntil(demo, () => demo.out().includes(READY_LINE), 'the ready line', 280_000);
    for (const line of [
      /Warden {11}https:\/\/127\.0\.0\.1:\d+/,
      /Sign-in \(OIDC\) {3}http:\/\/127\.0\.0\.1:\d+/,
      /Okta simulator {3}http:\/\/127\.0\.0\.1:\d+/,
      /Entra simulator {2}https:\/\/127\.0\.0\.1:\d+/,
      /ServiceNow {7}http:\/\/127\.0\.0\.1:\d+/,
      /Jira {13}http:\/\/127\.0\.0\.1:\d+/,
    ])
      expect(demo.out()).toMatch(line);
    for (const login of [
      'kim.agent@acme.example',
      'ann.approver@acme.example',
      'bob.approver@acme.example',
      'ada.admin@acme.example',
      'aud.auditor@acme.example',
      'dana.lee@acme.example',
      'eve.staff@acme.example',
    ])
      expect(demo.out()).toContain(login);
    control = (await DemoControl.find(dir))!;
    expect(control).toBeDefined();
    childPid = (JSON.parse(readFileSync(path.join(dir, DEMO_STATE_FILE), 'utf8')) as { pid: number }).pid;
  }, 300_000);

  it("creates the Graph subscription to Warden's own HTTPS listener (Graph validates the notification URL)", async () => {
    const deadline = performance.now() + 120_000;
    let types: string[] = [];
    while (!types.includes('entra.subscription.created') && performance.now() < deadline) {
      types = (await control.audit()).map((r) => r.type);
      if (!types.includes('entra.subscription.created')) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(types).toContain('entra.subscription.created');
  }, 150_000);

  it('plays the attack: Warden holds, raises an alert, and contains the person in Okta and Entra', async () => {
    // The play's clock starts later than the demo's (on a busy machine the demo takes minutes to start, and both
    // start at clockStart): here it is set 150 s behind, longer than a play waits for anything, so a play that
    // compared its own clock with a time the demo stamped would wait past its two minutes and fail.
    const lagging = new Date(Date.parse(clockStart) - 150_000).toISOString();
    const play = warden(['demo', '--dir', dir, '--play', 'attack'], lagging);
    expect(await bounded(play.exit, 240_000, 'the attack play'), play.out() + play.err()).toBe(0);
    expect(play.out()).toMatch(/Warden: DENY the factor\.reset_all \(helpdesk, from okta\), rule assisted-reset-privileged/);
    expect(play.out()).toMatch(/Warden: HOLD the mailbox\.rule \(self_service, from entra\), rule open-detection-alert/);
    expect(play.out()).toContain('Where to look');

    const audit = await control.audit();
    const info = await control.info();
    const dana = info.personas.find((p) => p.handle === 'dana')!;
    const danaDecisions = audit.filter((r) => r.type === 'decision.recorded' && [dana.oktaId, dana.entraId].includes(r.data.change.targetId));
    expect(danaDecisions.map((d) => [d.data.change.kind, d.data.outcome])).toEqual([
      ['factor.reset_all', 'deny'],
      ['factor.enroll', 'hold'],
      ['password.reset', 'hold'],
      ['mailbox.rule', 'hold'],
    ]);
    const rule = danaDecisions[3]!;
    const executed = audit
      .filter((r) => r.type === 'action.executed' && r.subject.decisionId === rule.subject.decisionId)
      .map((r) => `${r.data.connector}:${r.data.kind}`);
    expect(executed.sort()).toEqual(['entra:hold_group', 'entra:revoke_sessions', 'okta:hold_group', 'okta:revoke_sessions']);
    const alerts = audit.filter((r) => (r.type === 'alert.raised' || r.type === 'alert.grouped') && r.data.key === 'dana.lee@acme.example');
    expect(alerts[0]!.type).toBe('alert.raised');
    expect(new Set(alerts.map((a) => a.subject.alertId)).size).toBe(1);
    expect(rule.data.alerts).toEqual([expect.objectContaining({ id: alerts[0]!.subject.alertId, severity: expect.stringMatching(/^(high|critical)$/) })]);

    const state = await control.state('dana');
    expect(state.okta!.groups).toContain('Warden Hold');
    expect(state.okta!.sessions).toBe(0);
    expect(state.entra!.inHoldGroup).toBe(true);
  }, 270_000);

  it('plays the accountable path: request, proofing, approval by another person, reset, matched, allowed', async () => {
    const play = warden(['demo', '--dir', dir, '--play', 'accountable']);
    expect(await bounded(play.exit, 240_000, 'the accountable play'), play.out() + play.err()).toBe(0);
    const requestId = /request (\S+) is executed/.exec(play.out())?.[1];
    expect(requestId, play.out()).toBeDefined();

    const audit = await control.audit();
    const info = await control.info();
    const [eve, kim, ann] = ['eve', 'kim', 'ann'].map((h) => info.personas.find((p) => p.handle === h)!);
    const decision = decisionOn(audit, () => true)
      .filter((r) => r.data.change.targetId === eve!.oktaId)
      .at(-1)!;
    expect(decision.subject.requestId).toBe(requestId);
    expect(decision.data).toMatchObject({
      outcome: 'allow',
      actions: [],
      rules: [{ id: 'assisted-reset-standard', outcome: 'allow', requestId }],
      change: { kind: 'factor.reset_all', channel: 'helpdesk', actorId: kim!.oktaId },
    });
    const matched = audit.find((r) => r.type === 'request.matched' && r.subject.requestId === requestId)!;
    expect(matched.data).toMatchObject({ idp: 'okta', approvals: [{ approverId: ann!.oktaId }], ticket: { valid: true } });
    expect(matched.data.evidence.map((e: { method: string }) => e.method)).toEqual(['servicenow', 'okta_verify_push']);
    expect((await control.state('eve')).okta!.groups).not.toContain('Warden Hold');
  }, 270_000);

  it('stops everything on SIGTERM', async () => {
    const controlUrl = control.url;
    demo.child.kill('SIGTERM');
    expect(await bounded(demo.exit, 60_000, 'the demo stopping')).toBe(0);
    expect(demo.out()).toContain('Stopped.');
    expect(existsSync(path.join(dir, DEMO_STATE_FILE))).toBe(false);
    await expect(fetch(`${controlUrl}/demo/info`)).rejects.toThrow();
    // The demo process (a child that trusts the demo's certificate) is gone too.
    expect(() => process.kill(childPid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  }, 90_000);
});
