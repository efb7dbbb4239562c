import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryIndex, type DirectorySnapshotInput } from '../core/directory-snapshot.js';
import { readDirectorySnapshot, withSnapshotIdentities } from './read-directory-snapshot.js';

const dir = mkdtempSync(path.join(tmpdir(), 'warden-directory-snapshot-'));
const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

const SNAPSHOT: DirectorySnapshotInput = {
  apiVersion: 'warden/v1',
  kind: 'DirectorySnapshot',
  exportedAt: '2026-03-02T09:00:00.000Z',
  directories: [
    {
      idp: 'okta',
      org: 'https://acme.okta.com',
      helpdesk: { roles: ['HELP_DESK_ADMIN'], groups: ['Service Desk'] },
      users: [{ id: '00uDana', login: 'Dana.Lee@acme.example', email: 'dana@acme.example', groups: ['Everyone'], adminRoles: [] }],
    },
  ],
  domains: { 'acme.onmicrosoft.com': 'acme.example' },
  links: [{ person: 'dana', accounts: ['okta:00uDana', 'entra:5f1c'] }],
};

describe('directory snapshots', () => {
  it('reads a snapshot and finds users by id exactly, by login or email in any case', () => {
    const index = new DirectoryIndex([readDirectorySnapshot(write('ok.json', JSON.stringify(SNAPSHOT)))]);
    const okta = index.directory('okta')!;
    expect(okta.user('00uDana')?.login).toBe('Dana.Lee@acme.example');
    expect(okta.user('00udana')).toBeUndefined();
    expect(okta.user('dana.lee@ACME.example')?.id).toBe('00uDana');
    expect(okta.user('DANA@acme.example')?.id).toBe('00uDana');
    expect(okta.helpdesk).toEqual({ roles: ['HELP_DESK_ADMIN'], groups: ['Service Desk'] });
    expect(index.directory('entra')).toBeUndefined();
  });

  it("adds the snapshot's links and domains to the configured identities, the configured ones kept", () => {
    const index = new DirectoryIndex([readDirectorySnapshot(write('links.json', JSON.stringify(SNAPSHOT)))]);
    expect(
      withSnapshotIdentities({ domains: { 'acme.onmicrosoft.com': 'acme.com' }, aliases: { dana: ['dana.lee@acme.com'], eve: ['okta:00uEve'] } }, index),
    ).toEqual({
      domains: { 'acme.onmicrosoft.com': 'acme.com' },
      aliases: { dana: ['okta:00uDana', 'entra:5f1c', 'dana.lee@acme.com'], eve: ['okta:00uEve'] },
    });
  });

  it('refuses a file that is not JSON, another version, and a snapshot with unknown or wrong fields', () => {
    expect(() => readDirectorySnapshot(write('bad.json', '{ nope'))).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
    expect(() => readDirectorySnapshot(write('v2.json', JSON.stringify({ ...SNAPSHOT, apiVersion: 'warden/v2' })))).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION', message: expect.stringContaining('warden/v2') }),
    );
    expect(() => readDirectorySnapshot(write('extra.json', JSON.stringify({ ...SNAPSHOT, users: [] })))).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION' }),
    );
    const noId = { ...SNAPSHOT, directories: [{ ...SNAPSHOT.directories![0]!, users: [{ login: 'x@acme.example' }] }] };
    expect(() => readDirectorySnapshot(write('noid.json', JSON.stringify(noId)))).toThrow(expect.objectContaining({ code: 'ERR_VALIDATION' }));
  });
});
