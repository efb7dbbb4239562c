/**
 * What the web console (src/console) keeps in the store: people's sessions
 * and the sign-ins in progress. Ids and OIDC `state` values are stored as
 * SHA-256 hashes only (the caller hashes them).
 */

/** A person's console session. */
export interface ConsoleSessionRow {
  /** SHA-256 (hex) of the session id in the cookie. */
  idHash: string;
  tenant: string;
  /** The IdP subject of the person. */
  subject: string;
  /** The signed-in person as the console uses them (names, groups, roles, auth time, amr), JSON-safe. */
  person: Record<string, unknown>;
  /** The synchronizer token every POST of this session must carry. */
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  /** The absolute end: no activity extends it. */
  expiresAt: Date;
  /** When the person signed out. */
  endedAt?: Date;
}

/** An OIDC sign-in or step-up in progress. */
export interface ConsoleLoginRow {
  /** SHA-256 (hex) of the OIDC `state`. */
  stateHash: string;
  /** SHA-256 (hex) of the pre-login cookie of the browser that started it. */
  browserHash: string;
  tenant: string;
  purpose: 'sign_in' | 'step_up';
  nonce: string;
  codeVerifier: string;
  /** Console path to go back to afterwards. */
  returnTo: string;
  /** Step-up: the session (hash) it renews. */
  sessionHash?: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt?: Date;
}

/** The console's store operations (implemented once in SQL: src/store/sql-console-store.ts). */
export interface ConsoleStore {
  putConsoleLogin(row: ConsoleLoginRow): Promise<void>;
  /**
   * Marks the sign-in with this state hash used, once: the first caller gets
   * `{ row, firstUse: true }`; a replay gets the row with `firstUse: false`;
   * an unknown state gets undefined.
   */
  takeConsoleLogin(stateHash: string, now: Date): Promise<{ row: ConsoleLoginRow; firstUse: boolean } | undefined>;
  putConsoleSession(row: ConsoleSessionRow): Promise<void>;
  getConsoleSession(idHash: string): Promise<ConsoleSessionRow | undefined>;
  /** Records activity (the idle timeout counts from it). */
  touchConsoleSession(idHash: string, at: Date): Promise<void>;
  /** Replaces the person after a step-up sign-in (new auth time and amr). */
  updateConsoleSessionPerson(idHash: string, person: Record<string, unknown>, at: Date): Promise<void>;
  /** Signs the session out; returns whether it was active. */
  endConsoleSession(idHash: string, at: Date): Promise<boolean>;
  /** Deletes sessions and sign-ins that ended or expired before `before`; returns how many. */
  pruneConsole(before: Date): Promise<number>;
}
