import { WardenError } from '../core/errors.js';
import type { Play, RecordedDecision } from './play-support.js';
import { DEMO_PASSWORD } from './personas.js';

/** What the accountable play saw, for scripts and tests. */
export interface AccountableOutcome {
  requestId: string;
  ticket: string;
  state: string;
  decision: RecordedDecision;
}

/**
 * `warden demo --play accountable`: the same kind of reset done the
 * accountable way. The agent logs the call in ServiceNow (Table API), files
 * a change request in Warden citing it, proofs the caller with an Okta
 * Verify push the real person approves on their phone, another person
 * approves after a fresh sign-in, and only then the agent resets the factors
 * in Okta. Okta's event hook brings the reset to Warden, which matches it to
 * the request and allows it.
 */
export async function playAccountable(play: Play): Promise<AccountableOutcome> {
  const target = play.persona('eve');
  const agent = play.persona('kim');
  const approver = play.persona('ann');
  await play.mark();
  play.say(`The accountable path for ${target.name} (${target.login}), ${target.part}.`);

  play.step(`${target.name} calls the service desk: new phone. ${agent.name} logs the call in ServiceNow.`);
  const snow = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${play.info.servicenow}${route}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${agent.login.split('@')[0]}:${DEMO_PASSWORD}`).toString('base64')}`,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new WardenError('ERR_UPSTREAM', `ServiceNow answered ${res.status} to ${method} ${route}`);
    // biome-ignore lint/suspicious/noExplicitAny: the control endpoint's JSON answer, narrowed where used
    return (await res.json()) as { result: any };
  };
  const caller = (await snow('GET', `/api/now/table/sys_user?sysparm_query=user_name=${encodeURIComponent(target.login.split('@')[0]!)}&sysparm_fields=sys_id`))
    .result[0].sys_id as string;
  const group = (await snow('GET', `/api/now/table/sys_user_group?sysparm_query=${encodeURIComponent('name=Service Desk')}&sysparm_fields=sys_id`)).result[0]
    .sys_id as string;
  const incident = (
    await snow('POST', '/api/now/table/incident', {
      caller_id: caller,
      assignment_group: group,
      contact_type: 'phone',
      state: '2',
      short_description: `MFA reset: ${target.name} replaced their phone`,
    })
  ).result;
  play.say(`ServiceNow: incident ${incident.number}, In Progress, caller ${target.login}, opened by ${agent.login}, Service Desk`);

  play.step(`${agent.name} signs in to Warden and files a change request: reset ${target.name}'s factors, citing ${incident.number}.`);
  const agentToken = await play.signIn('kim');
  const filed = await play.warden('POST', '/v1/requests', {
    token: agentToken,
    body: {
      tenant: play.info.tenant,
      kind: 'factor.reset_all',
      target: { login: target.login },
      requester: { id: target.oktaId },
      justification: { ticket: { system: 'servicenow', id: incident.number } },
      contact: { channel: 'phone' },
    },
  });
  if (filed.status !== 201)
    throw new WardenError('ERR_UPSTREAM', `Warden refused the request (${filed.status}): ${filed.body?.detail ?? JSON.stringify(filed.body)}`);
  const requestId = filed.body.id as string;
  play.say(
    `Warden: request ${requestId}, ${filed.body.state}; the policy needs ${filed.body.needs.proofing} proofing, ${filed.body.needs.approvals.count} approval from ${filed.body.needs.approvals.from.join(', ')} (rule ${filed.body.needs.rules.join(', ')}); ticket ${filed.body.ticket.state}`,
  );

  play.step(`Proofing: Warden sends an Okta Verify push to ${target.name}'s phone, through Okta; ${target.name} approves it.`);
  const push = await play.warden('POST', `/v1/requests/${requestId}/proofing/push`, { token: agentToken, body: { tenant: play.info.tenant } });
  if (push.status !== 202) throw new WardenError('ERR_UPSTREAM', `Warden could not send the push (${push.status}): ${push.body?.detail}`);
  await play.act({ idp: 'okta', action: 'answer-push', target: 'eve', arg: 'approve' });
  const proofed = await play.until('the push answer', async () => {
    const poll = await play.warden('POST', `/v1/requests/${requestId}/proofing/push/${push.body.transactionId}`, {
      token: agentToken,
      body: { tenant: play.info.tenant },
    });
    return poll.body?.status === 'success' ? poll.body : undefined;
  });
  play.say(`Warden: proofing ${proofed.request.proofing.level} by ${proofed.request.proofing.method}; request ${proofed.request.state}`);

  play.step(`${approver.name} (IAM approver), another person, signs in again and approves.`);
  const approved = await play.warden('POST', `/v1/requests/${requestId}/approve`, {
    token: await play.signIn('ann'),
    body: { tenant: play.info.tenant, comment: `${incident.number} and the push check out` },
  });
  if (approved.status !== 200) throw new WardenError('ERR_UPSTREAM', `Warden refused the approval (${approved.status}): ${approved.body?.detail}`);
  play.say(`Warden: request ${approved.body.state}, approved by ${approver.login}; valid until ${approved.body.expiresAt ?? 'its ttl'}`);

  play.step(`${agent.name} resets ${target.name}'s factors in the Okta Admin Console.`);
  const reset = await play.act({ idp: 'okta', action: 'reset-factors', target: 'eve', as: 'kim' });
  const decision = await play.decisionOn(reset.eventId!);
  play.sayDecision(decision);

  play.step('Matched and used up.');
  const request = await play.until('the request to be executed', async () => {
    const res = await play.warden('GET', `/v1/requests/${requestId}`, { token: agentToken });
    return res.body?.state === 'executed' ? res.body : undefined;
  });
  play.say(
    `Warden: request ${requestId} is ${request.state}: it matched change ${request.consumed.changeId} (decision ${request.consumed.decisionId}) and cannot be used again.`,
  );
  play.say(`The evidence (ticket, push, approval) is in the audit log: curl -s ${play.info.control}/demo/audit`);
  return { requestId, ticket: incident.number, state: request.state, decision };
}
