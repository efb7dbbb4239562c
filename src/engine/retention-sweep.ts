import { Counter, type Registry } from 'prom-client';
import type { Store } from '../store/store.js';

/** Rows of each kind deleted by one sweep step at most (a backlog drains step after step). */
const BATCH = 1000;

export interface Retention {
  inboxMs: number;
  ownChangesMs: number;
  eventsMs: number;
  notMeLinksMs: number;
  ssfSetsMs: number;
  ssfReceivedMs: number;
}

const KINDS = ['inbox', 'ownChanges', 'events', 'notMeLinks', 'ssfSets', 'ssfReceived'] as const;
/** The metric's label of each kind. */
const LABEL: Record<(typeof KINDS)[number], string> = {
  inbox: 'inbox',
  ownChanges: 'own_changes',
  events: 'events',
  notMeLinks: 'not_me_links',
  ssfSets: 'ssf_sets',
  ssfReceived: 'ssf_received',
};

/**
 * One step of the retention sweep: deletes what has outlived its retention
 * (raw vendor payloads of finished deliveries, Warden's own-change records,
 * sent outbound events, expired "this wasn't me" links, delivered SETs and
 * received SET ids), a batch of each. Returns how many rows went, so the
 * background loop runs again at once while there is a backlog.
 */
export function retentionSweep(store: Store, retention: Retention, clock: () => Date, registry?: Registry): () => Promise<number> {
  const deleted = new Counter({
    name: 'warden_retention_deleted_total',
    help: 'Rows deleted because they outlived their retention, by kind (inbox, own_changes, events, not_me_links, ssf_sets, ssf_received)',
    labelNames: ['kind'] as const,
    registers: registry ? [registry] : [],
  });
  return async () => {
    const now = clock().getTime();
    const before = (ms: number) => new Date(now - ms);
    const pruned = await store.pruneRetained(
      {
        inbox: before(retention.inboxMs),
        ownChanges: before(retention.ownChangesMs),
        events: before(retention.eventsMs),
        notMeLinks: before(retention.notMeLinksMs),
        ssfSets: before(retention.ssfSetsMs),
        ssfReceived: before(retention.ssfReceivedMs),
      },
      BATCH,
    );
    for (const kind of KINDS) deleted.inc({ kind: LABEL[kind] }, pruned[kind]);
    return KINDS.some((kind) => pruned[kind] >= BATCH) ? 1 : 0;
  };
}
