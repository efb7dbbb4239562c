import { isMap, isScalar, isSeq, type LineCounter, type Document, type Node } from 'yaml';

/** 1-based line and column in a source file. */
export interface Position {
  line: number;
  column: number;
}

/**
 * Finds where values of a parsed YAML document sit in its source text, so
 * schema and CEL errors can name file:line:column.
 */
export class SourcePositions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  /** Position of an offset in the source text. */
  at(offset: number): Position {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line, column: col };
  }

  /**
   * The node at `path`, or the nearest ancestor that exists (a missing key is
   * reported at the mapping that should hold it).
   */
  nodeAt(path: readonly PropertyKey[]): Node | undefined {
    let node: unknown = this.doc.contents;
    let found = node as Node | undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
        if (!pair) break;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        if (node === undefined) break;
      } else break;
      found = node as Node;
    }
    return found;
  }

  /** Position of the value at `path` (or its nearest existing ancestor). */
  of(path: readonly PropertyKey[]): Position {
    const node = this.nodeAt(path);
    return this.at(node?.range?.[0] ?? 0);
  }

  /**
   * Position of character `offset` inside the string scalar at `path`, when
   * the scalar's source can be mapped exactly (plain and quoted single-line
   * scalars, literal blocks, folded blocks of one indentation); otherwise the scalar's start.
   */
  inScalar(path: readonly PropertyKey[], offset: number): Position {
    const node = this.nodeAt(path);
    if (!node || !isScalar(node) || typeof node.value !== 'string' || !node.range) return this.of(path);
    const [start, end] = node.range;
    const value = node.value;
    const source = this.text.slice(start, end);
    switch (node.type) {
      case 'PLAIN':
        if (source === value) return this.at(start + offset);
        break;
      case 'QUOTE_SINGLE':
      case 'QUOTE_DOUBLE':
        if (source.slice(1, -1) === value) return this.at(start + 1 + offset);
        break;
      case 'BLOCK_LITERAL': {
        const before = value.slice(0, offset);
        const lineInValue = before.split('\n').length - 1;
        const columnInLine = offset - (before.lastIndexOf('\n') + 1);
        const contentLines = source.split('\n').slice(1);
        const indent = Math.min(...contentLines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
        const header = this.at(start);
        if (Number.isFinite(indent)) return { line: header.line + 1 + lineInValue, column: indent + columnInLine + 1 };
        break;
      }
      case 'BLOCK_FOLDED': {
        // `>-` / `>`: lines of one indentation fold into one line joined by spaces. Map the offset back
        // when the value is exactly that (no blank or more-indented lines, whose folding differs).
        const lines = source.split('\n').slice(1);
        const content = lines.filter((l) => l.trim() !== '');
        const indent = Math.min(...content.map((l) => l.length - l.trimStart().length));
        if (!Number.isFinite(indent) || content.some((l) => l.length - l.trimStart().length !== indent)) break;
        const folded = content.map((l) => l.slice(indent).trimEnd());
        if (folded.join(' ') !== value.replace(/\n$/, '')) break;
        const header = this.at(start);
        const firstContent = lines.findIndex((l) => l.trim() !== '');
        let rest = offset;
        for (let i = 0; i < folded.length; i++) {
          if (rest <= folded[i]!.length || i === folded.length - 1) return { line: header.line + 1 + firstContent + i, column: indent + rest + 1 };
          rest -= folded[i]!.length + 1;
        }
        break;
      }
      default:
        break;
    }
    return this.at(start);
  }

  /** The source line (without newline) at a 1-based line number. */
  lineText(line: number): string {
    return this.text.split('\n')[line - 1] ?? '';
  }
}
