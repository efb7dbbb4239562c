import fs, { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isWardenError } from '../../src/core/errors.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import { readLock } from '../../src/store/data-dir-lock.js';
import { bundledMigrations } from '../../src/store/migrate.js';
import { makeChange } from '../helpers/changes.js';
import { seedDataDir } from '../helpers/pglite-template.js';

/**
 * A data directory holding a copy of the run's migrated template store: what is tested here is how
 * Warden runs an existing cluster (fsync, locks, restarts), and initdb costs tens of seconds on a busy
 * machine (the fsync test timed out at 30 s beside stress-ng --cpu 2).
 */
const dataDir = () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'warden-pglite-')), 'data');
  seedDataDir(dir);
  return dir;
};

describe('embedded store (PGlite) on disk', () => {
  it('fsyncs every commit with durability full, and says so', async () => {
    const spy = vi.spyOn(fs, 'fsyncSync');
    const store = await openPgliteStore({ dataDir: dataDir(), durability: 'full' });
    try {
      expect(store.durability).toMatch(/^full: commits are fsync'ed/);
      await store.ensureTenants(['acme']);
      spy.mockClear();
      for (let i = 0; i < 3; i++) await store.putChange(makeChange());
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(3);
    } finally {
      await store.close();
      spy.mockRestore();
    }
  });

  it('does not fsync with durability relaxed, and says what that costs', async () => {
    const spy = vi.spyOn(fs, 'fsyncSync');
    const store = await openPgliteStore({ dataDir: dataDir(), durability: 'relaxed' });
    try {
      expect(store.durability).toMatch(/survives a crash of the process but NOT a power loss.*PostgreSQL/);
      await store.ensureTenants(['acme']);
      spy.mockClear();
      await store.putChange(makeChange());
      expect(spy).not.toHaveBeenCalled();
    } finally {
      await store.close();
      spy.mockRestore();
    }
  });

  it('keeps data across a restart', async () => {
    const dir = dataDir();
    const change = makeChange();
    const first = await openPgliteStore({ dataDir: dir });
    await first.ensureTenants(['acme']);
    await first.putChange(change);
    await first.close();
    const second = await openPgliteStore({ dataDir: dir });
    try {
      expect(await second.getChange('acme', change.id)).toEqual(change);
      expect(await second.migrations()).toEqual(bundledMigrations().map((m) => m.version));
    } finally {
      await second.close();
    }
  });

  it('lets one process at a time open a data directory', async () => {
    const dir = dataDir();
    const holder = await openPgliteStore({ dataDir: dir, command: 'serve' });
    try {
      await openPgliteStore({ dataDir: dir });
      expect.unreachable();
    } catch (err) {
      expect(isWardenError(err, 'ERR_STORE_LOCKED')).toBe(true);
      expect(err).toMatchObject({ details: { pid: process.pid, command: 'serve' } });
    } finally {
      await holder.close();
    }
    expect(readLock(dir)).toBeUndefined();
    const next = await openPgliteStore({ dataDir: dir });
    await next.close();
  });

  it('takes over the lock of a process that died', async () => {
    const dir = dataDir();
    await (await openPgliteStore({ dataDir: dir })).close();
    writeFileSync(
      path.join(dir, 'warden.lock'),
      JSON.stringify({ pid: 2 ** 22 + 12345, hostname: hostname(), startedAt: '2026-01-01T00:00:00Z', command: 'serve' }),
    );
    const store = await openPgliteStore({ dataDir: dir });
    expect(readLock(dir)?.pid).toBe(process.pid);
    await store.close();
  });
});
