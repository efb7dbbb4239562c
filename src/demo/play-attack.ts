import { wardenCommand } from '../package-root.js';
import type { Play, RecordedDecision } from './play-support.js';

/** What the attack play saw, for scripts and tests. */
export interface AttackOutcome {
  target: string;
  decisions: RecordedDecision[];
  alert: { id: string; severity: string; rule: string; changes: number };
  contained: { okta: string[]; entra: string[] };
}

/**
 * `warden demo --play attack`: the help-desk social-engineering takeover
 * (the casino attack): a caller talks the help desk into resetting a
 * privileged user's MFA, enrolls their own factor, resets the password and
 * sets a mailbox rule that forwards the mail outside. Each step is done in
 * the simulators as it is done in the real IdPs; Warden's decision on each
 * is read from its audit log; the play ends when Warden has raised the alert
 * and contained the person in both IdPs.
 */
export async function playAttack(play: Play): Promise<AttackOutcome> {
  const target = play.persona('dana');
  const agent = play.persona('kim');
  await play.mark();
  play.say(`The casino attack on ${target.name} (${target.login}), ${target.part}.`);
  play.say(`A caller who says they are ${target.name.split(' ')[0]} phones the service desk: new phone, can't sign in, urgent payment run.`);

  play.step(`${agent.name} (service desk) resets all of ${target.name}'s factors in the Okta Admin Console. No change request, no ticket.`);
  const reset = await play.act({ idp: 'okta', action: 'reset-factors', target: 'dana', as: 'kim' });
  const d1 = await play.decisionOn(reset.eventId!);
  play.sayDecision(d1);

  play.step(`The caller enrolls their own Okta Verify on ${target.name}'s account.`);
  const enroll = await play.act({ idp: 'okta', action: 'enroll-factor', target: 'dana', arg: 'push' });
  const d2 = await play.decisionOn(enroll.eventId!);
  play.sayDecision(d2);

  play.step(`The caller resets ${target.name}'s password through self-service recovery, and signs in.`);
  const password = await play.act({ idp: 'okta', action: 'reset-password', target: 'dana' });
  const d3 = await play.decisionOn(password.eventId!);
  play.sayDecision(d3);
  await play.act({ idp: 'okta', action: 'sign-in', target: 'dana' });

  // Exchange's audit records carry whole seconds (CreationTime): in a real attack minutes pass here; the demo waits
  // a second, so the rule is not recorded as earlier than the password reset it follows. The wait is measured on
  // this process's clock as time elapsed since the reset was decided, not compared with the reset's time: that time
  // is the demo's clock, which may run ahead of this one by as long as the demo took to start.
  const decidedAt = play.clock().getTime();
  await play.until('a second after the password reset', async () => (play.clock().getTime() - decidedAt >= 1000 ? true : undefined));
  play.step(`In Outlook on the web, the caller adds an inbox rule to ${target.name}'s mailbox: forward everything outside, delete the original.`);
  play.say('(Microsoft 365 publishes Exchange audit records 60 to 90 minutes late; the demo publishes it at once and has Warden poll now.)');
  const rule = await play.act({ idp: 'entra', action: 'add-inbox-rule', target: 'dana' });
  const d4 = await play.decisionOn(rule.eventId!);
  play.sayDecision(d4);

  play.step('Warden correlates the chain into one alert on the person, and contains them in both IdPs.');
  const alert = await play.until('the alert on the chain', async () => {
    const res = await play.warden('GET', `/v1/alerts?key=${encodeURIComponent(target.login)}`);
    const found = (
      res.body?.alerts as
        | Array<{ id: string; severity: string; rule: string; status: string; changes: unknown[]; matches: Array<{ rule: string; severity: string }> }>
        | undefined
    )?.find((a) => a.status === 'open' && a.changes.length >= 4);
    return found;
  });
  play.say(`Alert ${alert.id}: ${alert.severity.toUpperCase()}, rule ${alert.rule}, ${alert.changes.length} changes across Okta and Microsoft 365`);
  for (const m of alert.matches) play.say(`        matched ${m.rule} (${m.severity})`);
  const executed = await play.until('containment in Okta and Entra', async () => {
    const done = (await play.audit()).filter((r) => r.type === 'action.executed' && r.subject.decisionId === d4.decisionId);
    const by = (idp: string) => done.filter((r) => r.data.connector === idp).map((r) => String(r.data.kind));
    return by('okta').includes('hold_group') &&
      by('entra').includes('hold_group') &&
      by('okta').includes('revoke_sessions') &&
      by('entra').includes('revoke_sessions')
      ? { okta: by('okta'), entra: by('entra') }
      : undefined;
  });
  const state = await play.control.state('dana');
  play.say(
    `Okta:  ${target.login} is in ${state.okta!.groups.filter((g) => g !== 'Everyone').join(', ')}; ${state.okta!.sessions} sessions left (${executed.okta.join(', ')})`,
  );
  play.say(
    `Entra: ${target.login} is ${state.entra!.inHoldGroup ? 'in' : 'NOT in'} the Warden hold group; sessions revoked from ${state.entra!.signInSessionsValidFrom} (${executed.entra.join(', ')})`,
  );

  play.step('Where to look');
  play.say(`The alert:      curl -s --cacert ${play.info.caFile} -H "Authorization: Bearer ${play.info.apiKey}" ${play.info.warden}/v1/alerts`);
  play.say(`The audit log:  curl -s ${play.info.control}/demo/audit   (every decision, action and alert, hash-chained)`);
  play.say(`Okta's view:    curl -s ${play.info.control}/demo/state/dana`);
  play.say(
    `Holds:          ${wardenCommand()} --config ${play.info.configFile} holds list --tenant ${play.info.tenant}   (an admin releases one once the person is verified: holds release)`,
  );
  play.say(`The audit chain: ${wardenCommand()} --config ${play.info.configFile} audit verify`);
  return {
    target: target.login,
    decisions: [d1, d2, d3, d4],
    alert: { id: alert.id, severity: alert.severity, rule: alert.rule, changes: alert.changes.length },
    contained: executed,
  };
}
