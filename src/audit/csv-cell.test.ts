import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from './csv-cell.js';

describe('CSV cells (RFC 4180, formula-injection safe)', () => {
  it('leaves plain values alone and writes empty for missing ones', () => {
    expect(csvLine(['acme', 7, true, undefined, null])).toBe('acme,7,true,,\r\n');
  });

  it('quotes a value holding a comma, a quote, CR or LF, doubling inner quotes', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line1\nline2')).toBe('"line1\nline2"');
    expect(csvCell('a\rb')).toBe('"a\rb"');
  });

  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tcmd', '\rcmd'])('prefixes %j with a quote so a spreadsheet does not evaluate it', (v) => {
    const cell = csvCell(v);
    expect(cell.replace(/^"/, '').startsWith("'")).toBe(true);
  });

  it('prefixes and quotes together: the quote goes inside the enclosing double quotes', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
  });

  it('writes objects as JSON (quoted, as JSON holds commas and quotes)', () => {
    expect(csvCell({ a: 1, b: 'x' })).toBe('"{""a"":1,""b"":""x""}"');
  });
});
