import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

/**
 * The folder layers of docs/architecture.md ("Layout"), checked against the
 * imports: the folder graph (type imports included) has no cycle, every
 * arrow is one the layer table's "May import" column allows, connectors see
 * only src/connector and src/core, and src/ never imports connectors/. The
 * table is read from the document, so the document and the code cannot drift
 * apart: a new folder, or a new arrow, is a new line of the table.
 */

const ROOT = packageRoot();
const DOC = path.join(ROOT, 'docs', 'architecture.md');

/** One source file and the relative modules it imports (repository-relative, `/`-separated). */
interface ImportingFile {
  file: string;
  imports: string[];
}

/** The folder graph: for each layer, the layers it imports, with one example import per arrow. */
type FolderGraph = Map<string, Map<string, string>>;

/**
 * The layer a file belongs to, named as in the table: `src/<folder>`, a file
 * directly under src/ by its path (`src/package-root.ts`), `connectors/<vendor>`
 * for every vendor folder, `connectors/demo` for the demo kit (it assembles
 * every vendor's simulator), `connectors/index.ts` for the list of connectors.
 */
function layerOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : file;
  if (parts[0] === 'connectors') return parts.length > 2 ? (parts[1] === 'demo' ? 'connectors/demo' : 'connectors/<vendor>') : file;
  return parts[0]!;
}

/** The folder graph of `files`: arrows between layers, from each relative import that leaves its layer. */
function folderGraph(files: readonly ImportingFile[]): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const { file, imports } of files) {
    const from = layerOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const spec of imports) {
      if (!spec.startsWith('.')) continue;
      // Specifiers name the compiled file (`./x.js`); the layer table names the source (`src/package-root.ts`).
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      // Between vendor folders: connectors/okta → connectors/entra is an arrow, though both are `connectors/<vendor>`.
      const crossVendor = from === 'connectors/<vendor>' && layerOf(target) === from && target.split('/')[1] !== file.split('/')[1];
      const to = crossVendor ? `connectors/${target.split('/')[1]}` : layerOf(target);
      if (to === from) continue;
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, `${file} imports ${spec}`);
    }
  }
  return graph;
}

