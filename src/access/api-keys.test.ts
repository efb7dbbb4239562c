import { describe, expect, it } from 'vitest';
import { isWardenError } from '../core/errors.js';
import type { ApiKeyRow } from '../store/store.js';
import { ApiKeyVerifier, authorize } from './api-keys.js';
import { createHash } from 'node:crypto';

const SECRET = 'S'.repeat(43);
const row: ApiKeyRow = {
  id: 'abcdef012345',
  tenant: 'acme',
  name: 'wf',
  secretHash: createHash('sha256').update(SECRET).digest('hex'),
  scopes: ['decisions:write'],
  createdAt: '2026-01-01T00:00:00.000Z',
};

function verifier(rows: Record<string, ApiKeyRow>, cacheMs = 5000, now = { t: 0 }) {
  let lookups = 0;
  const v = new ApiKeyVerifier(
    {
      getApiKey: async (id: string) => {
        lookups++;
        return rows[id];
      },
    },
    cacheMs,
    () => now.t,
  );
  return { v, lookups: () => lookups, now };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isWardenError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

describe('ApiKeyVerifier', () => {
  it('accepts the right key', async () => {
    const { v } = verifier({ [row.id]: row });
    expect(await v.verify(`Bearer wdn_${row.id}_${SECRET}`)).toEqual({ keyId: row.id, tenant: 'acme', name: 'wf', scopes: ['decisions:write'] });
  });

  it.each([
    ['no header', undefined, 'ERR_AUTH_REQUIRED'],
    ['empty header', '', 'ERR_AUTH_REQUIRED'],
    ['another scheme', `Basic wdn_${row.id}_${SECRET}`, 'ERR_AUTH_INVALID'],
    ['no token', 'Bearer', 'ERR_AUTH_INVALID'],
    ['extra words', `Bearer wdn_${row.id}_${SECRET} x`, 'ERR_AUTH_INVALID'],
    ['a malformed key', `Bearer ${SECRET}`, 'ERR_AUTH_INVALID'],
    ['a secret one character short', `Bearer wdn_${row.id}_${SECRET.slice(1)}`, 'ERR_AUTH_INVALID'],
    ['an unknown id', `Bearer wdn_000000000000_${SECRET}`, 'ERR_AUTH_INVALID'],
    ['the wrong secret', `Bearer wdn_${row.id}_${'T'.repeat(43)}`, 'ERR_AUTH_INVALID'],
  ])('refuses %s', async (_name, header, code) => {
    const { v } = verifier({ [row.id]: row });
    expect(await codeOf(v.verify(header))).toBe(code);
  });

  it('refuses a revoked key', async () => {
    const { v } = verifier({ [row.id]: { ...row, revokedAt: '2026-01-02T00:00:00.000Z' } });
    expect(await codeOf(v.verify(`Bearer wdn_${row.id}_${SECRET}`))).toBe('ERR_AUTH_INVALID');
  });

  it('caches a key for a while, and forgets it on request', async () => {
    const rows = { [row.id]: row };
    const { v, lookups, now } = verifier(rows, 1000);
    const header = `Bearer wdn_${row.id}_${SECRET}`;
    await v.verify(header);
    await v.verify(header);
    expect(lookups()).toBe(1);
    rows[row.id] = { ...row, revokedAt: '2026-01-02T00:00:00.000Z' };
    v.forget(row.id);
    expect(await codeOf(v.verify(header))).toBe('ERR_AUTH_INVALID');
    now.t = 5000;
    expect(await codeOf(v.verify(header))).toBe('ERR_AUTH_INVALID');
    expect(lookups()).toBe(3);
  });
});

describe('authorize', () => {
  const principal = { keyId: row.id, tenant: 'acme', name: 'wf', scopes: ['decisions:write'] };
  it('lets a key act for its tenant with its scopes', () => {
    expect(() => authorize(principal, 'acme', 'decisions:write')).not.toThrow();
  });
  it('refuses another tenant', () => {
    expect(() => authorize(principal, 'globex', 'decisions:write')).toThrow(/belongs to tenant "acme"/);
  });
  it('refuses a missing scope', () => {
    expect(() => authorize({ ...principal, scopes: [] }, 'acme', 'decisions:write')).toThrow(/lacks the scope decisions:write/);
  });
});
