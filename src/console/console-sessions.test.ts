import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';
import type { ConsolePerson } from './console-person.js';
import { checkCsrf, ConsoleSessions, sha256, type ActiveSession } from './console-sessions.js';

const T0 = new Date('2026-11-25T09:00:00.000Z');
const MIN = 60_000;
const person: ConsolePerson = {
  tenant: 'acme',
  subject: '00u1ann',
  names: ['ann@acme.example'],
  groups: ['iam-approvers'],
  roles: ['approver'],
  amr: ['pwd', 'mfa'],
};

/** The reason an `ERR_SESSION` gives, or 'ok'. */
async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isWardenError(err, 'ERR_SESSION')) return (err.details as { reason: string }).reason;
    throw err;
  }
}

describe('console sessions: one failure mode each', () => {
  let t: TestStore;
  let store: Store;
  let now = T0;
  let sessions: ConsoleSessions;
  beforeAll(async () => {
    t = await pgliteTestStore();
    store = t.store;
    await store.ensureTenants(['acme']);
    sessions = new ConsoleSessions(store, () => now, { sessionIdleMs: 30 * MIN, sessionAbsoluteMs: 8 * 60 * MIN, signInTimeoutMs: 10 * MIN });
  });
  afterAll(() => t?.dispose());

  it('stores only a hash of the session id, and resolves the id it gave out', async () => {
    now = T0;
    const { id, session } = await sessions.start(person);
    const row = await store.getConsoleSession(sha256(id));
    expect(row?.idHash).toBe(sha256(id));
    expect(JSON.stringify(row)).not.toContain(id);
    expect((await sessions.resolve(id)).person.subject).toBe('00u1ann');
    expect(session.expiresAt.toISOString()).toBe('2026-11-25T17:00:00.000Z');
  });

  it('gives a new id at every sign-in (no fixation)', async () => {
    now = T0;
    const a = await sessions.start(person);
    const b = await sessions.start(person);
    expect(a.id).not.toBe(b.id);
    expect(a.id.length).toBeGreaterThanOrEqual(43);
  });

  it('refuses no cookie and an unknown id', async () => {
    expect(await reasonOf(sessions.resolve(undefined))).toBe('missing');
    expect(await reasonOf(sessions.resolve('not-a-session-we-gave-out'))).toBe('unknown');
  });

  it('ends after the idle timeout, and activity keeps it alive', async () => {
    now = T0;
    const { id } = await sessions.start(person);
    now = new Date(T0.getTime() + 29 * MIN);
    expect(await reasonOf(sessions.resolve(id))).toBe('ok');
    now = new Date(T0.getTime() + 58 * MIN); // 29 minutes after the last activity
    expect(await reasonOf(sessions.resolve(id))).toBe('ok');
    now = new Date(T0.getTime() + 88 * MIN); // 30 minutes idle
    expect(await reasonOf(sessions.resolve(id))).toBe('expired_idle');
  });

  it('ends at the absolute timeout however active', async () => {
    now = T0;
    const { id } = await sessions.start(person);
    for (let m = 20; m < 8 * 60; m += 20) {
      now = new Date(T0.getTime() + m * MIN);
      expect(await reasonOf(sessions.resolve(id))).toBe('ok');
    }
    now = new Date(T0.getTime() + 8 * 60 * MIN);
    expect(await reasonOf(sessions.resolve(id))).toBe('expired_absolute');
  });

  it('ends at sign-out', async () => {
    now = T0;
    const { id, session } = await sessions.start(person);
    expect(await sessions.end(session.idHash)).toBe(true);
    expect(await reasonOf(sessions.resolve(id))).toBe('signed_out');
    expect(await sessions.end(session.idHash)).toBe(false);
  });
});

describe('CSRF synchronizer token', () => {
  const session = (csrfToken: string): ActiveSession => ({ idHash: 'h', tenant: 'acme', person, csrfToken, createdAt: T0, expiresAt: T0 });
  const reason = (fn: () => void) => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      if (isWardenError(err, 'ERR_CSRF')) return (err.details as { reason: string }).reason;
      throw err;
    }
  };
  const mine = session('token-of-this-session-0123456789abcdef');
  const other = session('token-of-another-session-0123456789ab');

  it("accepts the session's own token", () => expect(reason(() => checkCsrf(mine, mine.csrfToken))).toBe('ok'));
  it('refuses a missing token', () => {
    expect(reason(() => checkCsrf(mine, undefined))).toBe('missing');
    expect(reason(() => checkCsrf(mine, ''))).toBe('missing');
    expect(reason(() => checkCsrf(mine, ['x']))).toBe('missing');
  });
  it('refuses a wrong token', () => expect(reason(() => checkCsrf(mine, 'token-of-this-session-0123456789abcdeX'))).toBe('wrong'));
  it("refuses another session's token", () => expect(reason(() => checkCsrf(mine, other.csrfToken))).toBe('wrong'));
});
