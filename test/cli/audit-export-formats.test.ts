import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_CSV_COLUMNS } from '../../src/audit/export-csv.js';
import { packageRoot } from '../../src/package-root.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import { seedAuditHistory } from '../helpers/audit-history.js';
import { validateJsonSchema } from '../helpers/json-schema.js';
import { tempConfigDir } from '../helpers/temp-config.js';
import { useWardenProcess, wardenEnv } from '../helpers/warden-process.js';

useWardenProcess();

const root = packageRoot();
const schema = (name: string) =>
  JSON.parse(readFileSync(path.join(root, `src/audit/ocsf/schema/ocsf-1.8.0-${name}.schema.json`), 'utf8')) as Record<string, unknown>;

/** `./warden …` as a process of its own (on dist/, made current by the helper). */
async function warden(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(path.join(root, 'warden'), args, {
      env: { ...process.env, ...wardenEnv() },
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** RFC 4180 records (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let cell = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quote');
        cell += text.slice(i, q);
        if (text[q + 1] === '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      const end = text.slice(i).search(/,|\r\n/);
      cell = end < 0 ? text.slice(i) : text.slice(i, i + end);
      i = end < 0 ? text.length : i + end;
    }
    row.push(cell);
    if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else if (text[i] === ',') i++;
    else if (i < text.length) throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
  }
  if (row.length) rows.push(row);
  return rows;
}

let configFile: string;
let records: number;

beforeAll(async () => {
  ({ configFile } = tempConfigDir());
  const store = await openPgliteStore({ dataDir: path.join(path.dirname(configFile), 'data'), durability: 'relaxed' });
  await seedAuditHistory(store, 'acme');
  records = (await store.auditHead('acme')).seq;
  await store.close();
}, 120_000);

describe('warden audit export --format ocsf | csv (the command as a process)', () => {
  it('ocsf: NDJSON events, each valid against the committed OCSF 1.8.0 JSON Schema of its class, linked by chain digests', async () => {
    const r = await warden('--config', configFile, 'audit', 'export', '--format', 'ocsf', '--tenant', 'acme');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown> & { class_uid: number });
    const schemas: Record<number, Record<string, unknown>> = { 3001: schema('account_change'), 2004: schema('detection_finding') };
    expect(new Set(events.map((e) => e.class_uid))).toEqual(new Set([3001, 2004]));
    for (const e of events) expect(validateJsonSchema(schemas[e.class_uid]!, e)).toEqual([]);
    // Every audit record of this history is a decision or an alert event: the chain is complete in the export.
    expect(events).toHaveLength(records);
    const chain = events.map((e) => (e.unmapped as { warden_audit: { seq: number; prev_hash: string; hash: string } }).warden_audit);
    expect(chain.map((c) => c.seq)).toEqual(Array.from({ length: records }, (_, i) => i + 1));
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prev_hash).toBe(chain[i - 1]!.hash);
  }, 120_000);

  it('csv: a header, one RFC 4180 row per record, formula-like cells prefixed, the hashed record intact', async () => {
    const r = await warden('--config', configFile, 'audit', 'export', '--format', 'csv');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\r\n')).toBe(true);
    const [header, ...rows] = parseCsv(r.stdout);
    expect(header).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(rows).toHaveLength(records);
    const col = (name: (typeof AUDIT_CSV_COLUMNS)[number]) => AUDIT_CSV_COLUMNS.indexOf(name);
    // The help-desk agent's login starts with "=": a spreadsheet must not run it.
    const agentRows = rows.filter((row) => row[col('change_kind')] === 'factor.reset_all');
    expect(agentRows.map((row) => row[col('change_actor')])).toEqual([`'=HYPERLINK("http://x")@acme.example`]);
    for (const row of rows) {
      expect(row).toHaveLength(AUDIT_CSV_COLUMNS.length);
      expect(createHash('sha256').update(row[col('record')]!).digest('hex')).toBe(row[col('hash')]);
      expect(row.every((cell) => !/^[=+\-@]/.test(cell))).toBe(true);
    }
  }, 120_000);

  it('refuses an unknown format, naming the ones there are (exit 2)', async () => {
    const r = await warden('--config', configFile, 'audit', 'export', '--format', 'xml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format xml: use one of jsonl, ocsf, csv');
  }, 60_000);
});
