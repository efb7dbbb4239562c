import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/**
 * The web console's operations of the Store port (src/store/console-store.ts),
 * run by storeContract for every driver.
 */
export function consoleStoreContract(driver: string, getStore: () => Store, tenant: () => Promise<string>): void {
  describe('console sessions and sign-ins', () => {
    it('round-trips a session, records activity (never backwards), replaces the person and signs out once', async () => {
      const store = getStore();
      const t = await tenant();
      const row = {
        idHash: `s-${driver}-${t}`,
        tenant: t,
        subject: '00u1',
        person: { subject: '00u1', roles: ['approver'] },
        csrfToken: 'csrf',
        createdAt: T0,
        lastSeenAt: T0,
        expiresAt: at(3600),
      };
      await store.putConsoleSession(row);
      expect(await store.getConsoleSession(row.idHash)).toEqual(row);
      await store.touchConsoleSession(row.idHash, at(60));
      await store.touchConsoleSession(row.idHash, at(30));
      expect((await store.getConsoleSession(row.idHash))?.lastSeenAt).toEqual(at(60));
      await store.updateConsoleSessionPerson(row.idHash, { subject: '00u1', roles: ['approver'], stepUpAt: at(90).toISOString() }, at(90));
      expect((await store.getConsoleSession(row.idHash))?.person).toEqual({ subject: '00u1', roles: ['approver'], stepUpAt: at(90).toISOString() });
      expect(await store.endConsoleSession(row.idHash, at(120))).toBe(true);
      expect(await store.endConsoleSession(row.idHash, at(130))).toBe(false);
      expect((await store.getConsoleSession(row.idHash))?.endedAt).toEqual(at(120));
      expect(await store.getConsoleSession('unknown')).toBeUndefined();
    });

    it('hands a sign-in out once; a second take is a replay; an unknown state is nothing', async () => {
      const store = getStore();
      const t = await tenant();
      const login = {
        stateHash: `l-${driver}-${t}`,
        browserHash: 'b',
        tenant: t,
        purpose: 'sign_in' as const,
        nonce: 'n',
        codeVerifier: 'v',
        returnTo: '/console/',
        createdAt: T0,
        expiresAt: at(600),
      };
      await store.putConsoleLogin(login);
      const [first, second] = await Promise.all([store.takeConsoleLogin(login.stateHash, at(5)), store.takeConsoleLogin(login.stateHash, at(5))]);
      expect([first?.firstUse, second?.firstUse].sort()).toEqual([false, true]);
      expect((await store.takeConsoleLogin(login.stateHash, at(6)))?.row).toEqual({ ...login, usedAt: at(5) });
      expect(await store.takeConsoleLogin('unknown', at(6))).toBeUndefined();
    });

    it('prunes ended and expired sessions and sign-ins', async () => {
      const store = getStore();
      const t = await tenant();
      const base = { tenant: t, subject: '00u2', person: {}, csrfToken: 'c', createdAt: T0, lastSeenAt: T0 };
      await store.putConsoleSession({ ...base, idHash: `old-${driver}-${t}`, expiresAt: at(10) });
      await store.putConsoleSession({ ...base, idHash: `live-${driver}-${t}`, expiresAt: at(10_000) });
      await store.putConsoleLogin({
        stateHash: `old-l-${driver}-${t}`,
        browserHash: 'b',
        tenant: t,
        purpose: 'sign_in',
        nonce: 'n',
        codeVerifier: 'v',
        returnTo: '/console/',
        createdAt: T0,
        expiresAt: at(10),
      });
      expect(await store.pruneConsole(at(20))).toBeGreaterThanOrEqual(2);
      expect(await store.getConsoleSession(`old-${driver}-${t}`)).toBeUndefined();
      expect(await store.getConsoleSession(`live-${driver}-${t}`)).toBeDefined();
      expect(await store.takeConsoleLogin(`old-l-${driver}-${t}`, at(21))).toBeUndefined();
    });
  });
}
