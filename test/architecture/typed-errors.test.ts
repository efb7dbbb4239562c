import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActionError, ProofingRefused } from '../../src/connector/index.js';
import { isWardenError, WARDEN_ERROR_CODES, WardenError } from '../../src/core/errors.js';
import { packageRoot } from '../../src/package-root.js';
import { problemResponse, STATUS, TITLES } from '../../src/server/problem.js';
import { ItsmError } from '../../connectors/itsm/http-call.js';
import { GraphCallError } from '../../connectors/entra/graph-session.js';
import { SubscriptionBusyError } from '../../connectors/entra/subscription-manager.js';

/**
 * Every error Warden throws is a WardenError with a stable code (or a subclass
 * with one), and every code has its problem response: clients switch on
 * `code`, and no error reaches them as an anonymous 500.
 */

const ROOT = packageRoot();

/** Non-test TypeScript under `dir`, repository-relative. */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .map((f) => `${dir}/${f.split(path.sep).join('/')}`)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !f.split('/').includes('test'));
}

/** Lines of `text` that raise a plain error: `new Error(`, `new TypeError(`, `Error(` thrown without `new`, … */
function plainErrors(file: string, text: string): string[] {
  return text
    .split('\n')
    .map((line, i) => [line, i + 1] as const)
    .filter(([line]) => /\bnew (?:Type|Range|Syntax|Reference)?Error\(|\bthrow (?:Type|Range)?Error\(/.test(line))
    .map(([line, n]) => `${file}:${n}: ${line.trim()}`);
}

/** Classes that extend `Error` directly instead of `WardenError`. */
function untypedErrorClasses(file: string, text: string): string[] {
  return [...text.matchAll(/class (\w+) extends (?:Type|Range)?Error\b/g)]
    .filter((m) => m[1] !== 'WardenError')
    .map((m) => `${file}: class ${m[1]} extends Error`);
}

describe('typed errors', () => {
  it('maps every error code to an HTTP status with a title, and nothing else', () => {
    expect(Object.keys(STATUS).sort()).toEqual([...WARDEN_ERROR_CODES].sort());
    for (const code of WARDEN_ERROR_CODES) {
      const { status, body } = problemResponse(new WardenError(code, 'something happened'));
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
      expect(TITLES[status], `${code} → ${status} has no title`).toBeDefined();
      expect(body).toMatchObject({ code, status, type: `urn:warden:error:${code}` });
    }
  });

  it('gives connector errors their codes', () => {
    const cases: Array<[WardenError, string]> = [
      [new ActionError('Okta answered 500'), 'ERR_UPSTREAM'],
      [new ActionError('gone', { permanent: true }), 'ERR_UPSTREAM'],
      [new ProofingRefused('factor too new'), 'ERR_EVIDENCE_REJECTED'],
      [new ItsmError('ServiceNow answered 503', 503), 'ERR_UPSTREAM'],
      [new GraphCallError('getUser', 429, 'TooManyRequests', 'slow down', 1000), 'ERR_UPSTREAM'],
      [new SubscriptionBusyError('acme'), 'ERR_BUSY'],
    ];
    for (const [err, code] of cases) {
      expect(isWardenError(err, code as WardenError['code']), `${err.name}: ${err.message}`).toBe(true);
      expect(problemResponse(err).status).toBe(STATUS[err.code]);
    }
    // Subclasses keep their names (logs and recorded failures show them) and their own fields.
    expect(new ActionError('x', { retryAfterMs: 5 })).toMatchObject({ name: 'ActionError', retryAfterMs: 5, permanent: false });
    expect(new ProofingRefused('x').name).toBe('ProofingRefused');
    expect(new GraphCallError('getUser', 403, 'Authorization_RequestDenied', 'no', undefined)).toMatchObject({
      graphCode: 'Authorization_RequestDenied',
      status: 403,
      retryable: false,
    });
  });

  it('finds plain errors and untyped error classes (the check itself works)', () => {
    const text =
      "throw new Error('x');\nconst e = new TypeError('y');\nthrow Error('z');\nthrow new WardenError('ERR_INTERNAL', 'fine');\nclass Bad extends Error {}\nclass Good extends WardenError {}\n";
    expect(plainErrors('f.ts', text)).toEqual(["f.ts:1: throw new Error('x');", "f.ts:2: const e = new TypeError('y');", "f.ts:3: throw Error('z');"]);
    expect(untypedErrorClasses('f.ts', text)).toEqual(['f.ts: class Bad extends Error']);
  });

  it('leaves no plain Error in src/ or connectors/ (simulators included)', () => {
    const files = [...sources('src'), ...sources('connectors')];
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap((f) => plainErrors(f, readFileSync(path.join(ROOT, f), 'utf8')))).toEqual([]);
  });

  it('has every error class of src/ and connectors/ extend WardenError', () => {
    // The simulators' SimError is the vendor's error answer (Graph's status and code), turned into an HTTP
    // response inside the simulator and never thrown into Warden: it stays the vendor's shape.
    const files = [...sources('src'), ...sources('connectors')].filter((f) => !f.includes('/simulator/'));
    expect(files.flatMap((f) => untypedErrorClasses(f, readFileSync(path.join(ROOT, f), 'utf8')))).toEqual([]);
  });
});
