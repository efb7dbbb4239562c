import type { RetentionCutoffs, RetentionPruned, RetentionStore } from '../capabilities/retention-store.js';
import { SqlAggregate } from './sql-aggregate.js';

/** Pruning of what is kept only for a while (the inbox, own changes, outbound events, "not me" links, SSF SETs and received jtis), in SQL. */
export class SqlRetentionStore extends SqlAggregate implements RetentionStore {
  async pruneRetained(cutoffs: RetentionCutoffs, limit: number): Promise<RetentionPruned> {
    const inbox = await this.db.query(
      `DELETE FROM inbox WHERE id IN (
         SELECT id FROM inbox WHERE state IN ('processed', 'ignored') AND processed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      [cutoffs.inbox.toISOString(), limit],
    );
    const own = await this.db.query(
      `DELETE FROM own_changes WHERE (tenant, connector, ref) IN (
         SELECT tenant, connector, ref FROM own_changes WHERE at < $1 AND ref NOT LIKE 'broker:%' LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      [cutoffs.ownChanges.toISOString(), limit],
    );
    const events = await this.db.transaction(async (db) => {
      const ids = await db.query<{ id: string }>(
        `SELECT e.id FROM notify_events e WHERE e.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM notify_deliveries d WHERE d.event_id = e.id AND d.state IN ('queued', 'running'))
         LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [cutoffs.events.toISOString(), limit],
      );
      if (ids.length === 0) return 0;
      const list = ids.map((r) => String(r.id));
      await db.query('DELETE FROM notify_deliveries WHERE event_id = ANY($1::uuid[])', [list]);
      await db.query('DELETE FROM notify_events WHERE id = ANY($1::uuid[])', [list]);
      return list.length;
    });
    const notMeLinks = await this.db.query(
      `DELETE FROM not_me_links WHERE (tenant, id) IN (
         SELECT tenant, id FROM not_me_links WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      [cutoffs.notMeLinks.toISOString(), limit],
    );
    const ssfSets = await this.db.query(
      `DELETE FROM ssf_sets WHERE id IN (
         SELECT id FROM ssf_sets WHERE state = 'delivered' AND delivered_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      [cutoffs.ssfSets.toISOString(), limit],
    );
    const ssfReceived = await this.db.query(
      `DELETE FROM ssf_received WHERE (tenant, issuer, jti) IN (
         SELECT tenant, issuer, jti FROM ssf_received WHERE received_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      [cutoffs.ssfReceived.toISOString(), limit],
    );
    return { inbox: inbox.length, ownChanges: own.length, events, notMeLinks: notMeLinks.length, ssfSets: ssfSets.length, ssfReceived: ssfReceived.length };
  }
}
