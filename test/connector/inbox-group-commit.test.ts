import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxGroupCommit, type StoredEntry } from '../../src/connector/inbox-group-commit.js';
import { WardenError } from '../../src/core/errors.js';
import type { InboxEntry, Store } from '../../src/store/store.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/**
 * The receivers' group commit (src/connector/inbox-group-commit.ts): the
 * deliveries that arrive while a statement is written go in the next one,
 * each still all-or-nothing, a failing one fails only itself, and no
 * delivery's promise settles before the statement holding it has.
 */

const T0 = new Date('2026-11-25T10:00:00.000Z');
const entry = (eventId: string, tenant = 'gc'): InboxEntry => ({
  tenant,
  source: 'okta',
  eventId,
  eventType: 'user.session.start',
  via: 'hook',
  payload: { uuid: eventId },
  receivedAt: T0,
});

/** A store whose statements finish when the test says so, recording what each held. */
class HeldStore {
  readonly calls: Array<{ entries: readonly InboxEntry[]; done: boolean; finish(): void; fail(err: unknown): void }> = [];
  readonly stored = new Map<string, number>();
  refuse?: (e: InboxEntry) => boolean;
  putInboxMany(entries: readonly InboxEntry[]): Promise<StoredEntry[]> {
    return new Promise((resolve, reject) => {
      const call = {
        entries,
        done: false,
        finish: () => {
          call.done = true;
          if (entries.some((e) => this.refuse?.(e))) {
            reject(new WardenError('ERR_STORE', 'refused'));
            return;
          }
          resolve(
            entries.map((e) => {
              const known = this.stored.get(e.eventId);
              if (known !== undefined) return { inserted: false, id: known };
              this.stored.set(e.eventId, this.stored.size + 1);
              return { inserted: true, id: this.stored.size };
            }),
          );
        },
        fail: (err: unknown) => {
          call.done = true;
          reject(err);
        },
      };
      this.calls.push(call);
    });
  }
  /** Finishes every statement as it comes, for as many turns of the event loop as the group needs to write everything waiting. */
  async finishAll(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await settle();
      for (const c of this.calls.filter((c) => !c.done)) c.finish();
    }
  }
}

/** Lets promise callbacks and the group's own turn of the event loop run. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** Whether a promise has settled yet. */
function watch<T>(p: Promise<T>): { settled: () => boolean; value: Promise<T> } {
  let done = false;
  const value = p.finally(() => {
    done = true;
  });
  value.catch(() => undefined);
  return { settled: () => done, value };
}