/** The cycles of a graph: its strongly connected components of more than one node (Tarjan), each sorted. */
function cyclesOf(graph: FolderGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const nodes = new Set([...graph.keys(), ...[...graph.values()].flatMap((m) => [...m.keys()])]);
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/**
 * The "Layout" table of docs/architecture.md: each row's layer (the first
 * cell's first `code` span) and the layers its "May import" cell names (its
 * `code` spans that start with `src` or `connectors`).
 */
function parseLayerTable(markdown: string): Map<string, Set<string>> {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => /^\|\s*Folder\s*\|.*\|\s*May import\s*\|\s*$/.test(l));
  if (header < 0) throw new Error('docs/architecture.md has no "| Folder | … | May import |" table');
  const columns = lines[header]!.split('|').map((c) => c.trim());
  const mayImport = columns.indexOf('May import');
  const table = new Map<string, Set<string>>();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').map((c) => c.trim());
    const layer = /`([^`]+)`/.exec(cells[1] ?? '')?.[1];
    if (!layer) continue;
    const allowed = [...(cells[mayImport] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((l) => l.startsWith('src') || l.startsWith('connectors'));
    table.set(layer, new Set(allowed));
  }
  return table;
}

/** Every problem of a folder graph against a layer table: cycles, layers without a row, arrows the table does not allow. */
function layerViolations(graph: FolderGraph, table: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const problems: string[] = [];
  for (const cycle of cyclesOf(graph)) problems.push(`cycle: ${cycle.join(' <-> ')}`);
  for (const [from, arrows] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    const allowed = table.get(from);
    if (!allowed) {
      problems.push(`${from} has no row in the layer table of docs/architecture.md`);
      continue;
    }
    for (const [to, example] of [...arrows].sort(([a], [b]) => a.localeCompare(b)))
      if (!allowed.has(to)) problems.push(`${from} -> ${to} is not allowed by the layer table (${example})`);
  }
  return problems;
}

/** Connectors import only src/connector and src/core; src/ imports no connector. */
function connectorBoundary(graph: FolderGraph): string[] {
  const problems: string[] = [];
  for (const [from, arrows] of graph)
    for (const [to, example] of arrows) {
      if (from.startsWith('connectors') && to.startsWith('src') && to !== 'src/connector' && to !== 'src/core')
        problems.push(`${from} -> ${to}: connectors import only src/connector and src/core (${example})`);
      if (from.startsWith('src') && to.startsWith('connectors')) problems.push(`${from} -> ${to}: src/ must not import connectors/ (${example})`);
    }
  return problems;
}

/** The non-test TypeScript of `dir` (simulators included: they ship in connectors/), with their imports, type imports included. */
function sources(dir: string): ImportingFile[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !f.split('/').includes('test'))
    .map((f) => {
      const file = `${dir}/${f}`;
      const info = ts.preProcessFile(readFileSync(path.join(ROOT, file), 'utf8'), true, true);
      return { file, imports: info.importedFiles.map((i) => i.fileName) };
    });
}

describe('folder layers', () => {
  const table = new Map<string, Set<string>>([
    ['src/core', new Set()],
    ['src/store', new Set(['src/core'])],
    ['src/server', new Set(['src/core', 'src/store'])],
    ['connectors/<vendor>', new Set(['src/connector', 'src/core'])],
  ]);

  it('parses the "May import" column of a layer table', () => {
    const doc = [
      'intro',
      '| Folder | Holds | May import |',
      '|---|---|---|',
      '| `src/core` | the domain (`IdentityChange`) | `zod`, `yaml` — nothing in src |',
      '| `src/store` | the `Store` port | `src/core`, `src/config` |',
      '| `connectors/<vendor>` | one folder per IdP | `src/connector`, `src/core` |',
      '',
      '| `src/later` | after the table | `src/store` |',
    ].join('\n');
    expect(parseLayerTable(doc)).toEqual(
      new Map([
        ['src/core', new Set()],
        ['src/store', new Set(['src/core', 'src/config'])],
        ['connectors/<vendor>', new Set(['src/connector', 'src/core'])],
      ]),
    );
    expect(() => parseLayerTable('no table here')).toThrow(/no "\| Folder/);
  });

  it('finds a planted cycle, a planted forbidden arrow and a layer the table does not know', () => {
    const files: ImportingFile[] = [
      { file: 'src/core/a.ts', imports: ['./b.js', 'zod'] },
      { file: 'src/store/s.ts', imports: ['../core/a.js', '../server/app.js'] },
      { file: 'src/server/app.ts', imports: ['../store/s.js', '../core/a.js'] },
      { file: 'src/store/t.ts', imports: ['../ghost/g.js'] },
      { file: 'src/ghost/g.ts', imports: ['../core/a.js'] },
    ];
    expect(layerViolations(folderGraph(files), table)).toEqual([
      'cycle: src/server <-> src/store',
      'src/ghost has no row in the layer table of docs/architecture.md',
      'src/store -> src/ghost is not allowed by the layer table (src/store/t.ts imports ../ghost/g.js)',
      'src/store -> src/server is not allowed by the layer table (src/store/s.ts imports ../server/app.js)',
    ]);
  });

  it('counts type imports and dynamic imports as arrows', () => {
    const text = "import type { Store } from '../store/store.js';\nexport type { X } from '../server/x.js';\nconst m = await import('../cli/main.js');\n";
    const imports = ts.preProcessFile(text, true, true).importedFiles.map((i) => i.fileName);
    const graph = folderGraph([{ file: 'src/core/x.ts', imports }]);
    expect([...graph.get('src/core')!.keys()].sort()).toEqual(['src/cli', 'src/server', 'src/store']);
  });

  it('finds connectors reaching past the surface, one vendor importing another, and src/ importing a connector', () => {
    const files: ImportingFile[] = [
      {
        file: 'connectors/okta/a.ts',
        imports: ['../../src/connector/index.js', '../../src/core/clock.js', '../../src/store/store.js', '../entra/b.js', './c.js'],
      },
      { file: 'connectors/entra/b.ts', imports: ['../../src/connector/index.js'] },
      { file: 'src/server/app.ts', imports: ['../../connectors/okta/index.js'] },
    ];
    const graph = folderGraph(files);
    expect(connectorBoundary(graph).map((p) => p.split(':')[0])).toEqual(['connectors/<vendor> -> src/store', 'src/server -> connectors/<vendor>']);
    expect(layerViolations(graph, table)).toContain(
      'connectors/<vendor> -> connectors/entra is not allowed by the layer table (connectors/okta/a.ts imports ../entra/b.js)',
    );
  });

  it('holds for the tree: no cycle, only arrows docs/architecture.md allows, connectors through src/connector alone', () => {
    const files = [...sources('src'), ...sources('connectors')];
    expect(files.length).toBeGreaterThan(100);
    const graph = folderGraph(files);
    const documented = parseLayerTable(readFileSync(DOC, 'utf8'));
    expect(documented.size).toBeGreaterThan(10);
    expect(layerViolations(graph, documented)).toEqual([]);
    expect(connectorBoundary(graph)).toEqual([]);
    // Every row names a layer that exists: a folder removed or renamed leaves no stale row.
    expect([...documented.keys()].filter((layer) => !graph.has(layer))).toEqual([]);
  });
});
