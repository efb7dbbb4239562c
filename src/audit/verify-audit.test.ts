import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { appendAudit } from './audit-log.js';
import { canonicalJson } from './canonical-json.js';
import { exportAuditJsonl } from './export-audit.js';
import { verifyAudit } from './verify-audit.js';
import { pgliteTestStore, rawSql, type TestStore } from '../../test/helpers/test-stores.js';

let handle: TestStore;
let store: Store;
let n = 0;

beforeAll(async () => {
  handle = await pgliteTestStore();
  store = handle.store;
});
afterAll(() => handle.dispose());

/** A tenant with a chain of `count` records. */
async function chain(count: number): Promise<string> {
  const tenant = `audit-${++n}`;
  for (let i = 1; i <= count; i++)
    await appendAudit(store, tenant, {
      type: 'decision.recorded',
      actor: { type: 'api_key', id: 'k1' },
      subject: { decisionId: `d${i}` },
      data: { outcome: i % 2 ? 'hold' : 'allow', i },
    });
  return tenant;
}

/** Plays an attacker with write access to the database: the append-only trigger is lifted for the statement. */
async function tamper(sql: string, params: unknown[]): Promise<void> {
  const db = rawSql(store);
  await db.exec('ALTER TABLE audit DISABLE TRIGGER audit_append_only');
  try {
    await db.query(sql, params);
  } finally {
    await db.exec('ALTER TABLE audit ENABLE TRIGGER audit_append_only');
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('verifyAudit', () => {
  it('accepts an intact chain and reports its head', async () => {
    const tenant = await chain(5);
    const result = await verifyAudit(store, tenant);
    expect(result).toMatchObject({ ok: true, records: 5, tenant });
    expect(result.head).toBe((await store.auditHead(tenant)).hash);
  });

  it('accepts a tenant with no records', async () => {
    expect(await verifyAudit(store, 'nobody')).toMatchObject({ ok: true, records: 0, head: '0'.repeat(64) });
  });

  it('names the record whose row was re-dated, and exports it by its hashed time', async () => {
    const tenant = await chain(4);
    const [row] = await store.readAudit(tenant, 1, 1);
    await tamper('UPDATE audit SET at = $3 WHERE tenant = $1 AND seq = $2', [tenant, 2, '2001-01-01T00:00:00.000Z']);
    const result = await verifyAudit(store, tenant);
    expect(result).toMatchObject({ ok: false, records: 1, break: { seq: 2, id: row!.id } });
    expect(result.break!.reason).toMatch(/record time disagrees with its row/);
    const exported: string[] = [];
    for await (const line of exportAuditJsonl(store, tenant, { since: new Date(Date.parse(row!.at) - 1) })) exported.push(line);
    expect(exported.map((l) => (JSON.parse(l) as { record: { seq: number } }).record.seq)).toEqual(expect.arrayContaining([2, 3, 4]));
  });

  it('names the record whose content was changed', async () => {
    const tenant = await chain(5);
    const [row] = await store.readAudit(tenant, 2, 1);
    await tamper('UPDATE audit SET record = $3 WHERE tenant = $1 AND seq = $2', [tenant, 3, row!.record.replace('"outcome":"hold"', '"outcome":"allow"')]);
    const result = await verifyAudit(store, tenant);
    expect(result).toMatchObject({ ok: false, records: 2, break: { seq: 3, id: row!.id } });
    expect(result.break!.reason).toMatch(/hash mismatch/);
  });

  it('names the next record when content and hash were both rewritten', async () => {
    const tenant = await chain(5);
    const [row] = await store.readAudit(tenant, 2, 1);
    const forged = canonicalJson({ ...(JSON.parse(row!.record) as object), data: { outcome: 'allow', i: 3 } });
    await tamper('UPDATE audit SET record = $3, hash = $4 WHERE tenant = $1 AND seq = $2', [tenant, 3, forged, sha256(forged)]);
    const result = await verifyAudit(store, tenant);
    expect(result.break).toMatchObject({ seq: 4 });
    expect(result.break!.reason).toMatch(/broken link/);
  });

  it('names the gap where a record was deleted', async () => {
    const tenant = await chain(5);
    await tamper('DELETE FROM audit WHERE tenant = $1 AND seq = $2', [tenant, 2]);
    const result = await verifyAudit(store, tenant);
    expect(result.break).toMatchObject({ seq: 3 });
    expect(result.break!.reason).toMatch(/sequence gap: expected record 2/);
  });

  it('notices records removed from the end', async () => {
    const tenant = await chain(5);
    await tamper('DELETE FROM audit WHERE tenant = $1 AND seq >= $2', [tenant, 4]);
    const result = await verifyAudit(store, tenant);
    expect(result).toMatchObject({ ok: false, records: 3, break: { seq: 4 } });
    expect(result.break!.reason).toMatch(/records removed/);
  });

  it('refuses a record that is not in canonical form', async () => {
    const tenant = await chain(3);
    const [row] = await store.readAudit(tenant, 0, 1);
    const spaced = JSON.stringify(JSON.parse(row!.record), null, 1);
    await tamper('UPDATE audit SET record = $3, hash = $4 WHERE tenant = $1 AND seq = $2', [tenant, 1, spaced, sha256(spaced)]);
    expect((await verifyAudit(store, tenant)).break).toMatchObject({ seq: 1, reason: expect.stringMatching(/canonical/) });
  });

  it('refuses a record moved to another tenant', async () => {
    const tenant = await chain(2);
    const other = await chain(2);
    await tamper('DELETE FROM audit WHERE tenant = $1 AND seq = 2', [other]);
    await tamper(
      `INSERT INTO audit (tenant, seq, id, at, type, record, prev_hash, hash) SELECT $2, seq, gen_random_uuid(), at, type, record, prev_hash, hash FROM audit WHERE tenant = $1 AND seq = 2`,
      [tenant, other],
    );
    expect((await verifyAudit(store, other)).break).toMatchObject({ seq: 2 });
  });
});

describe('exportAuditJsonl', () => {
  it('writes each record as hashed, so anyone can re-verify it', async () => {
    const tenant = await chain(3);
    const lines: string[] = [];
    for await (const line of exportAuditJsonl(store, tenant)) lines.push(line);
    expect(lines).toHaveLength(3);
    let prev = '0'.repeat(64);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      const { hash, record } = JSON.parse(line) as { hash: string; record: { prevHash: string } };
      expect(sha256(canonicalJson(record))).toBe(hash);
      expect(record.prevHash).toBe(prev);
      prev = hash;
    }
  });

  it('filters by time', async () => {
    const tenant = `audit-${++n}`;
    await appendAudit(store, tenant, { type: 'x', actor: { type: 'system', id: 'w' }, subject: {}, data: {}, at: new Date('2026-01-01T00:00:00Z') });
    await appendAudit(store, tenant, { type: 'y', actor: { type: 'system', id: 'w' }, subject: {}, data: {}, at: new Date('2026-02-01T00:00:00Z') });
    const lines: string[] = [];
    for await (const line of exportAuditJsonl(store, tenant, { since: new Date('2026-01-15T00:00:00Z') })) lines.push(line);
    expect(lines.map((l) => (JSON.parse(l) as { record: { type: string } }).record.type)).toEqual(['y']);
  });
});
