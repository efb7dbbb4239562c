import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

/**
 * One clock for everything a test drives: the server, its workers, the CLI
 * and the simulators read the time from an injected `Clock`
 * (src/core/clock.ts), so no outcome depends on today's date. This test reads
 * the sources of src/ and connectors/ and fails on a read of the system time
 * (`Date.now()`, `new Date()` without arguments) anywhere but the clock
 * module. `new Date(x)` (a given instant) is fine.
 */

const ROOT = packageRoot();
const CLOCK_MODULE = path.join('src', 'core', 'clock.ts');

/** Each read of the system time in `source`, as `file:line: text`. */
function systemTimeReads(file: string, source: string): string[] {
  if (!source.includes('Date')) return [];
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const isDate = (e: ts.Expression) => ts.isIdentifier(e) && e.text === 'Date';
  const visit = (node: ts.Node): void => {
    const bare = ts.isNewExpression(node) && isDate(node.expression) && (node.arguments === undefined || node.arguments.length === 0);
    const now =
      ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && isDate(node.expression.expression) && node.expression.name.text === 'now';
    // `Date.now` passed as a function (e.g. a default `clock = Date.now`) reads the system time too.
    const nowRef =
      !now &&
      ts.isPropertyAccessExpression(node) &&
      isDate(node.expression) &&
      node.name.text === 'now' &&
      !(ts.isCallExpression(node.parent) && node.parent.expression === node);
    if (bare || now || nowRef) {
      const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      found.push(`${file}:${line + 1}: ${node.getText(sf)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

describe('one clock', () => {
  it('finds every form of reading the system time, and nothing else', () => {
    const src = [
      'const a = new Date();',
      'const b = new Date;',
      'const c = Date.now();',
      'function f(clock: () => number = Date.now) { return clock(); }',
      'const d = new Date(0); const e = new Date(a.getTime() + 1); const g = Date.parse("2026-01-01T00:00:00Z");',
      '// new Date() in a comment, and "Date.now()" in a string, are not reads',
    ].join('\n');
    expect(systemTimeReads('x.ts', src)).toEqual(['x.ts:1: new Date()', 'x.ts:2: new Date', 'x.ts:3: Date.now()', 'x.ts:4: Date.now']);
  });

  it('src/ and connectors/ read the time only through src/core/clock.ts', () => {
    const files = [...sourceFiles('src'), ...sourceFiles('connectors')];
    expect(files).toContain(CLOCK_MODULE);
    const reads = files.filter((f) => f !== CLOCK_MODULE).flatMap((f) => systemTimeReads(f, readFileSync(path.join(ROOT, f), 'utf8')));
    expect(reads, 'take a Clock (src/core/clock.ts) instead of reading the system time').toEqual([]);
    // The clock module itself is where the system time is read.
    expect(systemTimeReads(CLOCK_MODULE, readFileSync(path.join(ROOT, CLOCK_MODULE), 'utf8')).length).toBeGreaterThan(0);
  });
});
