import type { ServerResponse } from 'node:http';
import { isWardenError, WardenError } from '../core/errors.js';
import type { Logger } from '../runtime/logger.js';
import { problemResponse } from './problem.js';

/**
 * Answers an error as its problem response (RFC 9457,
 * `application/problem+json`), as the express error handler does: a
 * WardenError by its code, anything else as a 500 without detail (logged).
 * A response already started is cut off instead.
 */
export function writeRawProblem(res: ServerResponse, err: unknown, log: Logger, path: string): void {
  const known = isWardenError(err) ? err : new WardenError('ERR_INTERNAL', 'internal error');
  const { status, headers, body } = problemResponse(known);
  if (!isWardenError(err) || status >= 500) log.error({ err, path }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/problem+json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
