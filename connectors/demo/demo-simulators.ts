import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { WardenError } from '../../src/core/errors.js';
import type { ActRequest, ActResult, DemoKit, DemoKitInput, DemoPersona, DemoSimulators, PersonState } from '../../src/connector/index.js';
import { createEntraConnector } from '../entra/index.js';
import { graphCallPermissions } from '../entra/graph-calls.js';
import { startGraphSimulator } from '../entra/simulator/graph-simulator.js';
import { throwawayCertificate } from '../entra/simulator/self-signed-certificate.js';
import { itsmConnector } from '../itsm/index.js';
import { JiraSimulator } from '../itsm/simulator/jira-simulator.js';
import { ServiceNowSimulator } from '../itsm/simulator/servicenow-simulator.js';
import { oktaConnector } from '../okta/index.js';
import { createOktaTenants } from '../okta/okta-tenant.js';
import { registerEventHook } from '../okta/provision.js';
import { OktaSimulator } from '../okta/simulator/okta-simulator.js';
import { inboxRuleRecord } from './exchange-records.js';

/**
 * `warden demo`'s simulators (the DemoKit port of src/connector/demo-kit.ts): the
 * Okta simulator (plain HTTP, event hooks to Warden), the Entra / Microsoft
 * Graph simulator over HTTPS with the demo's throw-away certificate (with the
 * Office 365 Management Activity API), and the ServiceNow and Jira
 * simulators, all on 127.0.0.1, on the demo's one clock, seeded with the
 * same personas; and `act`, which does in them what people do in the admin
 * consoles, the Sign-In Widget and Outlook.
 */

const DAY = 86_400_000;

function persona(personas: readonly DemoPersona[], name: string | undefined, what: string): DemoPersona {
  const n = (name ?? '').toLowerCase();
  const p = personas.find((x) => x.handle === n || x.login === n);
  if (!p) throw new WardenError('ERR_VALIDATION', `${what}: no persona "${name ?? ''}" (one of ${personas.map((x) => x.handle).join(', ')})`);
  return p;
}

/** A demo certificate (named so) valid for at least another day, by the system time TLS checks it against. */
function stillGood(pem: string): boolean {
  try {
    const cert = new X509Certificate(pem);
    return cert.subject.startsWith('CN=Warden demo ') && Date.parse(cert.validTo) > systemClock().getTime() + DAY;
  } catch {
    return false;
  }
}

