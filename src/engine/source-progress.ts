import { detectionSource } from '../core/detection-source.js';
import type { ConnectorStore, ConnectorStoreOps } from '../connector/connector-store.js';
import type { InboxEntry } from '../store/store.js';
import type { ChangeDetection } from './decide-change.js';
import { overlay } from '../store/overlay.js';

/**
 * The detection source of an inbox entry (`okta/hook`, `okta/poll`,
 * `entra/poll`, `m365/poll`: src/core/detection-source.ts): the connector
 * that stored it, the way it came, and for Management Activity records their
 * `o365:` event type.
 */
export function inboxSource(entry: Pick<InboxEntry, 'source' | 'via' | 'eventType'>): string {
  return detectionSource(entry.source, entry.via, entry.eventType);
}

/**
 * Moves the watermark of the entry's source for a record detection will not
 * see as a change (a copy the inbox refused, an entry the connector ignored:
 * a sign-in, an event Warden does not govern). Entries without an event time
 * move nothing.
 */
export function progressOf(detection: Pick<ChangeDetection, 'progress'> | undefined, entry: InboxEntry, now: Date): void {
  if (entry.occurredAt) detection?.progress?.(entry.tenant, inboxSource(entry), entry.occurredAt, now);
}

/**
 * The store as connectors get it (`ConnectorContext.store`), telling
 * `refused` about every delivery `putInbox` refuses because one with the same
 * event id is stored (the poller's copy of what the hook stored, the hook's
 * of what the poller stored, a retried delivery): the copy is not processed
 * again, but it still shows how far its source has read, so its source's
 * watermark moves (see docs/detection.md, watermarks). Everything else is the
 * store's own behaviour.
 */
export function reportingRefusedCopies<S extends ConnectorStore>(store: S, refused: (entry: InboxEntry) => void): S {
  const putInbox =
    (ops: Pick<ConnectorStoreOps, 'putInbox'>): ConnectorStoreOps['putInbox'] =>
    async (entry) => {
      const result = await ops.putInbox(entry);
      if (!result.inserted) refused(entry);
      return result;
    };
  const putInboxMany =
    (ops: Pick<ConnectorStoreOps, 'putInboxMany'>): ConnectorStoreOps['putInboxMany'] =>
    async (entries) => {
      const results = await ops.putInboxMany(entries);
      results.forEach((result, i) => {
        if (!result.inserted) refused(entries[i]!);
      });
      return results;
    };
  const transaction: ConnectorStore['transaction'] = (fn) =>
    store.transaction((tx) => fn(overlay(tx, { putInbox: putInbox(tx), putInboxMany: putInboxMany(tx) })));
  return overlay(store, { putInbox: putInbox(store), putInboxMany: putInboxMany(store), transaction });
}
