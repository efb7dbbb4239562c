import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CaseFile, runDecisionCase } from '../../src/core/policy/decision-cases.js';
import { packageRoot } from '../../src/package-root.js';
import { examplePolicy } from '../helpers/policies.js';

/** The example policy's decision cases (what `warden policy test examples/cases` runs), one test each. */
const dir = path.join(packageRoot(), 'examples', 'cases');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const policy = examplePolicy();

describe('example policy decision cases', () => {
  it('has at least 30 cases, all pointing at the example policy', () => {
    let count = 0;
    for (const f of files) {
      const data = CaseFile.parse(parse(readFileSync(path.join(dir, f), 'utf8')));
      expect(data.policy).toBe('../policies/acme.yaml');
      count += 'cases' in data ? data.cases.length : 1;
    }
    expect(count).toBeGreaterThanOrEqual(30);
  });

  for (const f of files) {
    const data = CaseFile.parse(parse(readFileSync(path.join(dir, f), 'utf8')));
    describe(f, () => {
      for (const c of 'cases' in data ? data.cases : [data])
        it(c.description, () => {
          expect(runDecisionCase(policy, c).failures).toEqual([]);
        });
    });
  }
});
