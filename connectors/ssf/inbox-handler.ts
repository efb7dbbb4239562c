import type { InboxHandler } from '../../src/connector/index.js';
import { setToChanges } from './map-set.js';
import type { VerifiedSet } from './verify-set.js';

/** What the receiver stores per SET (receiver.ts). */
interface StoredSet {
  transmitter: string;
  via: 'push' | 'poll';
  set: VerifiedSet;
}

/** Turns a stored, verified SET into the identity changes it reports (map-set.ts). */
export const ssfInboxHandler: InboxHandler = {
  async toChanges(entry) {
    const stored = entry.payload as StoredSet;
    return setToChanges(stored.set, { tenant: entry.tenant, transmitter: stored.transmitter, via: stored.via, receivedAt: entry.receivedAt });
  },
};
