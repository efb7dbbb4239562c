import { systemClock } from '../core/clock.js';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { WardenError } from '../core/errors.js';

/** What the process holding a data directory says about itself. */
export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  /** `serve`, `audit verify`, … */
  command: string;
  /** The holder's local admin socket, when it serves one (src/server/admin-socket.ts). */
  adminSocket?: string;
}

export const LOCK_FILE = 'warden.lock';

/** Reads the lock of a data directory, if any. */
export function readLock(dir: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

function alive(info: LockInfo): boolean {
  if (info.hostname !== hostname()) return true; // cannot tell; assume it is
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the embedded store's data directory for this process. PGlite is a
 * single-process database: two processes opening one directory corrupt it,
 * and PGlite does not stop them, so Warden does. A lock left by a dead
 * process is taken over.
 *
 * @returns a function that releases the lock (also released on exit)
 * @throws WardenError `ERR_STORE_LOCKED` with `details: LockInfo` when a live process holds it
 */
export function acquireDataDirLock(dir: string, command: string): { info: LockInfo; update(extra: Partial<LockInfo>): void; release(): void } {
  const file = path.join(dir, LOCK_FILE);
  let info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: systemClock().toISOString(), command };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = readLock(dir);
      if (holder && alive(holder))
        throw new WardenError(
          'ERR_STORE_LOCKED',
          `the embedded store in ${dir} is in use by another Warden process (pid ${holder.pid}, ${holder.command}, since ${holder.startedAt})`,
          {
            details: holder,
          },
        );
      unlinkSync(file);
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    if (readLock(dir)?.pid === process.pid) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', release);
  return {
    get info() {
      return info;
    },
    update(extra) {
      info = { ...info, ...extra };
      const fd = openSync(file, 'w', 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
    },
    release,
  };
}
