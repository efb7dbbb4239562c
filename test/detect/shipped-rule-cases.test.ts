import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileRulePack } from '../../src/detect/compile-rule-pack.js';
import { DEFAULT_SETTINGS } from '../../src/detect/detection-registry.js';
import { NO_IDENTITY_CONFIG } from '../../src/detect/identity-keys.js';
import { RuleCaseFile, runRuleCase } from '../../src/detect/rule-cases.js';
import { shippedCasesDir, shippedRuleSources } from '../../src/detect/rule-sources.js';

/**
 * The shipped rule pack's test cases (what `warden detect test` runs), one
 * test each, so CI names the case that fails. Every shipped rule has at
 * least one case in which it alerts.
 */

const pack = compileRulePack(shippedRuleSources());
const files = readdirSync(shippedCasesDir()).filter((f) => f.endsWith('.yaml'));
const alerting = new Set<string>();

for (const file of files) {
  const data = RuleCaseFile.parse(parseYaml(readFileSync(path.join(shippedCasesDir(), file), 'utf8')));
  for (const c of data.cases) for (const a of c.want.alerts) for (const r of a.rules) alerting.add(r);
  describe(`rule cases: ${file}`, () => {
    for (const c of data.cases)
      it(c.description, () => {
        const result = runRuleCase(pack, { ...DEFAULT_SETTINGS, identities: data.identities ?? NO_IDENTITY_CONFIG }, c);
        expect(result.failures).toEqual([]);
      });
  });
}

describe('rule cases cover the pack', () => {
  it('every shipped rule alerts in at least one case', () => {
    expect(pack.rules.map((r) => r.id).filter((id) => !alerting.has(id))).toEqual([]);
  });
});
