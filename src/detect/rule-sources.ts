import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { WardenError } from '../core/errors.js';
import { packageRoot } from '../package-root.js';
import type { RuleSource } from './compile-rule-pack.js';

/** Where the shipped rule pack lives (one YAML file per rule). */
export function shippedRulesDir(): string {
  return path.join(packageRoot(), 'src', 'detect', 'rules');
}

/** Where the shipped rule test cases live (`warden detect test` runs them by default). */
export function shippedCasesDir(): string {
  return path.join(shippedRulesDir(), 'cases');
}

/**
 * Rule files at a path: the file itself, or every `.yaml`/`.yml` directly in
 * a directory, sorted by name.
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when the path cannot be read
 */
export function readRuleSources(target: string): RuleSource[] {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (!stat) throw new WardenError('ERR_CONFIG_INVALID', `no detection rules at ${target}`);
  const files = stat.isDirectory()
    ? readdirSync(target)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => path.join(target, f))
    : [target];
  return files.map((file) => {
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (err) {
      throw new WardenError('ERR_CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`);
    }
  });
}

/** The shipped rule pack's files. */
export function shippedRuleSources(): RuleSource[] {
  return readRuleSources(shippedRulesDir());
}
