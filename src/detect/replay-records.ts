import { createReadStream, openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { WardenError } from '../core/errors.js';
import { CHANGE_KINDS, ChangeInput, completeChange, type IdentityChange } from '../core/identity-change.js';
import type { RecordNormalizer } from '../plugin/plugin.js';
import { keyedChange } from '../pipeline/inbox-worker.js';

/**
 * Reading recorded events for `warden detect replay`: files of NDJSON (one
 * JSON value per line) or JSON arrays, each record either a normalized
 * IdentityChange or a vendor record that some connector's `records`
 * normalizer recognizes (an Okta LogEvent, an Entra directoryAudit, an O365
 * Management Activity record). The format is detected per file (array or
 * lines) and per record (change or vendor record).
 */

/** A connector's record normalizer, with the connector's name. */
export interface NamedNormalizer {
  name: string;
  records: RecordNormalizer;
}

/** Where a record came from, for messages. */
export interface RecordOrigin {
  file: string;
  /** 1-based line (NDJSON) or array index + 1 (JSON array). */
  line: number;
}

/** What one record turned out to be. */
export type RecordOutcome =
  | { kind: 'changes'; via: string; changes: IdentityChange[] }
  | { kind: 'ignored'; via: string; reason: string }
  | { kind: 'unrecognized' }
  | { kind: 'invalid'; error: string };

const KINDS: ReadonlySet<string> = new Set(CHANGE_KINDS);

/** Whether a record looks like a normalized IdentityChange (then it must be a valid one). */
export function looksLikeChange(record: unknown): record is Record<string, unknown> {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return false;
  const r = record as Record<string, unknown>;
  return typeof r.kind === 'string' && KINDS.has(r.kind) && typeof r.target === 'object' && typeof r.actor === 'object';
}

/**
 * Classifies and normalizes one record: a normalized change (validated; it
 * must carry `occurredAt`, its event time), else the first connector whose
 * normalizer recognizes it, else unrecognized.
 */
export function normalizeRecord(record: unknown, tenant: string, normalizers: readonly NamedNormalizer[], now: Date): RecordOutcome {
  if (looksLikeChange(record)) {
    if (typeof record.occurredAt !== 'string') return { kind: 'invalid', error: 'a change needs occurredAt (when it happened) to be replayed' };
    const parsed = ChangeInput.safeParse(record);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { kind: 'invalid', error: `not a valid IdentityChange: ${issue.path.join('.') || '(record)'}: ${issue.message}` };
    }
    return { kind: 'changes', via: 'change', changes: [completeChange(parsed.data, tenant, now)] };
  }
  for (const n of normalizers) {
    let recognized: boolean;
    try {
      recognized = n.records.recognizes(record);
    } catch {
      recognized = false;
    }
    if (!recognized) continue;
    try {
      const result = n.records.normalize(record, tenant);
      if ('ignored' in result) return { kind: 'ignored', via: n.name, reason: result.ignored };
      // Several changes from one vendor event are told apart as the inbox worker does (`<event id>#<n>`).
      const changes = result.changes.map((c, i) => (c.source.eventIds[0] !== undefined ? keyedChange(c, c.source.eventIds[0], i, result.changes.length) : c));
      return { kind: 'changes', via: n.name, changes };
    } catch (err) {
      return { kind: 'invalid', error: `${n.name} could not normalize it: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return { kind: 'unrecognized' };
}

/** The first non-blank character of a file (`[` means a JSON array). */
function firstChar(file: string): string | undefined {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return undefined;
      const text = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '');
      const m = /\S/.exec(text);
      if (m) return m[0];
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** A record read from a file, or a line that is not JSON. */
export type ReadItem = { origin: RecordOrigin; record: unknown } | { origin: RecordOrigin; error: string };

/**
 * Reads the records of one file: a JSON array (whole file) or NDJSON
 * (streamed in large chunks; blank lines skipped). `onBytes` is told how far
 * it got, for progress.
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when the file cannot be read, or is a JSON array that does not parse
 */
export async function* readRecords(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<ReadItem> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new WardenError('ERR_CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`);
  }
  if (firstChar(file) === '[') {
    let records: unknown;
    try {
      records = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new WardenError('ERR_CONFIG_INVALID', `${file}: not a JSON array: ${(err as Error).message}`);
    }
    onBytes?.(size);
    let i = 0;
    for (const record of records as unknown[]) yield { origin: { file, line: ++i }, record };
    return;
  }
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;
  let bytes = 0;
  const parse = (raw: string): ReadItem | undefined => {
    line++;
    const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (text.length === 0 || text.trim().length === 0) return undefined;
    try {
      return { origin: { file, line }, record: JSON.parse(text) };
    } catch (err) {
      return { origin: { file, line }, error: `not JSON: ${(err as Error).message}` };
    }
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    bytes += (chunk as Buffer).length;
    const text = rest + decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      const item = parse(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl));
      start = nl + 1;
      if (item) yield item;
    }
    rest = text.slice(start);
    onBytes?.(bytes);
  }
  const last = parse(rest + decoder.end());
  if (last) yield last;
}
