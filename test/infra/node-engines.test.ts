import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

/**
 * The Node versions Warden promises (package.json `engines`) are the ones
 * every installed package admits, so `npm ci` prints no EBADENGINE on any of
 * them (issue 17: @azure/identity 4.13.2+ declares Node >= 22). .ci/run runs
 * the suite on Node 20 and on Node 24; this checks the whole range, 22
 * included, from the lock file.
 */

const ROOT = packageRoot();

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
  optional?: boolean;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as T;
}

const pkg = readJson<{ engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> }>('package.json');
const lock = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json');
const promised = pkg.engines.node;

describe('Node versions (package.json engines)', () => {
  it('promises Node 20.19+, 22 (LTS from 22.13) and 24, and nothing older', () => {
    for (const v of ['20.19.0', '20.20.2', '22.13.0', '22.20.0', '24.0.0', '24.22.3']) expect(semver.satisfies(v, promised), v).toBe(true);
    for (const v of ['18.20.4', '20.18.3', '21.7.3', '23.11.0']) expect(semver.satisfies(v, promised), v).toBe(false);
  });

  it('the lock file records the same promise for the root package', () => {
    expect((lock.packages['']?.engines as { node?: string } | undefined)?.node).toBe(promised);
  });

  it('every package in package-lock.json admits every promised Node version', () => {
    const offenders: string[] = [];
    let checked = 0;
    for (const [where, entry] of Object.entries(lock.packages)) {
      if (where === '' || !entry.engines || Array.isArray(entry.engines) || !entry.engines.node) continue;
      checked++;
      // subset: every version the promise admits, the package admits too.
      if (!semver.subset(promised, entry.engines.node)) offenders.push(`${where}@${entry.version} wants node ${entry.engines.node}`);
    }
    expect(checked).toBeGreaterThan(100);
    expect(offenders, 'pin these to their newest version that admits the promise and say why in docs/operations.md "Node versions and pins"').toEqual([]);
  });

  it('docs/operations.md explains every exact pin in package.json', () => {
    const docs = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    const section = docs.split(/^## /m).find((s) => s.startsWith('Node versions and pins'));
    expect(section, 'docs/operations.md has a "## Node versions and pins" section').toBeDefined();
    const exact = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(([, spec]) => semver.valid(spec));
    expect(exact.map(([name]) => name)).toContain('@azure/identity');
    for (const [name, version] of exact) expect(section, `${name} ${version}`).toContain(`\`${name}\` ${version}`);
    expect(section).toContain(promised);
  });
});
