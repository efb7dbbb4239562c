import { describe, expect, it } from 'vitest';
import { DirectoryCache } from './directory-cache.js';

/** A read the test answers when it wants (no timers): counts how often each key was read. */
function reads() {
  const count = new Map<string, number>();
  const pending: Array<{ key: string; resolve: (v: { id: string; tenant: string }) => void; reject: (e: Error) => void }> = [];
  return {
    count: (key: string) => count.get(key) ?? 0,
    load: (tenant: string, key: string) => () => {
      count.set(`${tenant}/${key}`, (count.get(`${tenant}/${key}`) ?? 0) + 1);
      return new Promise<{ id: string; tenant: string }>((resolve, reject) => pending.push({ key, resolve, reject }));
    },
    answer: (id: string) => {
      for (const p of pending.splice(0)) p.resolve({ id: id ?? p.key, tenant: '' });
    },
    answerEach: (byKey: Record<string, string>) => {
      for (const p of pending.splice(0)) p.resolve({ id: byKey[p.key] ?? p.key, tenant: '' });
    },
    fail: () => {
      for (const p of pending.splice(0)) p.reject(new Error('429'));
    },
  };
}

const idOf = (v: { id: string }) => v.id;

describe('DirectoryCache', () => {
  it('shares one read among concurrent look-ups, keeps the answer for the TTL on the caller clock, then reads again', async () => {
    const cache = new DirectoryCache<{ id: string; tenant: string }>();
    const r = reads();
    const at = (now: number) => cache.get('acme', 'u1', { now, ttlMs: 60_000, idOf }, r.load('acme', 'u1'));
    const all = [at(0), at(0), at(10)];
    r.answer('u1');
    const answers = await Promise.all(all);
    expect(new Set(answers).size).toBe(1);
    await at(59_999);
    expect(r.count('acme/u1')).toBe(1);
    const again = at(60_000);
    r.answer('u1');
    await again;
    expect(r.count('acme/u1')).toBe(2);
  });

  it('does not keep a failure: every caller of the failed read gets it, the next look-up reads again', async () => {
    const cache = new DirectoryCache<{ id: string; tenant: string }>();
    const r = reads();
    const first = [1, 2].map(() => cache.get('acme', 'u1', { now: 0, ttlMs: 60_000 }, r.load('acme', 'u1')));
    r.fail();
    for (const p of first) await expect(p).rejects.toThrow('429');
    const next = cache.get('acme', 'u1', { now: 1, ttlMs: 60_000 }, r.load('acme', 'u1'));
    r.answer('u1');
    await next;
    expect(r.count('acme/u1')).toBe(2);
  });

  it("never answers a tenant from another tenant's entry, and forgets a person in one tenant only", async () => {
    const cache = new DirectoryCache<{ id: string; tenant: string }>();
    const r = reads();
    const a = cache.get('acme', 'dana', { now: 0, ttlMs: 60_000 }, r.load('acme', 'dana'));
    const g = cache.get('globex', 'dana', { now: 0, ttlMs: 60_000 }, r.load('globex', 'dana'));
    r.answer('dana');
    await Promise.all([a, g]);
    expect([r.count('acme/dana'), r.count('globex/dana')]).toEqual([1, 1]);
    cache.forget('globex', 'dana');
    await cache.get('acme', 'dana', { now: 1, ttlMs: 60_000 }, r.load('acme', 'dana'));
    expect(r.count('acme/dana')).toBe(1);
    const again = cache.get('globex', 'dana', { now: 1, ttlMs: 60_000 }, r.load('globex', 'dana'));
    r.answer('dana');
    await again;
    expect(r.count('globex/dana')).toBe(2);
  });

  it('forgets a person looked up by login: kept, or still in flight when forgotten; others in flight stay shared', async () => {
    const cache = new DirectoryCache<{ id: string; tenant: string }>();
    const r = reads();
    const get = (key: string, now = 0) => cache.get('acme', key, { now, ttlMs: 60_000, idOf }, r.load('acme', key));
    // Kept: the entry under the login answered with id 00u1.
    const kept = get('dana@acme.example');
    r.answerEach({ 'dana@acme.example': '00u1' });
    await kept;
    cache.forget('acme', '00U1'); // ids compare without case
    const reread = get('dana@acme.example');
    // In flight when forgotten: its answer is not kept. Erin's read in flight stays shared.
    const erin = get('erin@acme.example');
    cache.forget('acme', '00u1');
    const erinToo = get('erin@acme.example');
    r.answerEach({ 'dana@acme.example': '00u1', 'erin@acme.example': '00u2' });
    await Promise.all([reread, erin, erinToo]);
    expect(r.count('acme/erin@acme.example')).toBe(1);
    const third = get('dana@acme.example');
    r.answerEach({ 'dana@acme.example': '00u1' });
    await third;
    expect(r.count('acme/dana@acme.example')).toBe(3);
  });

  it('stays within maxEntries, the least recently used dropped first', async () => {
    const cache = new DirectoryCache<{ id: string; tenant: string }>({ maxEntries: 100 });
    const r = reads();
    const get = (key: string) => cache.get('acme', key, { now: 0, ttlMs: 60_000 }, r.load('acme', key));
    const hot = get('hot');
    r.answer('hot');
    await hot;
    for (let i = 0; i < 1_000; i++) {
      const p = get(`u${i}`);
      r.answer(`u${i}`);
      await p;
      await get('hot'); // used all the time: never the least recently used
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(r.count('acme/hot')).toBe(1);
    const cold = get('u0');
    r.answer('u0');
    await cold;
    expect(r.count('acme/u0')).toBe(2);
  });
});
