import type { Decision } from '../../core/decision.js';

/** Who released a held decision, when and why. */
export interface HoldRelease {
  tenant: string;
  decisionId: string;
  releasedAt: string;
  actor: { type: string; id: string; name?: string };
  reason: string;
}

/** Held decisions and their releases: part of the Store port (src/store/store.ts). */
export interface HoldStore {
  /** Records the release of a held decision; false when it was released before. */
  putRelease(release: HoldRelease): Promise<boolean>;
  getRelease(tenant: string, decisionId: string): Promise<HoldRelease | undefined>;
  /** Decisions that held (or denied) a change and are not released, newest first. */
  listHolds(tenant: string, limit: number): Promise<Decision[]>;
}
