import { systemClock } from '../core/clock.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendAudit, type AuditActor } from '../audit/audit-log.js';
import { WardenError } from '../core/errors.js';
import type { ApiKeyRow, Store } from '../store/store.js';

/** What machine clients may do. */
export const API_SCOPES = [
  'decisions:write',
  // Change requests (src/requests): file, read, execute through the broker, declare break-glass.
  'requests:write',
  'requests:read',
  'requests:execute',
  'requests:break_glass',
  // Detection (src/detect): read alerts.
  'alerts:read',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** `wdn_<12 hex id>_<43 base64url secret>` */
const KEY_PATTERN = /^wdn_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A freshly minted key: the only time the secret exists in the clear. */
export interface MintedKey {
  key: string;
  row: ApiKeyRow;
}

/**
 * Mints an API key for one tenant, stores only the SHA-256 of its secret
 * (32 random bytes, so a fast hash is enough), and audits the creation.
 */
export async function createApiKey(
  store: Store,
  input: { tenant: string; name: string; scopes?: ApiScope[]; actor: AuditActor; now?: Date },
): Promise<MintedKey> {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const row: ApiKeyRow = {
    id,
    tenant: input.tenant,
    name: input.name,
    secretHash: hashSecret(secret),
    scopes: [...(input.scopes ?? ['decisions:write'])],
    createdAt: (input.now ?? systemClock()).toISOString(),
  };
  await store.transaction(async (tx) => {
    await tx.putApiKey(row);
    await appendAudit(tx, input.tenant, {
      type: 'apikey.created',
      actor: input.actor,
      subject: { apiKeyId: id },
      data: { name: row.name, scopes: row.scopes },
      ...(input.now ? { at: input.now } : {}),
    });
  });
  return { key: `wdn_${id}_${secret}`, row };
}

/** Revokes a key and audits it; false when there was no such active key. */
export async function revokeApiKey(store: Store, input: { id: string; actor: AuditActor; now?: Date }): Promise<boolean> {
  const now = input.now ?? systemClock();
  return store.transaction(async (tx) => {
    const key = await tx.getApiKey(input.id);
    if (!key || !(await tx.revokeApiKey(input.id, now))) return false;
    await appendAudit(tx, key.tenant, { type: 'apikey.revoked', actor: input.actor, subject: { apiKeyId: input.id }, data: { name: key.name }, at: now });
    return true;
  });
}

/** The authenticated machine client of a request. */
export interface ApiPrincipal {
  keyId: string;
  tenant: string;
  name: string;
  scopes: string[];
}

const DUMMY_HASH = Buffer.alloc(32);

/**
 * Verifies `Authorization: Bearer wdn_…`. The secret's hash is compared in
 * constant time; an unknown key id costs the same comparison. Verified keys
 * are cached for `cacheMs` (revocation takes effect within that time on other
 * replicas; `forget` drops a key at once in this process).
 */
export class ApiKeyVerifier {
  readonly #cache = new Map<string, { row: ApiKeyRow; until: number }>();

  constructor(
    private readonly store: Pick<Store, 'getApiKey'>,
    private readonly cacheMs = 5_000,
    private readonly clock: () => number = () => systemClock().getTime(),
  ) {}

  /** @throws WardenError `ERR_AUTH_REQUIRED` (no credentials) or `ERR_AUTH_INVALID` (bad ones) */
  async verify(authorization: string | undefined): Promise<ApiPrincipal> {
    if (!authorization) throw new WardenError('ERR_AUTH_REQUIRED', 'an API key is required: Authorization: Bearer wdn_…');
    const [scheme, token, extra] = authorization.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token || extra !== undefined)
      throw new WardenError('ERR_AUTH_INVALID', 'the Authorization header must be "Bearer <API key>"');
    const match = KEY_PATTERN.exec(token);
    if (!match) throw new WardenError('ERR_AUTH_INVALID', 'malformed API key');
    const [, id, secret] = match as unknown as [string, string, string];
    const now = this.clock();
    let row = this.#cache.get(id);
    if (!row || row.until < now) {
      const fresh = await this.store.getApiKey(id);
      row = fresh ? { row: fresh, until: now + this.cacheMs } : undefined;
      if (row) this.#cache.set(id, row);
      else this.#cache.delete(id);
    }
    const presented = createHash('sha256').update(secret).digest();
    const stored = row ? Buffer.from(row.row.secretHash, 'hex') : DUMMY_HASH;
    const equal = stored.length === presented.length && timingSafeEqual(stored, presented);
    if (!row || !equal) throw new WardenError('ERR_AUTH_INVALID', 'invalid API key');
    if (row.row.revokedAt) throw new WardenError('ERR_AUTH_INVALID', 'this API key was revoked');
    return { keyId: id, tenant: row.row.tenant, name: row.row.name, scopes: row.row.scopes };
  }

  /** Drops a key from the cache (after revoking it in this process). */
  forget(id: string): void {
    this.#cache.delete(id);
  }
}

/**
 * Checks that a verified key may act for `tenant` with `scope`.
 * @throws WardenError `ERR_FORBIDDEN`
 */
export function authorize(principal: ApiPrincipal | undefined, tenant: string, scope: ApiScope): void {
  if (!principal) throw new WardenError('ERR_FORBIDDEN', 'this endpoint is for machine clients: use an API key');
  if (principal.tenant !== tenant) throw new WardenError('ERR_FORBIDDEN', `this API key belongs to tenant "${principal.tenant}", not "${tenant}"`);
  if (!principal.scopes.includes(scope)) throw new WardenError('ERR_FORBIDDEN', `this API key lacks the scope ${scope}`);
}
