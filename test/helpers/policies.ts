import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compilePolicy, type CompiledPolicy } from '../../src/core/policy/compile-policy.js';
import { packageRoot } from '../../src/package-root.js';

export const EXAMPLE_POLICY_FILE = path.join(packageRoot(), 'examples', 'policies', 'acme.yaml');

/** The example tenant policy, compiled. */
export function examplePolicy(): CompiledPolicy {
  return compilePolicy({ file: EXAMPLE_POLICY_FILE, text: readFileSync(EXAMPLE_POLICY_FILE, 'utf8') });
}

/** A policy from YAML text written in a test (leading indentation removed). */
export function policyFrom(yaml: string, file = 'test.yaml'): CompiledPolicy {
  return compilePolicy({ file, text: dedent(yaml) });
}

/** Removes the common leading indentation of a template literal. */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}
