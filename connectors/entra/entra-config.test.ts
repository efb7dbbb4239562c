import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EntraTenantConfig } from './entra-config.js';
import { endpointsFor } from './national-clouds.js';

const TENANT = '0d3e2f10-1111-4222-8333-444455556666';
const base = {
  tenantId: TENANT,
  clientId: 'app',
  credential: { secret: { env: 'SECRET' } },
  subscription: { notificationUrl: 'https://warden.example/hooks/entra/acme/notifications', clientState: { env: 'STATE' } },
};
const issues = (value: unknown) => {
  const r = EntraTenantConfig.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('entra tenant config', () => {
  it('fills in the documented defaults', () => {
    const cfg = EntraTenantConfig.parse(base);
    expect(cfg).toMatchObject({
      cloud: 'global',
      poller: { enabled: true, intervalSeconds: 60, overlapMinutes: 10, pageSize: 500 },
      subscription: { enabled: true, lifetimeMinutes: 41_000, renewBeforeMinutes: 2_880, silenceMinutes: 30 },
      managementActivity: { enabled: false },
      holdGroup: { displayName: 'Warden hold' },
      helpdeskRoles: ['Helpdesk Administrator', 'Authentication Administrator', 'Password Administrator'],
    });
  });

  it("refuses an overlap under 5 minutes and a lifetime over Graph's 41,760 minutes", () => {
    expect(issues({ ...base, poller: { overlapMinutes: 4 } })).toEqual(['poller.overlapMinutes: Too small: expected number to be >=5']);
    expect(issues({ ...base, subscription: { ...base.subscription, lifetimeMinutes: 41_761 } })).toEqual([
      'subscription.lifetimeMinutes: Too big: expected number to be <=41760',
    ]);
  });

  it('needs exactly one credential', () => {
    expect(issues({ ...base, credential: {} })).toEqual(['credential: give exactly one of `secret` or `certificate`']);
    expect(issues({ ...base, credential: { secret: { env: 'A' }, certificate: { file: 'c.pem' } } })).toEqual([
      'credential: give exactly one of `secret` or `certificate`',
    ]);
    expect(issues({ ...base, credential: { secret: 'inline-secret' } })).not.toEqual([]);
  });

  it('needs a notification URL and a clientState while subscriptions are on, and only https URLs', () => {
    expect(issues({ ...base, subscription: {} })).toEqual([
      'subscription.notificationUrl: required while subscription.enabled is true (or set subscription.enabled: false)',
      'subscription.clientState: required while subscription.enabled is true: a secret reference',
    ]);
    expect(issues({ ...base, subscription: { enabled: false } })).toEqual([]);
    expect(issues({ ...base, subscription: { ...base.subscription, notificationUrl: 'http://warden.example/hooks' } })).toEqual([
      'subscription.notificationUrl: an https:// URL',
    ]);
    expect(issues({ ...base, graphBaseUrl: 'http://127.0.0.1:1' })).toEqual(['graphBaseUrl: an https:// URL']);
  });

  it('refuses unknown keys (a typo is an error, not a silent default)', () => {
    expect(issues({ ...base, poler: {} })).toEqual([': Unrecognized key: "poler"']);
  });

  it('documents every key', () => {
    const schema = z.toJSONSchema(EntraTenantConfig, { io: 'input', unrepresentable: 'any' }) as {
      properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }>;
    };
    for (const [key, prop] of Object.entries(schema.properties)) {
      expect(prop.description, key).toBeTruthy();
      for (const [sub, p] of Object.entries(prop.properties ?? {})) expect(p.description, `${key}.${sub}`).toBeTruthy();
    }
  });

  it('resolves national cloud endpoints, and overrides', () => {
    expect(endpointsFor(EntraTenantConfig.parse({ ...base, cloud: 'usgov' }))).toEqual({
      authorityHost: 'https://login.microsoftonline.us',
      graphBaseUrl: 'https://graph.microsoft.us',
      managementBaseUrl: 'https://manage.office365.us',
      customAuthority: false,
    });
    expect(endpointsFor(EntraTenantConfig.parse({ ...base, cloud: 'china' }))).toMatchObject({
      authorityHost: 'https://login.chinacloudapi.cn',
      graphBaseUrl: 'https://microsoftgraph.chinacloudapi.cn',
      managementBaseUrl: undefined,
    });
    expect(endpointsFor(EntraTenantConfig.parse({ ...base, authorityHost: 'https://127.0.0.1:9443/', graphBaseUrl: 'https://127.0.0.1:9443' }))).toMatchObject({
      authorityHost: 'https://127.0.0.1:9443',
      graphBaseUrl: 'https://127.0.0.1:9443',
      customAuthority: true,
    });
    expect(issues({ ...base, cloud: 'china', managementActivity: { enabled: true } })).toEqual(['managementActivity.baseUrl: set it for the china cloud']);
  });
});
