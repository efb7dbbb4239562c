import { describe, expect, it } from 'vitest';
import { compileNative } from './analyze-expression.js';
import { evaluationEnvironment } from './cel-environment.js';
import { runCelDifferential } from '../../../test/helpers/cel-differential.js';

describe('native evaluation of policy expressions', () => {
  it('agrees with the cel-js interpreter whenever it answers (random expressions, malformed inputs)', () => {
    for (const seed of [1, 2]) {
      const r = runCelDifferential(seed, 500);
      expect(r.examples).toEqual([]);
      expect(r.mismatches).toBe(0);
      // The check has teeth only if the native form answers most of the time.
      expect(r.decided).toBeGreaterThan(r.cases * 0.3);
    }
  });

  it('abstains where only CEL can tell: a missing field, a wrong type', () => {
    const native = compileNative(evaluationEnvironment().parse('context.riskScore > 50').ast)!;
    expect(native({ context: { riskScore: 70 } })).toBe(true);
    expect(native({ context: {} })).toBeUndefined();
    expect(native({ context: { riskScore: 'high' } })).toBeUndefined();
  });

  it('never runs what a policy author writes: string literals are data in the generated code', () => {
    const payload = '"); globalThis.pwned = true; ("';
    const source = `context.x == ${JSON.stringify(payload)} || context.x in [${JSON.stringify(payload + '\u2028')}, "*/ globalThis.pwned = 1 /*"]`;
    const native = compileNative(evaluationEnvironment().parse(source).ast);
    expect(native).toBeDefined();
    expect(native!({ context: { x: payload } })).toBe(true);
    expect(native!({ context: { x: 'other' } })).toBe(false);
    expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
  });
});