export const demoKit: DemoKit = {
  certificate(dir) {
    mkdirSync(dir, { recursive: true });
    const certFile = path.join(dir, 'tls-cert.pem');
    const keyFile = path.join(dir, 'tls-key.pem');
    if (!existsSync(certFile) || !existsSync(keyFile) || !stillGood(readFileSync(certFile, 'utf8'))) {
      // A name of its own: OpenSSL finds a trust anchor by subject name, and another throw-away "localhost" CA in the
      // same trust bundle (a test suite's, another tool's) would be picked instead of this one.
      const { certPem, keyPem } = throwawayCertificate({ days: 365, commonName: `Warden demo ${randomBytes(6).toString('hex')}` });
      writeFileSync(keyFile, keyPem, { mode: 0o600 });
      writeFileSync(certFile, certPem);
    }
    // The certificate is its own CA: the file Node trusts (NODE_EXTRA_CA_CERTS) is the certificate.
    return { certFile, keyFile, caFile: certFile };
  },

  async start(input: DemoKitInput): Promise<DemoSimulators> {
    const { clock, personas } = input;
    const started: Array<() => Promise<void>> = [];
    try {
      // ---- Okta
      const okta = await new OktaSimulator({ clock }).start();
      started.push(() => okta.close());
      okta.addGroup('Warden Hold');
      const oktaIds: Record<string, string> = {};
      for (const p of personas) {
        const u = okta.addUser({ login: p.login, firstName: p.firstName, lastName: p.lastName }, { roles: p.oktaRoles ?? [], groups: p.groups });
        oktaIds[p.handle] = u.id;
        if (p.factor) okta.addFactor(u.id, 'push', new Date(clock().getTime() - 30 * DAY));
      }

      // ---- Entra (HTTPS, the demo's certificate)
      const tls = demoKit.certificate(input.dir);
      const entraTenantId = randomUUID();
      const clientId = randomUUID();
      const clientSecret = randomBytes(24).toString('base64url');
      const graph = await startGraphSimulator({
        tls: { cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8') },
        tenantId: entraTenantId,
        clock,
        ...(input.ports?.entra ? { port: input.ports.entra } : {}),
      });
      started.push(() => graph.close());
      const perms = graphCallPermissions();
      graph.directory.addApp({
        appId: clientId,
        displayName: 'Warden',
        secrets: [clientSecret],
        permissions: [...perms.microsoftGraph, ...perms.office365ManagementApis],
      });
      const entraIds: Record<string, string> = {};
      for (const p of personas) {
        const u = graph.directory.addUser({ userPrincipalName: p.login, displayName: `${p.firstName} ${p.lastName}`, employeeType: 'employee' });
        entraIds[p.handle] = u.id;
        if (p.entraRole) graph.directory.assignRole(u.id, p.entraRole);
      }
      const hold = graph.directory.addGroup({ displayName: 'Warden hold' });

      // ---- ServiceNow and Jira
      const servicenow = await new ServiceNowSimulator(clock).start(input.ports?.servicenow ?? 0);
      started.push(() => servicenow.close());
      const snowPassword = randomBytes(18).toString('base64url');
      servicenow.addUser({ user_name: 'warden.integration', email: 'warden@acme.example', name: 'Warden integration', password: snowPassword });
      servicenow.addGroup('Service Desk');
      for (const p of personas)
        servicenow.addUser({
          user_name: p.login.split('@')[0]!,
          email: p.login,
          name: `${p.firstName} ${p.lastName}`,
          ...(p.agent ? { password: input.password } : {}),
        });
      const jira = await new JiraSimulator(['HELP'], clock).start(input.ports?.jira ?? 0);
      started.push(() => jira.close());
      const jiraToken = randomBytes(18).toString('base64url');
      jira.addUser({ accountId: `712020:${randomUUID()}`, emailAddress: 'warden@acme.example', displayName: 'Warden integration', apiToken: jiraToken });
      for (const p of personas)
        jira.addUser({
          accountId: `712020:${randomUUID()}`,
          emailAddress: p.login,
          displayName: `${p.firstName} ${p.lastName}`,
          ...(p.agent ? { apiToken: input.password } : {}),
        });

      const env = {
        OKTA_TOKEN: okta.token,
        OKTA_HOOK_SECRET: randomBytes(24).toString('base64url'),
        ENTRA_CLIENT_SECRET: clientSecret,
        ENTRA_CLIENT_STATE: randomBytes(24).toString('base64url'),
        SERVICENOW_PASSWORD: snowPassword,
        JIRA_API_TOKEN: jiraToken,
      };
      const entra = createEntraConnector({ env });
      const connectors = [oktaConnector(), entra, itsmConnector()];

      const act = async (req: ActRequest): Promise<ActResult> => {
        const target = persona(personas, req.target, `${req.idp} ${req.action}`);
        const actor = req.as === undefined ? undefined : persona(personas, req.as, `${req.idp} ${req.action} --as`);
        const name = (p: DemoPersona) => `${p.firstName} ${p.lastName} (${p.login})`;
        const needActor = () => {
          if (!actor) throw new WardenError('ERR_VALIDATION', `${req.idp} ${req.action} is done by an administrator: say who with --as <persona>`);
          return actor;
        };
        if (req.idp === 'okta') {
          const id = oktaIds[target.handle]!;
          switch (req.action) {
            case 'reset-factors': {
              const a = needActor();
              const e = okta.adminResetFactors(oktaIds[a.handle]!, id);
              return {
                said: `${name(a)} reset all factors of ${name(target)} in the Okta Admin Console`,
                eventId: e.uuid,
                recordedIn: `Okta System Log (${e.eventType})`,
              };
            }
            case 'enroll-factor': {
              const type = req.arg ?? 'push';
              if (!['push', 'sms', 'call', 'token:software:totp'].includes(type))
                throw new WardenError('ERR_VALIDATION', `okta enroll-factor: --type is push, sms, call or token:software:totp, not "${type}"`);
              const { event } = okta.selfEnroll(id, type);
              return {
                said: `a new ${type === 'push' ? 'Okta Verify' : type} factor was enrolled on ${name(target)}'s account from the Sign-In Widget`,
                eventId: event.uuid,
                recordedIn: `Okta System Log (${event.eventType})`,
              };
            }
            case 'reset-password': {
              const e = okta.resetPassword(actor ? oktaIds[actor.handle]! : id, id);
              return {
                said: actor
                  ? `${name(actor)} reset the password of ${name(target)} in the Okta Admin Console`
                  : `${name(target)}'s password was reset through self-service recovery`,
                eventId: e.uuid,
                recordedIn: `Okta System Log (${e.eventType})`,
              };
            }
            case 'sign-in': {
              const e = okta.signIn(id);
              return { said: `someone signed in to Okta as ${name(target)}`, eventId: e.uuid, recordedIn: `Okta System Log (${e.eventType})` };
            }
            case 'answer-push': {
              const answer = req.arg ?? 'approve';
              if (answer !== 'approve' && answer !== 'deny')
                throw new WardenError('ERR_VALIDATION', `okta answer-push: --answer is approve or deny, not "${answer}"`);
              try {
                okta.answerPush(id, answer);
              } catch (err) {
                throw new WardenError('ERR_VALIDATION', (err as Error).message.replace(id, target.login));
              }
              return { said: `${name(target)} ${answer === 'approve' ? 'approved' : 'denied'} the Okta Verify push on their phone` };
            }
          }
        }
        if (req.idp === 'entra') {
          const id = entraIds[target.handle]!;
          switch (req.action) {
            case 'reset-password': {
              const a = needActor();
              graph.act.resetPassword(entraIds[a.handle]!, id);
              return {
                said: `${name(a)} reset the password of ${name(target)} in the Entra admin center`,
                recordedIn: 'Entra directory audit log (Reset password (by admin))',
              };
            }
            case 'register-phone': {
              const a = needActor();
              graph.act.registerPhone(entraIds[a.handle]!, id, { phoneNumber: '+1 206 555 0100' });
              return {
                said: `${name(a)} registered a phone method for ${name(target)} in the Entra admin center`,
                recordedIn: 'Entra directory audit log (User registered security info)',
              };
            }
            case 'add-inbox-rule': {
              const record = inboxRuleRecord({ upn: target.login, ...(actor ? { actor: actor.login } : {}), at: clock(), organization: 'acme.example' });
              // Microsoft 365 makes an Exchange audit record available 60 to 90 minutes later, and Warden polls every
              // 5 minutes; the demo makes it available at once and asks Warden's poller to read it now.
              const blob = graph.directory.addExchangeRecords([record]);
              // The API lists content by whole seconds ([startTime, endTime)): poll once the blob's second is over.
              const listed = Math.floor(Date.parse(blob.contentCreated) / 1000) * 1000 + 1000;
              while (clock().getTime() < listed) await new Promise((resolve) => setTimeout(resolve, 50));
              const polled = await entra.tasks.get('acme')?.activity?.pollOnce();
              if (!polled?.new)
                throw new WardenError('ERR_UPSTREAM', "Warden's Management Activity poller did not read the inbox rule's record (see Warden's log)");
              return {
                said: `an inbox rule forwarding ${name(target)}'s mail to ${String((record.Parameters as Array<{ Name: string; Value: string }>).find((x) => x.Name === 'ForwardTo')?.Value)} and deleting it was created in Outlook on the web`,
                eventId: `o365:${String(record.Id)}`,
                recordedIn: 'Office 365 Management Activity API, Audit.Exchange (New-InboxRule)',
              };
            }
          }
        }
        throw new WardenError(
          'ERR_VALIDATION',
          `no action "${req.idp} ${req.action}" (okta: reset-factors, enroll-factor, reset-password, sign-in, answer-push; entra: reset-password, register-phone, add-inbox-rule)`,
        );
      };

      return {
        okta: { url: okta.url },
        entra: { url: graph.url, tenantId: entraTenantId, clientId, holdGroupId: hold.id },
        servicenow: { url: servicenow.url, username: 'warden.integration' },
        jira: { url: jira.url, email: 'warden@acme.example' },
        ids: { okta: oktaIds, entra: entraIds },
        env,
        connectors,
        async connect(warden) {
          // Okta gives the verification call 3 s (and one retry). A Warden that has just started on a busy machine
          // may answer its first calls slower than that: warm it up, and ask Okta to verify again, as an admin would.
          await fetch(`${warden.url}/readyz`).catch(() => undefined);
          let hook: Awaited<ReturnType<typeof registerEventHook>> | undefined;
          for (let attempt = 0; attempt < 5 && hook?.verificationStatus !== 'VERIFIED'; attempt++)
            hook = await registerEventHook(createOktaTenants().get(warden.config, 'acme'), warden.url);
          if (hook?.verificationStatus !== 'VERIFIED')
            throw new WardenError('ERR_UPSTREAM', `the Okta simulator could not verify Warden's event hook: ${hook?.error ?? hook?.verificationStatus}`);
        },
        act,
        state(handle): PersonState {
          const p = persona(personas, handle, 'state');
          const oktaUser = okta.users.get(oktaIds[p.handle]!)!;
          const entraUser = graph.directory.findUser(entraIds[p.handle]!)!;
          return {
            handle: p.handle,
            okta: {
              id: oktaUser.id,
              status: oktaUser.status,
              groups: okta.groupNames(oktaUser.id),
              sessions: oktaUser.sessions,
              factors: okta.factorsOf(oktaUser.id).map((f) => f.factorType),
            },
            entra: {
              id: entraUser.id,
              inHoldGroup: hold.members.has(entraUser.id),
              signInSessionsValidFrom: entraUser.signInSessionsValidFromDateTime,
              methods: graph.directory.methodsOf(entraUser.id).map((m) => m.collection),
            },
          };
        },
        async close() {
          await okta.settled().catch(() => undefined);
          for (const stop of started.reverse()) await stop().catch(() => undefined);
        },
      };
    } catch (err) {
      for (const stop of started.reverse()) await stop().catch(() => undefined);
      throw err;
    }
  },
};
