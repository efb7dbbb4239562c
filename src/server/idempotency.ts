import type { Clock } from '../core/clock.js';
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { canonicalJson } from '../audit/canonical-json.js';
import { WardenError } from '../core/errors.js';
import type { Store, StoreTx } from '../store/store.js';
import type { Caller } from '../requests/caller.js';

/** Thrown inside an operation's transaction when a concurrent retry stored the key first: the transaction rolls back. */
/** Another request holds this idempotency key (caught here: the earlier answer is replayed). */
class KeyTaken extends WardenError {
  constructor() {
    super('ERR_INTERNAL', 'the idempotency key is taken');
  }
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Whose retries a key de-duplicates: the API key, or the person. */
function principalOf(caller: Caller): string {
  return caller.type === 'user' ? `user:${caller.subject}` : caller.type === 'api_key' ? `key:${caller.id}` : `${caller.type}:${caller.id}`;
}

/**
 * `Idempotency-Key` for POSTs (Okta Workflows, ServiceNow and Logic Apps all
 * retry): the first successful response is stored in the same transaction as
 * the operation's effects, and a retry with the same key gets it back
 * (header `Idempotent-Replayed: true`) without anything new being created.
 * A key reused for a different call (method, path or body) is refused (422).
 * Keys are per tenant and per caller. Without the header, the call runs as is.
 *
 * @param run the operation; it calls `onCommit` inside its final transaction
 */
export async function idempotent(
  req: Request,
  res: Response,
  store: Store,
  clock: Clock,
  tenant: string,
  caller: Caller,
  run: (onCommit?: (tx: StoreTx, status: number, body: unknown) => Promise<void>) => Promise<{ status: number; body: unknown }>,
): Promise<void> {
  const key = req.get('idempotency-key');
  if (key === undefined) {
    const result = await run();
    res.status(result.status).json(result.body);
    return;
  }
  if (!KEY_PATTERN.test(key)) throw new WardenError('ERR_VALIDATION', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  const principal = principalOf(caller);
  const fingerprint = createHash('sha256')
    .update(`${req.method} ${req.baseUrl}${req.path}\n${canonicalJson(req.body ?? null)}`)
    .digest('hex');
  const replay = async (): Promise<boolean> => {
    const stored = await store.getIdempotency(tenant, principal, key);
    if (!stored) return false;
    if (stored.fingerprint !== fingerprint)
      throw new WardenError('ERR_IDEMPOTENCY_MISMATCH', `Idempotency-Key "${key}" was used for another request; use a new key for a new request`);
    res.setHeader('Idempotent-Replayed', 'true');
    res.status(stored.status).json(stored.response);
    return true;
  };
  if (await replay()) return;
  try {
    const result = await run(async (tx, status, body) => {
      const fresh = await tx.putIdempotency({ tenant, principal, key, fingerprint, status, response: body, createdAt: clock().toISOString() });
      if (!fresh) throw new KeyTaken();
    });
    res.status(result.status).json(result.body);
  } catch (err) {
    if (err instanceof KeyTaken && (await replay())) return;
    throw err;
  }
}
