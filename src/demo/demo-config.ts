import type { DemoSimulators } from '../connector/demo-kit.js';

/** Everything the demo's warden.yaml depends on. */
export interface DemoConfigInput {
  sims: DemoSimulators;
  /** Warden's port (known before it listens: the Graph subscription names it). */
  port: number;
  /** Warden's TLS certificate and key files (the demo's throw-away certificate). */
  tls: { certFile: string; keyFile: string };
  /** The development OIDC provider: people's tokens are verified against it. */
  oidc: { issuer: string; audience: string };
  /** The web console's OIDC client at the development provider (its secret is in the environment as `WARDEN_DEMO_CONSOLE_SECRET`). */
  console: { clientId: string };
  /** The policy file, relative to the config. */
  policy: string;
}

/** The tenant id of the demo. */
export const DEMO_TENANT = 'acme';

/**
 * The one place the demo's Warden configuration is written (as the
 * warden.yaml the demo keeps in its state directory, so a person can read
 * what is configured). Both IdPs on one tenant, the example policy, people
 * signing in with the development OIDC provider, tickets from the ServiceNow
 * and Jira simulators, Graph change notifications to Warden's own HTTPS
 * listener. Settings for the web console go here too.
 */
export function demoConfig(input: DemoConfigInput): string {
  const { sims, port, tls, oidc } = input;
  const url = `https://127.0.0.1:${port}`;
  return `# Written by \`warden demo\` at each start; edits are overwritten.
listen:
  host: 127.0.0.1
  port: ${port}
  tls: { cert: ${JSON.stringify(tls.certFile)}, key: { file: ${JSON.stringify(tls.keyFile)} } }
dataDir: data
durability: relaxed
log: { level: warn }
tenants:
  - id: ${DEMO_TENANT}
    policy: ${input.policy}
    secrets:
      oktaToken: { env: OKTA_TOKEN }
      oktaHook: { env: OKTA_HOOK_SECRET }
      snowPassword: { env: SERVICENOW_PASSWORD }
      jiraToken: { env: JIRA_API_TOKEN }
      consoleSecret: { env: WARDEN_DEMO_CONSOLE_SECRET }
    oidc:
      issuer: ${oidc.issuer}
      audience: ${oidc.audience}
      roles: { helpdesk: [Service Desk], approver: [iam-approvers], admin: [warden-admins], auditor: [security-audit] }
      stepUp: { maxAuthAge: 10m }
      console: { clientId: ${input.console.clientId}, clientSecret: consoleSecret, publicUrl: '${url}' }
    itsm:
      servicenow: { instanceUrl: '${sims.servicenow.url}', auth: { type: basic, username: ${sims.servicenow.username}, passwordSecret: snowPassword } }
      jira: { siteUrl: '${sims.jira.url}', email: ${sims.jira.email}, apiTokenSecret: jiraToken, serviceManagement: false, projects: { HELP: [Service Desk] } }
    okta:
      orgUrl: ${sims.okta.url}
      simulator: true
      auth: { type: api_token, token: oktaToken }
      eventHook: { secret: oktaHook }
      poller: { enabled: false }
    entra:
      tenantId: ${sims.entra.tenantId}
      clientId: ${sims.entra.clientId}
      credential: { secret: { env: ENTRA_CLIENT_SECRET } }
      authorityHost: ${sims.entra.url}
      graphBaseUrl: ${sims.entra.url}
      holdGroup: { id: ${sims.entra.holdGroupId} }
      subscription:
        enabled: true
        notificationUrl: ${url}/hooks/entra/${DEMO_TENANT}/notifications
        clientState: { env: ENTRA_CLIENT_STATE }
        checkIntervalSeconds: 5
      poller: { intervalSeconds: 10 }
      managementActivity: { enabled: true, baseUrl: ${sims.entra.url} }
    detection:
      identities:
        domains: { acme.onmicrosoft.com: acme.example }
`;
}
