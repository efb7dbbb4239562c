import type { Review } from '../../core/change-request.js';

/** Post-hoc reviews of break-glass requests: part of the Store port (src/store/store.ts). */
export interface ReviewStore {
  putReview(review: Review): Promise<void>;
  updateReview(review: Review): Promise<void>;
  getReview(tenant: string, id: string): Promise<Review | undefined>;
  /** Reviews of a tenant (all tenants when undefined), by state and due before a time, soonest due first. */
  listReviews(tenant: string | undefined, filter: { state?: 'open' | 'done'; dueBefore?: Date }, limit: number): Promise<Review[]>;
}
