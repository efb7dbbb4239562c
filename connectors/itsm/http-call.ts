import { WardenError } from '../../src/core/errors.js';
/** A vendor call failed (`ERR_UPSTREAM`): the message says which and how, never with credentials. */
export class ItsmError extends WardenError {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super('ERR_UPSTREAM', message);
    this.name = 'ItsmError';
  }
}

/**
 * GET (or POST a form) with a timeout; JSON in, JSON out. Errors name the
 * vendor, the status and its own message (ServiceNow `error.message`, Jira
 * `errorMessages`), and carry `Retry-After` on 429.
 */
export async function callJson(
  vendor: string,
  url: string,
  init: { method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string; timeoutMs: number },
): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: { accept: 'application/json', ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    throw new ItsmError(e.name === 'TimeoutError' ? `${vendor} did not answer within ${init.timeoutMs} ms` : `${vendor} could not be reached: ${e.message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.status === 429) {
    const retry = Number(response.headers.get('retry-after'));
    throw new ItsmError(
      `${vendor} rate limit reached${Number.isFinite(retry) && retry > 0 ? `: retry after ${retry} s` : ''}`,
      429,
      Number.isFinite(retry) ? retry : undefined,
    );
  }
  return { status: response.status, body };
}

/** The vendor's own error text from an error body, if any. */
export function vendorMessage(body: unknown): string {
  const b = body as { error?: { message?: string; detail?: string }; errorMessages?: string[] } | undefined;
  if (b?.error?.message) return `${b.error.message}${b.error.detail ? ` (${b.error.detail})` : ''}`;
  if (b?.errorMessages?.length) return b.errorMessages.join('; ');
  return 'no detail';
}
