import type { IncomingMessage, ServerResponse } from 'node:http';
import { WardenError } from '../core/errors.js';

/**
 * Reading requests and writing responses on raw routes (src/connector/contract.ts,
 * `RawRoute`; the server answers their errors with src/server/raw-problem.ts): what express and its body parser do for the other routes,
 * with the same limits, error codes and response headers, and nothing more
 * (these are the receivers whose cost per request the IdP's ingest rate sees).
 */

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]*\+)?json\s*(?:;\s*charset=(?:"?utf-8"?)\s*)?$/i;

/**
 * Deepest nesting of arrays and objects accepted in a JSON body. Vendor
 * payloads nest a handful of levels; a body nested thousands deep would
 * overflow the stack of whatever walks it later (serializing it for the
 * store, hashing it for the audit log) and turn a client's error into a 500.
 */
export const MAX_JSON_DEPTH = 128;

/** True when `value` nests arrays and objects deeper than `max` (iterative: no stack to overflow). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** The error for a body nested deeper than `MAX_JSON_DEPTH`. */
export const tooDeep = () => new WardenError('ERR_BODY_MALFORMED', `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);

const tooLarge = (limit: number) => new WardenError('ERR_BODY_TOO_LARGE', `the request body exceeds ${limit} bytes`);

/** How a raw route's body is read. */
export interface ReadJsonBodyOptions {
  /**
   * Refuse (415) a body whose content type is not JSON in UTF-8. Off for
   * senders that label JSON loosely: the body must still parse, so anything
   * that is not JSON is a 400, never a silent 2xx.
   */
  requireJsonType?: boolean;
}

/**
 * The JSON body of a request: at most `limit` bytes (the declared length is
 * checked before reading, the received length while reading), UTF-8, parsed.
 *
 * @example const body = await readJsonBody(req, ctx.config.bodyBytes, { requireJsonType: true });
 * @throws WardenError `ERR_UNSUPPORTED_MEDIA_TYPE` (415, only with `requireJsonType`), `ERR_BODY_TOO_LARGE` (413), `ERR_BODY_MALFORMED` (400: not JSON, nested deeper than `MAX_JSON_DEPTH`, or the body could not be read)
 */
export function readJsonBody(req: IncomingMessage, limit: number, options: ReadJsonBodyOptions = {}): Promise<unknown> {
  if (options.requireJsonType && !JSON_TYPE.test(req.headers['content-type'] ?? ''))
    return Promise.reject(new WardenError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json (UTF-8)'));
  if (Number(req.headers['content-length']) > limit) {
    // Drained, not read: node:http reuses the connection once the body is consumed.
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (failed) return;
      let body: unknown;
      try {
        body = JSON.parse(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
      } catch {
        reject(new WardenError('ERR_BODY_MALFORMED', 'the request body is not valid JSON'));
        return;
      }
      if (nestsDeeperThan(body, MAX_JSON_DEPTH)) reject(tooDeep());
      else resolve(body);
    });
    // `on`, not `once`: a second error with no listener would be thrown.
    req.on('error', (err) => {
      // A client that went away mid-body is its own failure, not the server's: a 4xx, not logged as an error.
      if (!failed) reject(new WardenError('ERR_BODY_MALFORMED', 'the request body could not be read', { cause: err }));
      failed = true;
    });
  });
}

/** Answers `status` with `body` as JSON (`application/json; charset=utf-8`, as express's `res.json`). */
export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers `status` with an empty body. */
export function writeEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}
