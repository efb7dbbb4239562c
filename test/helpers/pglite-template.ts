import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { openPgliteStore } from '../../src/store/pglite-store.js';

/**
 * A migrated, empty embedded store made once per test run (global setup),
 * copied into each test's data directory before Warden opens it. Creating a
 * PGlite cluster runs initdb, which costs seconds on a busy 2-core machine,
 * and the e2e and CLI tests open dozens of fresh stores; copying a closed
 * cluster costs milliseconds. Warden opens the copy as it opens any existing
 * data directory (migrations checked, nothing pending).
 */
export async function makePgliteTemplate(): Promise<{ dataDir: string; dump: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-pglite-template-'));
  const store = await openPgliteStore({ dataDir: dir, durability: 'relaxed', command: 'test template' });
  // The same cluster as a tarball, for in-memory stores (pgliteTestStore): loading it replaces initdb and the migrations.
  const dump = path.join(dir, 'pglite-dump.tar');
  const pg = (store as unknown as { pg: { dumpDataDir(compression: 'none'): Promise<Blob> } }).pg;
  writeFileSync(dump, Buffer.from(await (await pg.dumpDataDir('none')).arrayBuffer()));
  await store.close();
  return { dataDir: path.join(dir, 'pglite'), dump };
}

/** The run's migrated template as a dump, to start an in-memory store from (undefined outside vitest's global setup). */
export function pgliteTemplateDump(): Blob | undefined {
  const dump = inject('pgliteTemplate')?.dump;
  return dump && existsSync(dump) ? new Blob([readFileSync(dump)]) : undefined;
}

/** Puts a copy of the run's template store into `dataDir` (Warden's `dataDir`), unless it holds one already. */
export function seedDataDir(dataDir: string): void {
  const template = inject('pgliteTemplate')?.dataDir;
  const target = path.join(dataDir, 'pglite');
  if (!template || existsSync(target)) return;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  cpSync(template, target, { recursive: true });
}
