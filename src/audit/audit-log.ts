import { systemClock } from '../core/clock.js';
import { createHash } from 'node:crypto';
import { uuidv7 } from '../core/ids.js';
import type { AuditRow, StoreOps } from '../store/store.js';
import { canonicalJson } from './canonical-json.js';

/** Who caused an audited event. */
export interface AuditActor {
  /** api_key: a machine client; cli: an operator at a shell; user: a person signed in; system: Warden itself; idp: the identity provider. */
  type: 'api_key' | 'cli' | 'user' | 'system' | 'idp';
  id: string;
  name?: string;
}

/** What an audit record says happened. */
export interface AuditEvent {
  /** Dotted event type, e.g. `decision.recorded`, `policy.loaded`, `apikey.created`. */
  type: string;
  actor: AuditActor;
  /** Ids of what the event is about (change, decision, request, key…). */
  subject: Record<string, string>;
  data: Record<string, unknown>;
  /** Event time; default now. */
  at?: Date;
}

/** The hashed content of one record. `record` in the store is its canonical JSON. */
export interface AuditRecord {
  v: 1;
  tenant: string;
  seq: number;
  id: string;
  at: string;
  type: string;
  actor: AuditActor;
  subject: Record<string, string>;
  data: Record<string, unknown>;
  prevHash: string;
}

/** SHA-256 (hex) of a record's canonical JSON. */
export function hashRecordText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Appends an event to the tenant's hash chain: the record carries the hash of
 * the previous one, and its own hash is SHA-256 over its canonical JSON. Call
 * it inside the transaction that makes the change it records, so the record
 * and the change commit together.
 *
 * @example
 *   await store.transaction(async (tx) => {
 *     await tx.putDecision(decision);
 *     await appendAudit(tx, 'acme', { type: 'decision.recorded', actor, subject: { decisionId }, data: {} });
 *   });
 */
export function appendAudit(store: Pick<StoreOps, 'appendAudit'>, tenant: string, event: AuditEvent): Promise<AuditRow> {
  const at = (event.at ?? systemClock()).toISOString();
  const id = uuidv7();
  return store.appendAudit(tenant, (head) => {
    const record: AuditRecord = {
      v: 1,
      tenant,
      seq: head.seq + 1,
      id,
      at,
      type: event.type,
      actor: event.actor,
      subject: event.subject,
      data: event.data,
      prevHash: head.hash,
    };
    const text = canonicalJson(record);
    return { seq: record.seq, id, at, type: event.type, record: text, prevHash: head.hash, hash: hashRecordText(text) };
  });
}
