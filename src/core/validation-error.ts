import { z } from 'zod';
import { WardenError } from './errors.js';

/** A zod error as ERR_VALIDATION with the issues as data. */
export function validationError(error: z.ZodError, what: string): WardenError {
  const issues = error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message, code: i.code }));
  return new WardenError('ERR_VALIDATION', `${what} is invalid: ${z.prettifyError(error).replace(/\n/g, '; ')}`, { details: issues });
}
