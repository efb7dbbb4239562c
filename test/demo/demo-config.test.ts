import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { createEntraConnector } from '../../connectors/entra/index.js';
import { itsmConnector } from '../../connectors/itsm/index.js';
import { oktaConnector } from '../../connectors/okta/index.js';
import { loadConfig } from '../../src/config/load-config.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import type { DemoSimulators } from '../../src/connector/demo-kit.js';
import { EXAMPLE_POLICY_FILE } from '../helpers/policies.js';

/** The one function that writes the demo's warden.yaml: what it writes loads with the real connectors' schemas. */
describe('demoConfig', () => {
  const sims = {
    okta: { url: 'http://127.0.0.1:40001' },
    entra: {
      url: 'https://127.0.0.1:40002',
      tenantId: '3f0c2f3e-8f3a-4a59-9d4c-5a7f1a2b3c4d',
      clientId: '0b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
      holdGroupId: '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d',
    },
    servicenow: { url: 'http://127.0.0.1:40003', username: 'warden.integration' },
    jira: { url: 'http://127.0.0.1:40004', email: 'warden@acme.example' },
  } as unknown as DemoSimulators;

  it('configures one tenant with both IdPs, the ITSM simulators, the sign-in and Warden over HTTPS', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-demo-config-'));
    mkdirSync(path.join(dir, 'policies'));
    copyFileSync(EXAMPLE_POLICY_FILE, path.join(dir, 'policies', 'acme.yaml'));
    writeFileSync(path.join(dir, 'cert.pem'), inject('entraTls').cert);
    writeFileSync(path.join(dir, 'key.pem'), inject('entraTls').key);
    writeFileSync(
      path.join(dir, 'warden.yaml'),
      demoConfig({
        sims,
        port: 48443,
        tls: { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') },
        oidc: { issuer: 'http://127.0.0.1:48445', audience: 'warden-demo-cli' },
        console: { clientId: 'warden-console' },
        policy: 'policies/acme.yaml',
      }),
    );
    const env = {
      OKTA_TOKEN: 't'.repeat(42),
      OKTA_HOOK_SECRET: 'h'.repeat(32),
      ENTRA_CLIENT_SECRET: 's',
      ENTRA_CLIENT_STATE: 'c',
      SERVICENOW_PASSWORD: 'p',
      JIRA_API_TOKEN: 'j',
      WARDEN_DEMO_CONSOLE_SECRET: 'console-secret',
    };
    const config = loadConfig({
      path: path.join(dir, 'warden.yaml'),
      env,
      connectors: [oktaConnector(), createEntraConnector({ env, autoStart: false }), itsmConnector()],
      resolveSecrets: true,
    });
    expect(config.listen).toMatchObject({ host: '127.0.0.1', port: 48443, tls: { cert: expect.stringContaining('BEGIN CERTIFICATE') } });
    const [tenant] = config.tenants;
    expect(tenant).toMatchObject({
      id: 'acme',
      oidc: {
        issuer: 'http://127.0.0.1:48445',
        audience: 'warden-demo-cli',
        roles: { helpdesk: ['Service Desk'], approver: ['iam-approvers'], admin: ['warden-admins'], auditor: ['security-audit'] },
        console: { clientId: 'warden-console', publicUrl: 'https://127.0.0.1:48443' },
      },
    });
    expect(tenant!.connectors.okta).toMatchObject({ orgUrl: 'http://127.0.0.1:40001', simulator: true });
    expect(tenant!.connectors.entra).toMatchObject({
      graphBaseUrl: 'https://127.0.0.1:40002',
      subscription: { enabled: true, notificationUrl: 'https://127.0.0.1:48443/hooks/entra/acme/notifications' },
      managementActivity: { enabled: true },
    });
    expect(tenant!.connectors.itsm).toMatchObject({
      servicenow: { instanceUrl: 'http://127.0.0.1:40003' },
      jira: { siteUrl: 'http://127.0.0.1:40004', serviceManagement: false },
    });
  });
});
