import * as childProcess from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isWardenError, type WardenError } from '../../src/core/errors.js';
import { acquireDataDirLock, LOCK_FILE } from '../../src/store/data-dir-lock.js';
import { bundledMigrations } from '../../src/store/migrate.js';
import { openStore } from '../../src/store/open-store.js';
import { initDataDirInChild } from '../../src/store/pglite-init.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import { makeChange } from '../helpers/changes.js';

/**
 * A new embedded data directory is created (initdb, every migration) in a short-lived child process
 * (src/store/pglite-init.ts), and the server opens it as an existing one. Here in its own process
 * (vitest's own-process project): the tests fork children, from the sources under tsx.
 */
vi.mock('node:child_process', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:child_process')>();
  return { ...original, fork: vi.fn(original.fork) };
});

const freshDir = () => path.join(mkdtempSync(path.join(tmpdir(), 'warden-first-start-')), 'data');
const versions = bundledMigrations().map((m) => m.version);

async function rejection(p: Promise<unknown>): Promise<WardenError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isWardenError(err)) throw new Error(`expected a WardenError, got ${String(err)}`);
  return err;
}

describe('first start of the embedded store in a child process', () => {
  it('creates a new data directory in a child with every migration, then the server opens and uses it', async () => {
    const dataDir = freshDir();
    vi.mocked(childProcess.fork).mockClear();
    const store = await openStore({ driver: 'pglite', dataDir, durability: 'relaxed' }, 'serve');
    try {
      expect(await store.migrations()).toEqual(versions);
      expect(store.durability).toMatch(/^relaxed:/);
      await store.ping();
      await store.ensureTenants(['acme']);
      const change = makeChange({ tenant: 'acme' });
      await store.putChange(change);
      expect((await store.getChange('acme', change.id))?.id).toBe(change.id);
      expect(readdirSync(dataDir).sort()).toEqual(['pglite', LOCK_FILE]);
      expect(vi.mocked(childProcess.fork).mock.calls.map((c) => path.basename(c[0] as string))).toEqual(['pglite-init-child.ts']);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('runs the child with the durability the directory gets (full: fsync on), and releases the lock before returning', async () => {
    const dataDir = freshDir();
    const done = await initDataDirInChild(dataDir, 'full', 'serve');
    expect(done.pid).not.toBe(process.pid);
    expect(done.applied).toEqual(versions);
    expect(done.fsyncCalls).toBeGreaterThan(0);
    expect(readdirSync(dataDir)).toEqual(['pglite']);
    const store = await openPgliteStore({ dataDir, durability: 'full', initInChild: true });
    try {
      expect(await store.migrations()).toEqual(versions);
      expect(store.durability).toMatch(/^full: commits are fsync'ed/);
    } finally {
      await store.close();
    }
  }, 120_000);

  it("reports the child's failure as the in-process open does, with its message", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'warden-first-start-')), 'a-file');
    writeFileSync(file, 'not a directory');
    const dataDir = path.join(file, 'data');
    const inChild = await rejection(openPgliteStore({ dataDir, durability: 'relaxed', initInChild: true }));
    const inProcess = await rejection(openPgliteStore({ dataDir, durability: 'relaxed' }));
    expect(inChild.code).toBe('ERR_STORE');
    expect(inChild.message).toBe(`cannot open the embedded store in ${dataDir}: ENOTDIR: not a directory, mkdir '${dataDir}'`);
    expect(inChild.message).toBe(inProcess.message);
  });

  it('never initializes a directory another process holds: the child reports ERR_STORE_LOCKED with the holder', async () => {
    const dataDir = freshDir();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dataDir, { recursive: true });
    const lock = acquireDataDirLock(dataDir, 'serve');
    try {
      const err = await rejection(initDataDirInChild(dataDir, 'relaxed', 'serve'));
      expect(err.code).toBe('ERR_STORE_LOCKED');
      expect(err.details).toMatchObject({ pid: process.pid, command: 'serve' });
      expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false);
      expect(existsSync(path.join(dataDir, 'pglite.init'))).toBe(false);
    } finally {
      lock.release();
    }
  });
});
