import { Counter, type Registry } from 'prom-client';
import type { Store } from '../store/store.js';

/** Rows of each kind deleted by one sweep step at most (a backlog drains step after step). */
const BATCH = 1000;

export interface Retention {
  inboxMs: number;
  ownChangesMs: number;
  eventsMs: number;
}

/**
 * One step of the retention sweep: deletes what has outlived its retention
 * (raw vendor payloads of finished deliveries, Warden's own-change records,
 * sent outbound events), a batch of each. Returns how many rows went, so the
 * background loop runs again at once while there is a backlog.
 */
export function retentionSweep(store: Store, retention: Retention, clock: () => Date, registry?: Registry): () => Promise<number> {
  const deleted = new Counter({
    name: 'warden_retention_deleted_total',
    help: 'Rows deleted because they outlived their retention, by kind (inbox, own_changes, events)',
    labelNames: ['kind'] as const,
    registers: registry ? [registry] : [],
  });
  return async () => {
    const now = clock().getTime();
    const pruned = await store.pruneRetained(
      { inbox: new Date(now - retention.inboxMs), ownChanges: new Date(now - retention.ownChangesMs), events: new Date(now - retention.eventsMs) },
      BATCH,
    );
    deleted.inc({ kind: 'inbox' }, pruned.inbox);
    deleted.inc({ kind: 'own_changes' }, pruned.ownChanges);
    deleted.inc({ kind: 'events' }, pruned.events);
    return Math.max(pruned.inbox, pruned.ownChanges, pruned.events) >= BATCH ? 1 : 0;
  };
}
