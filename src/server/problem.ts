import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { isWardenError, WardenError, type WardenErrorCode } from '../core/errors.js';
import type { Logger } from '../runtime/logger.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, tooDeep } from '../connector/raw-http.js';

/** The one place error codes become HTTP statuses. */
export const STATUS: Record<WardenErrorCode, number> = {
  ERR_VALIDATION: 400,
  ERR_BODY_MALFORMED: 400,
  ERR_POLICY_INVALID: 400,
  ERR_RULES_INVALID: 400,
  ERR_CONFIG_INVALID: 500,
  ERR_AUTH_REQUIRED: 401,
  ERR_AUTH_INVALID: 401,
  ERR_FORBIDDEN: 403,
  ERR_TENANT_UNKNOWN: 404,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_BODY_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_AUDIT_BROKEN: 500,
  ERR_STORE: 503,
  ERR_STORE_LOCKED: 503,
  ERR_MIGRATION: 503,
  ERR_INTERNAL: 500,
  ERR_ILLEGAL_TRANSITION: 409,
  ERR_SOD_VIOLATION: 403,
  ERR_IDENTITY_UNRESOLVED: 403,
  ERR_DUPLICATE_APPROVAL: 409,
  ERR_STEP_UP_REQUIRED: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_IDEMPOTENCY_MISMATCH: 422,
  ERR_EVIDENCE_REJECTED: 422,
  ERR_POLICY_FORBIDS: 422,
  ERR_UPSTREAM: 502,
  ERR_SESSION: 401,
  ERR_CSRF: 403,
  ERR_SIGN_IN: 400,
  ERR_NOTIFY_DELIVERY: 502,
  ERR_SIGNATURE_INVALID: 401,
  ERR_LINK_INVALID: 400,
  ERR_LINK_EXPIRED: 410,
  ERR_LINK_USED: 409,
  ERR_LINK_WRONG_PERSON: 403,
  ERR_RATE_LIMITED: 429,
  ERR_BUSY: 503,
  ERR_DEV_INSTALL_REQUIRED: 500,
};

/** A validation issue as the API reports it. */
export const ProblemIssue = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string(), code: z.string() });

/** Error body (RFC 9457 problem details, with Warden's stable `code`). */
export const Problem = z
  .object({
    type: z.string().describe('urn:warden:error:<code>'),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('Stable error code, e.g. ERR_VALIDATION'),
    detail: z.string(),
    issues: z.array(ProblemIssue).optional().describe('Validation issues (zod), for ERR_VALIDATION'),
    stepUp: z
      .object({
        maxAgeSeconds: z.number().int().describe('Sign in again so that your authentication is at most this old'),
        amr: z.array(z.string()).describe('With one of these authentication methods (multi-factor)'),
      })
      .optional()
      .describe('For ERR_STEP_UP_REQUIRED: what a fresh sign-in must satisfy (RFC 9470)'),
  })
  .describe('Problem details (RFC 9457)');
export type Problem = z.infer<typeof Problem>;

export const TITLES: Partial<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusOf(code: WardenErrorCode): number {
  return STATUS[code];
}

/** The status, headers and body of the problem response for an error. */
export function problemResponse(err: WardenError): { status: number; headers: Record<string, string>; body: Problem } {
  const status = STATUS[err.code];
  const body: Problem = {
    type: `urn:warden:error:${err.code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code: err.code,
    // Server-side failures say nothing of their internals.
    detail: status >= 500 && err.code !== 'ERR_STORE' ? 'internal error' : err.message,
  };
  if (err.code === 'ERR_VALIDATION' && Array.isArray(err.details)) body.issues = err.details as Problem['issues'];
  const headers: Record<string, string> = {};
  const stepUp = err.code === 'ERR_STEP_UP_REQUIRED' ? (err.details as { stepUp?: Problem['stepUp'] } | undefined)?.stepUp : undefined;
  if (stepUp) body.stepUp = stepUp;
  if (stepUp)
    // RFC 9470: the client signs the user in again (max_age) and retries.
    headers['WWW-Authenticate'] =
      `Bearer realm="warden", error="insufficient_user_authentication", error_description="${err.message.replace(/["\\]/g, '')}", max_age=${stepUp.maxAgeSeconds}`;
  else if (err.code === 'ERR_TOKEN_EXPIRED' || (err.code === 'ERR_AUTH_INVALID' && (err.details as { token?: boolean } | undefined)?.token))
    headers['WWW-Authenticate'] = `Bearer realm="warden", error="invalid_token", error_description="${err.message.replace(/["\\]/g, '')}"`;
  else if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="warden"';
  return { status, headers, body };
}

/** Writes a problem response. */
export function sendProblem(res: Response, err: WardenError): void {
  const { status, headers, body } = problemResponse(err);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(status).type('application/problem+json').send(JSON.stringify(body));
}

/** Refuses (400) a parsed JSON body nested deeper than `MAX_JSON_DEPTH`; after express.json. */
export const limitJsonDepth: RequestHandler = (req, _res, next) => {
  if (nestsDeeperThan(req.body, MAX_JSON_DEPTH)) return next(tooDeep());
  next();
};

/** 404 for routes that do not exist. */
export const notFound: RequestHandler = (req, _res, next) => next(new WardenError('ERR_NOT_FOUND', `no route ${req.method} ${req.path}`));

/**
 * Last middleware: body-parser failures and WardenErrors become problem
 * responses; anything else is logged and answered 500 without detail.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large')
      return sendProblem(res, new WardenError('ERR_BODY_TOO_LARGE', `the request body exceeds ${(err as { limit?: number }).limit} bytes`));
    if (type === 'entity.parse.failed') return sendProblem(res, new WardenError('ERR_BODY_MALFORMED', 'the request body is not valid JSON'));
    if (type === 'encoding.unsupported' || type === 'charset.unsupported')
      return sendProblem(res, new WardenError('ERR_UNSUPPORTED_MEDIA_TYPE', (err as Error).message));
    if (type === 'request.aborted') return; // the client went away
    // The router could not decode a path parameter (bad percent-encoding): the client's path, not a fault of ours.
    if (err instanceof URIError) return sendProblem(res, new WardenError('ERR_VALIDATION', 'malformed path: bad percent-encoding'));
    // Other client errors of the body parser (e.g. a body that is not the gzip or deflate its Content-Encoding says).
    const status = (err as { status?: unknown; expose?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true)
      return sendProblem(
        res,
        new WardenError(
          status === 413 ? 'ERR_BODY_TOO_LARGE' : status === 415 ? 'ERR_UNSUPPORTED_MEDIA_TYPE' : 'ERR_BODY_MALFORMED',
          'the request body could not be read',
        ),
      );
    if (isWardenError(err)) {
      if (STATUS[err.code] >= 500) log.error({ err, path: req.path }, 'request failed');
      return sendProblem(res, err);
    }
    log.error({ err, path: req.path }, 'unexpected error');
    return sendProblem(res, new WardenError('ERR_INTERNAL', 'internal error'));
  };
}
