import { describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/audit/audit-log.js';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import type { SqlExecutor } from '../../src/store/sql-executor.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { pgliteTestStore, rawSql } from '../helpers/test-stores.js';

/** The executor with every statement it runs written down. */
function counting(db: SqlExecutor, seen: string[]): SqlExecutor {
  const self: SqlExecutor = {
    query: (sql, params) => {
      seen.push(sql.replace(/\s+/g, ' ').trim());
      return db.query(sql, params);
    },
    exec: (sql) => {
      seen.push(sql);
      return db.exec(sql);
    },
    transaction: (fn) => db.transaction((tx) => fn(counting(tx, seen))),
  };
  return self;
}

const event = (n: number) => ({ type: 'test.event', actor: { type: 'system' as const, id: 'test' }, subject: {}, data: { n } });

describe('audit append round trips', () => {
  it('appends to a chain with a head in two statements, and creates the head of a first record once', async () => {
    const { store, dispose } = await pgliteTestStore();
    try {
      const seen: string[] = [];
      const sql = new SqlStore(counting(rawSql(store), seen));
      await appendAudit(sql, 'acme', event(1));
      expect(seen.filter((s) => s.startsWith('INSERT INTO audit_heads'))).toHaveLength(1);
      seen.length = 0;
      await appendAudit(sql, 'acme', event(2));
      await appendAudit(sql, 'acme', event(3));
      expect(seen).toHaveLength(4);
      const rows = await store.readAudit('acme', 0, 10);
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(await store.auditHead('acme')).toEqual({ seq: 3, hash: rows[2]!.hash });
      expect((await verifyAudit(store, 'acme')).ok).toBe(true);
    } finally {
      await dispose();
    }
  });
});
