/**
 * What a connector read from its IdP's directory about one person (profile,
 * groups, roles), reused for a short time: the enrichment cache the Okta and
 * Entra directories share.
 *
 * - **Per tenant.** Every entry is keyed by tenant and key; a look-up in one
 *   tenant never answers from another tenant's entry.
 * - **One request per person at a time.** A look-up made while the same key
 *   is being read joins that request (the inbox worker prepares several
 *   entries at once: a burst about one person costs one read), whatever the
 *   TTL, 0 included.
 * - **Fresh for `ttlMs`** from when the read started, on the caller's clock;
 *   then read again. Failures are not kept (every caller of the failed
 *   request gets the error; the next look-up reads again).
 * - **Bounded.** At most `maxEntries` entries (least recently used dropped
 *   first), so a long catch-up over many people keeps memory flat.
 * - **Forget.** `forget(tenant, id)` drops what is known of one person (after
 *   Warden changed them): the entry under the id, the entries that answered
 *   with that id (looked up by login), and, when an entry still being read by
 *   login turns out to be that person, its answer is not kept. The request
 *   under the id itself, if one is in flight, is no longer joined: the next
 *   look-up reads again. Other people's entries, read or in flight, stay.
 */
export interface DirectoryCacheOptions {
  /** Entries kept at most (least recently used dropped first). Default 10,000. */
  maxEntries?: number;
}

/** How one look-up is made. */
export interface DirectoryLookup<T> {
  /** The caller's clock, ms. */
  now: number;
  /** How long an answer is reused, ms; 0 or less: never (a request in flight is still joined). */
  ttlMs: number;
  /** The person's id, when the key is not the id itself (a look-up of a person's groups, say); `forget(tenant, id)` drops the entry. */
  id?: string;
  /** The person's id in an answer (a look-up by login learns it from the answer). */
  idOf?: (value: T) => string | undefined;
}

interface Entry<T> {
  tenant: string;
  key: string;
  /** When the read started (caller's clock, ms). */
  at: number;
  /** `forget` calls made before the read started (forgets after it drop its answer). */
  seq: number;
  value: Promise<T>;
  settled: boolean;
  ttlMs: number;
  /** The person's id, lower-cased: given, or learnt from the answer. */
  id?: string;
}

export const DIRECTORY_CACHE_MAX_ENTRIES = 10_000;

export class DirectoryCache<T> {
  readonly maxEntries: number;
  /** Insertion order is recency: a hit moves its entry to the end. */
  readonly #entries = new Map<string, Entry<T>>();
  /** The `forget` sequence number of the last forget of a person (tenant\0id), bounded as the entries are. */
  readonly #forgotten = new Map<string, number>();
  #seq = 0;

  constructor(options: DirectoryCacheOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? DIRECTORY_CACHE_MAX_ENTRIES);
  }

  /** Entries held (fresh, stale or in flight). */
  get size(): number {
    return this.#entries.size;
  }

  /** The answer for `key` in `tenant`: the fresh one kept, the request in flight, or `load()` (kept while fresh). */
  get(tenant: string, key: string, lookup: DirectoryLookup<T>, load: () => Promise<T>): Promise<T> {
    const k = slot(tenant, key);
    const hit = this.#entries.get(k);
    if (hit && hit.tenant === tenant && (!hit.settled || lookup.now - hit.at < hit.ttlMs)) {
      this.#entries.delete(k);
      this.#entries.set(k, hit);
      return hit.value;
    }
    if (hit) this.#entries.delete(k);
    const value = load();
    const entry: Entry<T> = {
      tenant,
      key: k,
      at: lookup.now,
      seq: this.#seq,
      value,
      settled: false,
      ttlMs: lookup.ttlMs,
      ...(lookup.id !== undefined ? { id: lookup.id.toLowerCase() } : {}),
    };
    this.#entries.set(k, entry);
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    value.then(
      (answer) => {
        entry.settled = true;
        const id = entry.id ?? lookup.idOf?.(answer)?.toLowerCase();
        if (id !== undefined) entry.id = id;
        const forgotten = id !== undefined ? this.#forgotten.get(slot(tenant, id)) : undefined;
        if (entry.ttlMs <= 0 || (forgotten !== undefined && forgotten > entry.seq)) this.#drop(entry);
      },
      () => this.#drop(entry),
    );
    return value;
  }

  /** Drops what is known of one person of `tenant` (see the class comment). */
  forget(tenant: string, id: string): void {
    const lower = id.toLowerCase();
    const k = slot(tenant, lower);
    this.#seq++;
    this.#forgotten.delete(k);
    this.#forgotten.set(k, this.#seq);
    while (this.#forgotten.size > this.maxEntries) this.#forgotten.delete(this.#forgotten.keys().next().value!);
    this.#entries.delete(k);
    for (const [key, entry] of this.#entries) if (entry.tenant === tenant && entry.id === lower) this.#entries.delete(key);
  }

  /** Drops the entry under `key` (read or in flight: its answer is not kept). */
  drop(tenant: string, key: string): void {
    this.#entries.delete(slot(tenant, key));
  }

  /** Drops everything kept for `tenant`. */
  forgetTenant(tenant: string): void {
    this.#seq++;
    for (const [key, entry] of this.#entries) if (entry.tenant === tenant) this.#entries.delete(key);
    for (const key of this.#forgotten.keys()) if (key.startsWith(`${tenant}\u0000`)) this.#forgotten.delete(key);
    // An entry still in flight was dropped above: its answer is never kept (#drop finds another or none).
  }

  #drop(entry: Entry<T>): void {
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
  }
}

const slot = (tenant: string, key: string) => `${tenant}\u0000${key.toLowerCase()}`;
