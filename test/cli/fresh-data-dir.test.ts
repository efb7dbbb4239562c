import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.js';
import { tempConfigDir } from '../helpers/temp-config.js';

describe('a command that writes for a tenant, first thing on a fresh data directory', () => {
  it('works without another command having created the tenant first', async () => {
    const { configFile } = tempConfigDir();
    const r = await cli(
      '--config',
      configFile,
      'exceptions',
      'add',
      '--tenant',
      'acme',
      '--rule',
      'privileged-phone-factor',
      '--target',
      'ceo@acme.example',
      '--owner',
      'ciso@acme.example',
      '--reason',
      'Satellite phone only while travelling, INC0012',
      '--expires',
      '14d',
    );
    expect(r.err).not.toMatch(/tenant_fkey|unexpected/);
    expect(r.code).toBe(0);
  }, 60_000);
});
