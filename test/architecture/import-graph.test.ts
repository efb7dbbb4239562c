import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

/**
 * Design §2: src/core is pure (no I/O, no vendor SDK, no express, no
 * database driver), vendor code lives only in connectors/, and nothing
 * under src/ imports from connectors/. This test reads the import graph.
 */

const ROOT = packageRoot();

/** Bare modules src/core may import: schemas, YAML parsing, CEL, hashing. */
const CORE_ALLOWED = new Set(['zod', 'yaml', '@marcbachmann/cel-js', 'node:crypto']);
const VENDOR_SDK = /^(@okta\/|@azure\/|@microsoft\/|okta-|@googleapis\/|googleapis)/;

/** The package a bare specifier names: `@scope/pkg/sub` → `@scope/pkg`, `pkg/sub` → `pkg`. */
function packageOf(spec: string): string {
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

interface SourceFile {
  file: string;
  imports: string[];
}

function sources(dir: string): SourceFile[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => {
      const file = path.join(dir, f);
      const info = ts.preProcessFile(readFileSync(path.join(ROOT, file), 'utf8'), true, true);
      return { file, imports: info.importedFiles.map((i) => i.fileName) };
    });
}

/** Violations of the layering rules in a set of files (paths relative to the repository root). */
function layeringViolations(files: readonly SourceFile[]): string[] {
  const problems: string[] = [];
  for (const { file, imports } of files) {
    if (!file.startsWith(`src${path.sep}`)) continue;
    const inCore = file.startsWith(path.join('src', 'core') + path.sep);
    for (const spec of imports) {
      const relative = spec.startsWith('.');
      const resolved = relative ? path.normalize(path.join(path.dirname(file), spec)) : spec;
      if (relative && resolved.startsWith(`connectors${path.sep}`)) problems.push(`${file} imports ${spec}: src/ must not import connectors/`);
      if (!relative && VENDOR_SDK.test(spec)) problems.push(`${file} imports ${spec}: vendor SDKs belong in connectors/`);
      if (inCore) {
        if (relative && !resolved.startsWith(path.join('src', 'core') + path.sep)) problems.push(`${file} imports ${spec}: src/core imports only src/core`);
        if (!relative && !CORE_ALLOWED.has(packageOf(spec)))
          problems.push(`${file} imports ${spec}: src/core is pure (allowed: ${[...CORE_ALLOWED].join(', ')})`);
      }
    }
  }
  return problems;
}

describe('import graph', () => {
  it('finds violations when there are some (the check itself works)', () => {
    const bad: SourceFile[] = [
      {
        file: path.join('src', 'core', 'x.ts'),
        imports: ['express', './ok.js', '../store/store.js', 'node:fs', '@marcbachmann/cel-js/evaluator', 'pg/lib/client'],
      },
      { file: path.join('src', 'server', 'y.ts'), imports: ['../../connectors/okta/index.js', '@okta/okta-sdk-nodejs', 'express'] },
      { file: path.join('connectors', 'okta', 'z.ts'), imports: ['@okta/okta-sdk-nodejs', '../../src/core/errors.js'] },
    ];
    expect(layeringViolations(bad)).toEqual([
      `${path.join('src', 'core', 'x.ts')} imports express: src/core is pure (allowed: zod, yaml, @marcbachmann/cel-js, node:crypto)`,
      `${path.join('src', 'core', 'x.ts')} imports ../store/store.js: src/core imports only src/core`,
      `${path.join('src', 'core', 'x.ts')} imports node:fs: src/core is pure (allowed: zod, yaml, @marcbachmann/cel-js, node:crypto)`,
      `${path.join('src', 'core', 'x.ts')} imports pg/lib/client: src/core is pure (allowed: zod, yaml, @marcbachmann/cel-js, node:crypto)`,
      `${path.join('src', 'server', 'y.ts')} imports ../../connectors/okta/index.js: src/ must not import connectors/`,
      `${path.join('src', 'server', 'y.ts')} imports @okta/okta-sdk-nodejs: vendor SDKs belong in connectors/`,
    ]);
  });

  it('holds for the source tree: src/core is pure and src/ never imports connectors/ or a vendor SDK', () => {
    const files = sources('src');
    expect(files.filter((f) => f.file.startsWith(path.join('src', 'core'))).length).toBeGreaterThan(10);
    expect(layeringViolations(files)).toEqual([]);
  });
});
