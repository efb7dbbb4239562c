import type { Decision } from '../../core/decision.js';
import type { IdentityChange } from '../../core/identity-change.js';
import type { DecidedChange, DecisionStore } from '../capabilities/decision-store.js';
import { SqlAggregate, json, parsed } from './sql-aggregate.js';

/** Identity changes and the decisions made on them, in SQL. */
export class SqlDecisionStore extends SqlAggregate implements DecisionStore {
  async putChange(c: IdentityChange): Promise<{ inserted: boolean; id: string }> {
    return this.db.transaction(async (tx) => {
      if (c.source.eventIds.length > 0) {
        // Serialize writers of the same vendor event (hook and poller racing) until commit.
        for (const eventId of [...c.source.eventIds].sort())
          await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${c.tenant}|${c.source.idp}|${eventId}`]);
        const known = await tx.query<{ change_id: string }>(
          'SELECT change_id FROM change_events WHERE tenant = $1 AND idp = $2 AND event_id IN (SELECT jsonb_array_elements_text($3::jsonb)) LIMIT 1',
          [c.tenant, c.source.idp, json(c.source.eventIds)],
        );
        if (known[0]) return { inserted: false, id: String(known[0].change_id) };
      }
      const inserted = await tx.query(
        `INSERT INTO changes (id, tenant, kind, channel, target_id, actor_id, source_idp, source_via, occurred_at, observed_at, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [c.id, c.tenant, c.kind, c.channel, c.target.id, c.actor.id, c.source.idp, c.source.via, c.occurredAt, c.observedAt, json(c)],
      );
      if (!inserted[0]) return { inserted: false, id: c.id };
      for (const eventId of new Set(c.source.eventIds))
        await tx.query('INSERT INTO change_events (tenant, idp, event_id, change_id) VALUES ($1, $2, $3, $4)', [c.tenant, c.source.idp, eventId, c.id]);
      return { inserted: true, id: c.id };
    });
  }

  async getChange(tenant: string, id: string): Promise<IdentityChange | undefined> {
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM changes WHERE tenant = $1 AND id = $2', [tenant, id]);
    return rows[0] ? parsed<IdentityChange>(rows[0].body) : undefined;
  }

  async listChangesOfTarget(tenant: string, of: { ids: readonly string[]; logins: readonly string[] }, since: Date, limit: number): Promise<IdentityChange[]> {
    // Two index scans (changes_target, changes_target_login), merged.
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT body FROM (
         SELECT id, occurred_at, body FROM changes WHERE tenant = $1 AND target_id IN (SELECT jsonb_array_elements_text($2::jsonb)) AND occurred_at >= $4
         UNION
         SELECT id, occurred_at, body FROM changes WHERE tenant = $1 AND lower(body #>> '{target,login}') IN (SELECT jsonb_array_elements_text($3::jsonb)) AND occurred_at >= $4
       ) c ORDER BY occurred_at DESC, id DESC LIMIT $5`,
      [tenant, json([...new Set(of.ids)]), json([...new Set(of.logins.map((l) => l.toLowerCase()))]), since.toISOString(), limit],
    );
    return rows.map((r) => parsed<IdentityChange>(r.body));
  }

  async putDecision(d: Decision): Promise<void> {
    await this.db.query(
      `INSERT INTO decisions (id, tenant, change_id, outcome, mode, tier, policy_version, decided_at, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
      [d.id, d.tenant, d.changeId, d.outcome, d.mode, d.tier, d.policyVersion, d.decidedAt, json(d)],
    );
  }

  async getDecision(tenant: string, id: string): Promise<Decision | undefined> {
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM decisions WHERE tenant = $1 AND id = $2', [tenant, id]);
    return rows[0] ? parsed<Decision>(rows[0].body) : undefined;
  }

  async getDecisionForChange(tenant: string, changeId: string): Promise<Decision | undefined> {
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM decisions WHERE tenant = $1 AND change_id = $2', [tenant, changeId]);
    return rows[0] ? parsed<Decision>(rows[0].body) : undefined;
  }

  async listDecidedChanges(tenant: string, from: Date, to: Date, limit: number): Promise<DecidedChange[]> {
    const rows = await this.db.query<{ decision: unknown; change: unknown }>(
      `SELECT d.body AS decision, c.body AS change FROM decisions d JOIN changes c ON c.id = d.change_id
       WHERE d.tenant = $1 AND d.decided_at >= $2 AND d.decided_at < $3 ORDER BY d.decided_at, d.id LIMIT $4`,
      [tenant, from.toISOString(), to.toISOString(), limit],
    );
    return rows.map((r) => ({ decision: parsed<Decision>(r.decision), change: parsed<IdentityChange>(r.change) }));
  }
}
