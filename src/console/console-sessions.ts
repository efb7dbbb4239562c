import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import type { ConsoleSessionRow, ConsoleStore } from '../store/store.js';
import type { ConsolePerson } from './console-person.js';

/** Timeouts of console sessions, in ms (`console` in warden.yaml). */
export interface ConsoleTimeouts {
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  signInTimeoutMs: number;
}

/** The defaults of `console` in warden.yaml. */
export const DEFAULT_CONSOLE_TIMEOUTS: ConsoleTimeouts = Object.freeze({
  sessionIdleMs: 30 * 60_000,
  sessionAbsoluteMs: 8 * 3_600_000,
  signInTimeoutMs: 10 * 60_000,
});

/** Why a session cookie does not sign anyone in. */
export type SessionProblem = 'missing' | 'unknown' | 'expired_idle' | 'expired_absolute' | 'signed_out';

/** An active session. */
export interface ActiveSession {
  idHash: string;
  tenant: string;
  person: ConsolePerson;
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
}

/** SHA-256 (hex) of a secret value: what the store keeps of session ids, states and browser cookies. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A fresh random token (256 bits, base64url). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two secrets in constant time (hashed first, so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

const MESSAGES: Record<SessionProblem, string> = {
  missing: 'you are not signed in',
  unknown: 'your session is not known here (it may have been removed): sign in again',
  expired_idle: 'your session ended after a period without activity: sign in again',
  expired_absolute: 'your session reached its maximum length: sign in again',
  signed_out: 'you signed out of this session: sign in again',
};

/**
 * Console sessions in the store: a new random id at every sign-in (no
 * fixation: an id from before sign-in is never promoted), only its hash
 * stored, an idle and an absolute timeout read on the one clock, sign-out,
 * and a synchronizer CSRF token per session.
 */
export class ConsoleSessions {
  constructor(
    private readonly store: ConsoleStore,
    private readonly clock: Clock,
    readonly timeouts: ConsoleTimeouts = DEFAULT_CONSOLE_TIMEOUTS,
  ) {}

  /** Starts a session for a person who just signed in; returns the id to put in the cookie (shown once, never stored). */
  async start(person: ConsolePerson): Promise<{ id: string; session: ActiveSession }> {
    const now = this.clock();
    const id = randomToken();
    const row: ConsoleSessionRow = {
      idHash: sha256(id),
      tenant: person.tenant,
      subject: person.subject,
      person: person as unknown as Record<string, unknown>,
      csrfToken: randomToken(),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.timeouts.sessionAbsoluteMs),
    };
    await this.store.putConsoleSession(row);
    return { id, session: { idHash: row.idHash, tenant: row.tenant, person, csrfToken: row.csrfToken, createdAt: now, expiresAt: row.expiresAt } };
  }

  /**
   * The active session of a cookie value, its activity recorded.
   * @throws WardenError `ERR_SESSION` with `details.reason` a {@link SessionProblem}
   */
  async resolve(id: string | undefined): Promise<ActiveSession> {
    if (!id) throw problem('missing');
    const row = await this.store.getConsoleSession(sha256(id));
    if (!row) throw problem('unknown');
    const now = this.clock();
    if (row.endedAt) throw problem('signed_out');
    if (now.getTime() >= row.expiresAt.getTime()) throw problem('expired_absolute');
    if (now.getTime() - row.lastSeenAt.getTime() >= this.timeouts.sessionIdleMs) throw problem('expired_idle');
    await this.store.touchConsoleSession(row.idHash, now);
    return {
      idHash: row.idHash,
      tenant: row.tenant,
      person: row.person as unknown as ConsolePerson,
      csrfToken: row.csrfToken,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
    };
  }

  /** Replaces the session's person after a step-up sign-in of the same person. */
  async renew(session: ActiveSession, person: ConsolePerson): Promise<void> {
    await this.store.updateConsoleSessionPerson(session.idHash, person as unknown as Record<string, unknown>, this.clock());
  }

  /** Signs out. */
  async end(idHash: string): Promise<boolean> {
    return this.store.endConsoleSession(idHash, this.clock());
  }
}

function problem(reason: SessionProblem): WardenError {
  return new WardenError('ERR_SESSION', MESSAGES[reason], { details: { reason } });
}

/**
 * Checks a state-changing request's CSRF token against the session's
 * (synchronizer token, compared in constant time).
 * @throws WardenError `ERR_CSRF` with `details.reason` `missing` or `wrong`
 */
export function checkCsrf(session: ActiveSession, token: unknown): void {
  if (typeof token !== 'string' || token === '')
    throw new WardenError('ERR_CSRF', 'the form carried no security token: reload the page and try again; nothing was changed', {
      details: { reason: 'missing' },
    });
  if (!sameSecret(token, session.csrfToken))
    throw new WardenError('ERR_CSRF', "the form's security token does not belong to your session: reload the page and try again; nothing was changed", {
      details: { reason: 'wrong' },
    });
}
