import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../../bench/support.js';
import { readRecords, type ReadItem } from './replay-records.js';

/**
 * The NDJSON reader reads 1 MiB at a time, one read ahead, and decodes 64 KiB
 * at a time: records must come out whole and in order wherever those cuts
 * fall (inside a line, inside a multi-byte character, between \r and \n).
 */

const dir = mkdtempSync(path.join(tmpdir(), 'warden-replay-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(file: string): Promise<{ items: ReadItem[]; bytes: number[] }> {
  const items: ReadItem[] = [];
  const bytes: number[] = [];
  for await (const item of readRecords(file, (b) => bytes.push(b))) items.push(item);
  return { items, bytes };
}

/** Whether some multiple of `step` falls inside a multi-byte UTF-8 character of `buf` (on a continuation byte). */
function cutsACharacter(buf: Buffer, step: number): boolean {
  for (let at = step; at < buf.length; at += step) if ((buf[at]! & 0xc0) === 0x80) return true;
  return false;
}

describe('readRecords (NDJSON)', () => {
  it('gives every record whole, in order, with its line, across read and decode boundaries', async () => {
    const rand = prng(3);
    const words = ['é', '日本', '🔐', 'plain', 'ß\u00a0x', '"quoted"', '\\'];
    const values: unknown[] = [];
    const lines: string[] = [];
    // ~3 MiB: three reads of 1 MiB and ~48 decoded chunks, with characters of 2, 3 and 4 bytes throughout.
    for (let size = 0; size < 3 * 1024 * 1024; ) {
      const text = Array.from({ length: 1 + Math.floor(rand() * 300) }, () => words[Math.floor(rand() * words.length)]).join(' ');
      const value = { n: values.length, text };
      values.push(value);
      const json = JSON.stringify(value);
      size += json.length + 1;
      const r = rand();
      // CRLF endings, blank and whitespace-only lines between records.
      lines.push(r < 0.1 ? `${json}\r` : json);
      if (r > 0.95) lines.push('');
      else if (r > 0.9) lines.push(' \t ');
    }
    const body = `\uFEFF${lines.join('\n')}`; // a BOM, and no newline after the last record
    const file = path.join(dir, 'records.ndjson');
    writeFileSync(file, body);
    const buf = Buffer.from(body);
    expect(cutsACharacter(buf, 1 << 16)).toBe(true);

    const { items, bytes } = await readAll(file);
    expect(items.map((i) => ('record' in i ? i.record : i.error))).toEqual(values);
    // Lines are counted in the file, blank ones included.
    const expectedLines: number[] = [];
    lines.forEach((l, i) => {
      if (l.trim() !== '') expectedLines.push(i + 1);
    });
    expect(items.map((i) => i.line)).toEqual(expectedLines);
    expect(bytes.at(-1)).toBe(buf.length);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
  });

  it('gives lines longer than a decoded chunk whole, and the lines around them', async () => {
    const rand = prng(5);
    const values: unknown[] = [];
    const lines: string[] = [];
    // Lines of 70 KiB to 200 KiB span two to four 64 KiB chunks (and a 1 MiB read); short ones fall between them.
    for (let size = 0; size < 2.5 * 1024 * 1024; ) {
      const long = rand() < 0.3;
      const value = { n: values.length, text: 'x'.repeat(long ? 70_000 + Math.floor(rand() * 130_000) : 1 + Math.floor(rand() * 500)) + '日' };
      values.push(value);
      const json = JSON.stringify(value);
      size += Buffer.byteLength(json) + 1;
      lines.push(rand() < 0.2 ? `${json}\r` : json);
    }
    const file = path.join(dir, 'long-lines.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const { items } = await readAll(file);
    expect(items.map((i) => ('record' in i ? i.record : i.error))).toEqual(values);
    expect(items.map((i) => i.line)).toEqual(values.map((_, i) => i + 1));
  });

  it('reports a line that is not JSON with its number, and goes on', async () => {
    const file = path.join(dir, 'bad.ndjson');
    const filler = JSON.stringify({ pad: 'x'.repeat(1000) });
    const lines = Array.from({ length: 2000 }, () => filler);
    lines[1500] = '{"cut": ';
    writeFileSync(file, `${lines.join('\n')}\n`);
    const { items } = await readAll(file);
    expect(items).toHaveLength(2000);
    expect(items[1500]).toMatchObject({ line: 1501, error: expect.stringMatching(/^not JSON: /) });
    expect(items.filter((i) => 'error' in i)).toHaveLength(1);
  });

  it('closes the file when the reader stops early, with its read ahead still in flight', async () => {
    const file = path.join(dir, 'early.ndjson');
    writeFileSync(file, `${Array.from({ length: 5000 }, (_, n) => JSON.stringify({ n, pad: 'y'.repeat(500) })).join('\n')}\n`);
    const seen: unknown[] = [];
    for await (const item of readRecords(file)) {
      seen.push('record' in item ? item.record : undefined);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([0, 1, 2].map((n) => ({ n, pad: 'y'.repeat(500) })));
    // Read again from the start: the first reader left nothing behind that disturbs a second one.
    const { items } = await readAll(file);
    expect(items).toHaveLength(5000);
  });

  it('fails with a clear error for a file that cannot be read', async () => {
    await expect(readAll(path.join(dir, 'missing.ndjson'))).rejects.toThrow(/cannot read .*missing\.ndjson/);
  });
});
