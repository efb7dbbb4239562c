import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEEDED_CHANGES, seedAuditHistory } from '../../../test/helpers/audit-history.js';
import { validateJsonSchema } from '../../../test/helpers/json-schema.js';
import { pgliteTestStore, type TestStore } from '../../../test/helpers/test-stores.js';
import type { AuditRow } from '../../store/store.js';
import { appendAudit } from '../audit-log.js';
import { readAuditRows } from '../read-audit-rows.js';
import { auditRowToOcsf, type OcsfEvent } from './audit-to-ocsf.js';
import { exportAuditOcsf } from './export-ocsf.js';

const schema = (name: string) =>
  JSON.parse(readFileSync(new URL(`./schema/ocsf-1.8.0-${name}.schema.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const SCHEMAS: Record<number, Record<string, unknown>> = { 3001: schema('account_change'), 2004: schema('detection_finding') };

let handle: TestStore;
let events: OcsfEvent[];
let alertId: string;

beforeAll(async () => {
  handle = await pgliteTestStore();
  ({ alertId } = await seedAuditHistory(handle.store, 'ocsf1'));
  // A record with no OCSF class: not exported in this format.
  await appendAudit(handle.store, 'ocsf1', { type: 'apikey.created', actor: { type: 'cli', id: 'ops' }, subject: { keyId: 'k1' }, data: {} });
  events = [];
  for await (const line of exportAuditOcsf(handle.store, 'ocsf1')) events.push(JSON.parse(line) as OcsfEvent);
});
afterAll(() => handle.dispose());

describe('audit records as OCSF 1.8.0 events', () => {
  it('every exported event validates against the JSON Schema generated from the OCSF release', () => {
    expect(events.length).toBeGreaterThan(SEEDED_CHANGES.length);
    for (const e of events) expect(validateJsonSchema(SCHEMAS[e.class_uid]!, e), JSON.stringify(e)).toEqual([]);
  });

  it('decided changes are Account Change with the activity ids of the schema: password change 3, reset 4, MFA factor enable 10 and disable 11', () => {
    const changes = events.filter((e) => e.class_uid === 3001);
    expect(changes.map((e) => [(e.unmapped as { warden: { change_kind: string } }).warden.change_kind, e.activity_id, e.type_uid])).toEqual([
      ['password.change', 3, 300103],
      ['factor.enroll', 10, 300110],
      ['password.reset', 4, 300104],
      ['factor.remove', 11, 300111],
      ['factor.reset_all', 11, 300111],
      ['account.suspend', 5, 300105],
      ['tap.issue', 99, 300199],
      ['factor.enroll', 10, 300110],
      ['password.reset', 4, 300104],
    ]);
    const reset = changes.find((e) => (e.unmapped as { warden: { change_kind: string } }).warden.change_kind === 'factor.reset_all')!;
    expect(reset).toMatchObject({
      user: { uid: '00u-alice', name: 'alice@acme.example' },
      actor: { user: { uid: '00u-agent' } },
      action: 'Held',
      disposition_id: 14,
      severity_id: 3,
    });
  });

  it('alerts are Detection Finding: created, updated when grouped, closed', () => {
    const all = events.filter((e) => e.class_uid === 2004);
    // The example rules also flag the help-desk reset and the TAP issued without a request.
    expect(new Set(all.map((e) => (e.finding_info as { analytic: { uid: string } }).analytic.uid))).toEqual(
      new Set(['factor-change-and-password-reset', 'assisted-reset-without-request', 'tap-outside-request']),
    );
    const findings = all.filter((e) => (e.finding_info as { uid: string }).uid === alertId);
    expect(
      findings.map((e) => [e.activity_id, (e.finding_info as { uid: string }).uid, (e.finding_info as { analytic: { uid: string } }).analytic.uid]),
    ).toEqual([
      [1, alertId, 'factor-change-and-password-reset'],
      [2, alertId, 'factor-change-and-password-reset'],
      [3, alertId, 'factor-change-and-password-reset'],
    ]);
    expect(findings.at(-1)).toMatchObject({ status_id: 4, is_alert: false, comment: 'reviewed: user confirmed' });
  });

  it('each event carries the chain digests: raw_data hashes to raw_data_hash, and prev_hash is the digest of the record before', async () => {
    const rows: AuditRow[] = [];
    for await (const r of readAuditRows(handle.store, 'ocsf1')) rows.push(r);
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    for (const e of events) {
      const chain = (e.unmapped as { warden_audit: { seq: number; prev_hash: string; hash: string } }).warden_audit;
      expect(
        createHash('sha256')
          .update(e.raw_data as string)
          .digest('hex'),
      ).toBe((e.raw_data_hash as { value: string }).value);
      expect(chain.hash).toBe((e.raw_data_hash as { value: string }).value);
      expect(chain.hash).toBe(bySeq.get(chain.seq)!.hash);
      if (chain.seq > 1) expect(chain.prev_hash).toBe(bySeq.get(chain.seq - 1)!.hash);
    }
    // The API key record is on the chain but has no OCSF class.
    expect(rows.at(-1)!.type).toBe('apikey.created');
    expect(auditRowToOcsf(rows.at(-1)!)).toBeUndefined();
    expect(events.some((e) => (e.metadata as { uid: string }).uid === rows.at(-1)!.id)).toBe(false);
  });

  it('the schema check catches what a broken mapping would emit', () => {
    const e = events.find((x) => x.class_uid === 3001)!;
    const without = (k: string) => Object.fromEntries(Object.entries(e).filter(([key]) => key !== k));
    expect(validateJsonSchema(SCHEMAS[3001]!, without('user'))).toContain('$: required user is missing');
    expect(validateJsonSchema(SCHEMAS[3001]!, { ...e, activity_id: 13 })).toEqual([expect.stringContaining('$.activity_id: 13 is not one of')]);
    expect(validateJsonSchema(SCHEMAS[3001]!, { ...e, type_uid: 300113 })[0]).toContain('$.type_uid');
    expect(validateJsonSchema(SCHEMAS[3001]!, { ...e, prev_hash: 'x' })).toEqual(['$: prev_hash is not an attribute here']);
    expect(validateJsonSchema(SCHEMAS[3001]!, { ...e, user: {} })[0]).toContain('$.user: matches none of');
    expect(validateJsonSchema(SCHEMAS[3001]!, { ...e, time: '2026-03-02' })).toEqual(['$.time: expected integer, got string']);
    expect(validateJsonSchema(SCHEMAS[3001]!, { ...e, raw_data_hash: { algorithm_id: 3 } })).toEqual(['$.raw_data_hash: required value is missing']);
    expect(validateJsonSchema(SCHEMAS[2004]!, e).length).toBeGreaterThan(0); // an Account Change is no Detection Finding
  });
});
