import type { ConsoleLoginRow, ConsoleSessionRow, ConsoleStore } from '../capabilities/console-store.js';
import { SqlAggregate, type Row } from './sql-aggregate.js';

const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const json = (v: unknown): Record<string, unknown> => (typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : (v as Record<string, unknown>));

function sessionRow(r: Row): ConsoleSessionRow {
  return {
    idHash: String(r.id_hash),
    tenant: String(r.tenant),
    subject: String(r.subject),
    person: json(r.person),
    csrfToken: String(r.csrf_token),
    createdAt: date(r.created_at),
    lastSeenAt: date(r.last_seen_at),
    expiresAt: date(r.expires_at),
    ...(r.ended_at != null ? { endedAt: date(r.ended_at) } : {}),
  };
}

function loginRow(r: Row): ConsoleLoginRow {
  return {
    stateHash: String(r.state_hash),
    browserHash: String(r.browser_hash),
    tenant: String(r.tenant),
    purpose: r.purpose as ConsoleLoginRow['purpose'],
    nonce: String(r.nonce),
    codeVerifier: String(r.code_verifier),
    returnTo: String(r.return_to),
    ...(r.session_hash != null ? { sessionHash: String(r.session_hash) } : {}),
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    ...(r.used_at != null ? { usedAt: date(r.used_at) } : {}),
  };
}

/** The console's sessions and sign-ins in SQL (PostgreSQL dialect; PGlite and PostgreSQL run it). */
export class SqlConsoleStore extends SqlAggregate implements ConsoleStore {
  async putConsoleLogin(row: ConsoleLoginRow): Promise<void> {
    await this.db.query(
      `INSERT INTO console_logins (state_hash, browser_hash, tenant, purpose, nonce, code_verifier, return_to, session_hash, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        row.stateHash,
        row.browserHash,
        row.tenant,
        row.purpose,
        row.nonce,
        row.codeVerifier,
        row.returnTo,
        row.sessionHash ?? null,
        row.createdAt.toISOString(),
        row.expiresAt.toISOString(),
      ],
    );
  }

  async takeConsoleLogin(stateHash: string, now: Date): Promise<{ row: ConsoleLoginRow; firstUse: boolean } | undefined> {
    // One statement: of two callbacks racing with the same state, one gets the row.
    const [taken] = await this.db.query<Row>('UPDATE console_logins SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL RETURNING *', [
      stateHash,
      now.toISOString(),
    ]);
    if (taken) return { row: loginRow(taken), firstUse: true };
    const [used] = await this.db.query<Row>('SELECT * FROM console_logins WHERE state_hash = $1', [stateHash]);
    return used ? { row: loginRow(used), firstUse: false } : undefined;
  }

  async putConsoleSession(row: ConsoleSessionRow): Promise<void> {
    await this.db.query(
      `INSERT INTO console_sessions (id_hash, tenant, subject, person, csrf_token, created_at, last_seen_at, expires_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)`,
      [
        row.idHash,
        row.tenant,
        row.subject,
        JSON.stringify(row.person),
        row.csrfToken,
        row.createdAt.toISOString(),
        row.lastSeenAt.toISOString(),
        row.expiresAt.toISOString(),
      ],
    );
  }

  async getConsoleSession(idHash: string): Promise<ConsoleSessionRow | undefined> {
    const [row] = await this.db.query<Row>('SELECT * FROM console_sessions WHERE id_hash = $1', [idHash]);
    return row ? sessionRow(row) : undefined;
  }

  async touchConsoleSession(idHash: string, at: Date): Promise<void> {
    await this.db.query('UPDATE console_sessions SET last_seen_at = GREATEST(last_seen_at, $2::timestamptz) WHERE id_hash = $1', [idHash, at.toISOString()]);
  }

  async updateConsoleSessionPerson(idHash: string, person: Record<string, unknown>, at: Date): Promise<void> {
    await this.db.query(
      'UPDATE console_sessions SET person = $2::jsonb, last_seen_at = GREATEST(last_seen_at, $3::timestamptz) WHERE id_hash = $1 AND ended_at IS NULL',
      [idHash, JSON.stringify(person), at.toISOString()],
    );
  }

  async endConsoleSession(idHash: string, at: Date): Promise<boolean> {
    const rows = await this.db.query('UPDATE console_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL RETURNING id_hash', [
      idHash,
      at.toISOString(),
    ]);
    return rows.length > 0;
  }

  async pruneConsole(before: Date): Promise<number> {
    const sessions = await this.db.query('DELETE FROM console_sessions WHERE expires_at < $1 OR ended_at < $1 RETURNING id_hash', [before.toISOString()]);
    const logins = await this.db.query('DELETE FROM console_logins WHERE expires_at < $1 RETURNING state_hash', [before.toISOString()]);
    return sessions.length + logins.length;
  }
}
