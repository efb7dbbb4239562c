import { cpSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
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
export async function makePgliteTemplate(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-pglite-template-'));
  const store = await openPgliteStore({ dataDir: dir, durability: 'relaxed', command: 'test template' });
  await store.close();
  return path.join(dir, 'pglite');
}

/** Puts a copy of the run's template store into `dataDir` (Warden's `dataDir`), unless it holds one already. */
export function seedDataDir(dataDir: string): void {
  const template = inject('pgliteTemplate');
  const target = path.join(dataDir, 'pglite');
  if (!template || existsSync(target)) return;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  cpSync(template, target, { recursive: true });
}