describe('inbox group commit', () => {
  it('writes a lone delivery after one turn of the event loop, and the deliveries that arrive meanwhile together in the next statement', async () => {
    const store = new HeldStore();
    const group = new InboxGroupCommit(store);
    const first = watch(group.put([entry('a')]));
    expect(store.calls).toHaveLength(0);
    await settle();
    expect(store.calls.map((c) => c.entries.map((e) => e.eventId))).toEqual([['a']]);
    const others = [group.put([entry('b'), entry('c')]), group.put([entry('d')]), group.put([entry('a')])].map(watch);
    await settle();
    expect(store.calls).toHaveLength(1);
    await store.finishAll();
    expect(store.calls.map((c) => c.entries.map((e) => e.eventId))).toEqual([['a'], ['b', 'c', 'd', 'a']]);
    expect(await first.value).toEqual([{ inserted: true, id: 1 }]);
    expect(await Promise.all(others.map((o) => o.value))).toEqual([
      [
        { inserted: true, id: 2 },
        { inserted: true, id: 3 },
      ],
      [{ inserted: true, id: 4 }],
      [{ inserted: false, id: 1 }],
    ]);
  });

  it('writes the deliveries received in the same turn of the event loop in one statement', async () => {
    const store = new HeldStore();
    const group = new InboxGroupCommit(store);
    const all = [group.put([entry('a')]), group.put([entry('b'), entry('c')]), group.put([entry('d')])];
    await store.finishAll();
    await Promise.all(all);
    expect(store.calls.map((c) => c.entries.map((e) => e.eventId))).toEqual([['a', 'b', 'c', 'd']]);
  });

  it('settles no delivery before the statement holding it has committed', async () => {
    const store = new HeldStore();
    const group = new InboxGroupCommit(store);
    const first = watch(group.put([entry('a')]));
    await settle();
    const second = watch(group.put([entry('b')]));
    await settle();
    expect([first.settled(), second.settled()]).toEqual([false, false]);
    store.calls[0]!.finish();
    await settle();
    expect([first.settled(), second.settled()]).toEqual([true, false]);
    expect(store.calls.map((c) => c.entries.map((e) => e.eventId))).toEqual([['a'], ['b']]);
    store.calls[1]!.finish();
    await settle();
    expect(second.settled()).toBe(true);
  });

  it('keeps a delivery whole within the row limit of a statement, and never splits one', async () => {
    const store = new HeldStore();
    const group = new InboxGroupCommit(store, 3);
    const lone = group.put([entry('x')]);
    await settle();
    const waiting = [group.put([entry('a'), entry('b')]), group.put([entry('c'), entry('d')]), group.put([entry('e'), entry('f'), entry('g'), entry('h')])];
    await store.finishAll();
    await Promise.all([lone, ...waiting]);
    expect(store.calls.map((c) => c.entries.map((e) => e.eventId))).toEqual([['x'], ['a', 'b'], ['c', 'd'], ['e', 'f', 'g', 'h']]);
  });

  it('fails only the delivery the store refuses when it shared a statement: the others are written again alone and stored', async () => {
    const store = new HeldStore();
    store.refuse = (e) => e.eventId === 'poison';
    const group = new InboxGroupCommit(store);
    const first = group.put([entry('a')]);
    await settle();
    const batch = [group.put([entry('b')]), group.put([entry('c'), entry('poison')]), group.put([entry('d')])].map(watch);
    await store.finishAll();
    expect(await first).toEqual([{ inserted: true, id: 1 }]);
    await expect(batch[1]!.value).rejects.toThrow('refused');
    expect(await batch[0]!.value).toEqual([{ inserted: true, id: 2 }]);
    expect(await batch[2]!.value).toEqual([{ inserted: true, id: 3 }]);
    // The statement of three failed whole (nothing of it stored), then each went alone.
    expect(store.calls.map((c) => c.entries.map((e) => e.eventId))).toEqual([['a'], ['b', 'c', 'poison', 'd'], ['b'], ['c', 'poison'], ['d']]);
    expect([...store.stored.keys()]).toEqual(['a', 'b', 'd']);
    // And the group goes on writing.
    const after = group.put([entry('e')]);
    await store.finishAll();
    expect(await after).toEqual([{ inserted: true, id: 4 }]);
  });

  it('rejects a lone delivery with the store error, and is not stuck after it', async () => {
    const store = new HeldStore();
    const group = new InboxGroupCommit(store);
    const p = watch(group.put([entry('a')]));
    await settle();
    store.calls[0]!.fail(new WardenError('ERR_STORE', 'the database is unreachable'));
    await expect(p.value).rejects.toThrow('unreachable');
    const q = group.put([entry('a')]);
    await store.finishAll();
    expect(await q).toEqual([{ inserted: true, id: 1 }]);
  });

  describe('on a real store', () => {
    let handle: TestStore;
    let store: Store;
    beforeAll(async () => {
      handle = await pgliteTestStore();
      store = handle.store;
      await store.ensureTenants(['gc']);
    });
    afterAll(async () => {
      await handle?.dispose();
    });

    it('stores every one of many concurrent deliveries, in fewer statements than deliveries, de-duplicated across them', async () => {
      let statements = 0;
      const counted = {
        putInboxMany: (entries: readonly InboxEntry[]) => {
          statements++;
          return store.putInboxMany(entries);
        },
      };
      const group = new InboxGroupCommit(counted);
      const deliveries = Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? [entry(`r${i}-1`), entry(`r${i}-2`)] : [entry(`r${i}`)]));
      // A retry of delivery 0 among them: its event is stored once.
      const answers = await Promise.all([...deliveries, deliveries[0]!].map((d) => group.put(d)));
      expect(answers.slice(0, 40).every((a) => a.every((x) => x.inserted))).toBe(true);
      expect(answers[40]).toEqual([{ inserted: false, id: answers[0]![0]!.id }]);
      expect(statements).toBeLessThan(deliveries.length);
      const rows = await store.listInbox('gc', 'pending', 1000);
      expect(rows.map((r) => r.eventId).sort()).toEqual(
        deliveries
          .flat()
          .map((e) => e.eventId)
          .sort(),
      );
    });
  });
});
