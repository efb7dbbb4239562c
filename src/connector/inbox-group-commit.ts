import type { InboxEntry } from '../store/store.js';
import type { ConnectorStoreOps } from './connector-store.js';

/** What `storeDeliveries` answers for each entry of a delivery, as `putInbox` does. */
export type StoredEntry = { inserted: boolean; id: number };

/** One delivery waiting for the next statement. */
interface Waiting {
  entries: readonly InboxEntry[];
  resolve(answers: StoredEntry[]): void;
  reject(err: unknown): void;
}

/**
 * Most rows in one statement (the page travels as one JSON parameter, so this
 * bounds the statement's size and the wait of the deliveries in it; a
 * delivery larger than this still goes alone, in one statement).
 */
export const GROUP_COMMIT_MAX_ROWS = 500;

/**
 * Group commit of the receivers' inbox inserts: deliveries that arrive while
 * a statement is being written wait and are then written together, in ONE
 * multi-row statement (`putInboxMany`), so a burst of concurrent deliveries
 * costs one statement and one commit (one fsync on PGlite `full`) instead of
 * one each. A delivery arriving when nothing is being written is written
 * after one turn of the event loop (`setImmediate`, so that the deliveries
 * already received join it): nothing waits on a timer, and a lone delivery
 * costs what it did.
 *
 * The promise of a delivery settles only when the statement holding it has
 * committed (so its 200 still follows durability), with the answers of its
 * own entries. The entries of one delivery are always in one statement, all
 * stored or none. If a statement of several deliveries fails, each is
 * written again alone, so that a delivery the store refuses fails only
 * itself (its sender gets the error and retries); the others are stored.
 */
export class InboxGroupCommit {
  readonly #store: Pick<ConnectorStoreOps, 'putInboxMany'>;
  readonly #maxRows: number;
  #queue: Waiting[] = [];
  #writing = false;

  constructor(store: Pick<ConnectorStoreOps, 'putInboxMany'>, maxRows = GROUP_COMMIT_MAX_ROWS) {
    this.#store = store;
    this.#maxRows = maxRows;
  }

  /** Deliveries waiting for the next statement (not counting those of the statement being written). */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Stores one delivery's entries (in one statement with the deliveries waiting beside it); resolves once committed. */
  put(entries: readonly InboxEntry[]): Promise<StoredEntry[]> {
    return new Promise<StoredEntry[]>((resolve, reject) => {
      this.#queue.push({ entries, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        // One turn of the event loop first: the requests whose bytes are already here are read and join this statement.
        // (PGlite runs a statement without yielding to the event loop, so nothing would arrive while it is written.)
        await new Promise<void>((resolve) => setImmediate(resolve));
        let rows = this.#queue[0]!.entries.length;
        let n = 1;
        while (n < this.#queue.length && rows + this.#queue[n]!.entries.length <= this.#maxRows) rows += this.#queue[n++]!.entries.length;
        await this.#write(this.#queue.splice(0, n));
      }
    } finally {
      this.#writing = false;
    }
  }

  async #write(batch: Waiting[]): Promise<void> {
    let answers: StoredEntry[];
    try {
      answers = await this.#store.putInboxMany(batch.length === 1 ? batch[0]!.entries : batch.flatMap((d) => d.entries));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // One of them may be what the store refused: each alone, so only that one fails.
      for (const d of batch) {
        try {
          d.resolve(await this.#store.putInboxMany(d.entries));
        } catch (own) {
          d.reject(own);
        }
      }
      return;
    }
    let at = 0;
    for (const d of batch) {
      d.resolve(answers.slice(at, at + d.entries.length));
      at += d.entries.length;
    }
  }
}

const groups = new WeakMap<object, InboxGroupCommit>();

/**
 * Stores one delivery's inbox entries through the group commit of `store`
 * (one per store object: every receiver on the same `ConnectorContext.store`
 * shares it). Resolves once they are committed, with one answer per entry.
 *
 * @example const answers = await storeDeliveries(ctx.store, entries); // then 200
 */
export function storeDeliveries(store: Pick<ConnectorStoreOps, 'putInboxMany'>, entries: readonly InboxEntry[]): Promise<StoredEntry[]> {
  return groupCommitOf(store).put(entries);
}

/** The group commit of `store` (created on first use): what `storeDeliveries` writes through. */
export function groupCommitOf(store: Pick<ConnectorStoreOps, 'putInboxMany'>): InboxGroupCommit {
  let group = groups.get(store);
  if (!group) groups.set(store, (group = new InboxGroupCommit(store)));
  return group;
}
