import { openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { DirectoryIndex } from '../core/directory-snapshot.js';
import { WardenError } from '../core/errors.js';
import { CHANGE_KINDS, ChangeInput, completeChange, type IdentityChange } from '../core/identity-change.js';
import type { RecordNormalizer } from '../connector/contract.js';
import { asCompleteChange } from './fast-change-check.js';
// The inbox's de-duplication keys, without the inbox worker (and its metrics) loaded into a replay.
import { keyedChange } from '../core/keyed-change.js';

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
  | { kind: 'ignored'; via: string; reason: string; progress?: RecordProgress }
  | { kind: 'unrecognized' }
  | { kind: 'invalid'; error: string };

const KINDS: ReadonlySet<string> = new Set(CHANGE_KINDS);

/** Where a record that is not a change stands in its source's event time (it moves that source's watermark). */
export interface RecordProgress {
  idp: string;
  via: 'poll';
  /** Event time, ms. */
  at: number;
}

const str = (r: Record<string, unknown>, k: string): string | undefined => (typeof r[k] === 'string' ? (r[k] as string) : undefined);

/**
 * The source and event time of a vendor record, whatever it describes (a
 * sign-in, an event no connector governs): an Okta LogEvent's `published`,
 * a Graph directoryAudit's `activityDateTime` or sign-in's `createdDateTime`,
 * an Azure Monitor export's `time`, an Office 365 record's `CreationTime`
 * (UTC, written without a zone). Records in files are what the pollers read,
 * so the source is the IdP's poller.
 */
export function recordProgress(record: unknown): RecordProgress | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const r = record as Record<string, unknown>;
  let idp: string;
  let time: string | undefined;
  if ((time = str(r, 'CreationTime')) !== undefined) {
    idp = 'm365';
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(time)) time += 'Z';
  } else if ((time = str(r, 'published')) !== undefined && typeof r.eventType === 'string') idp = 'okta';
  else if ((time = str(r, 'activityDateTime') ?? str(r, 'createdDateTime') ?? (r.operationName !== undefined ? str(r, 'time') : undefined)) !== undefined)
    idp = 'entra';
  else return undefined;
  const at = Date.parse(time);
  return Number.isFinite(at) ? { idp, via: 'poll', at } : undefined;
}

/** Whether a record looks like a normalized IdentityChange (then it must be a valid one). */
export function looksLikeChange(record: unknown): record is Record<string, unknown> {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return false;
  const r = record as Record<string, unknown>;
  return typeof r.kind === 'string' && KINDS.has(r.kind) && typeof r.target === 'object' && typeof r.actor === 'object';
}

/**
 * Classifies and normalizes one record: a normalized change (validated; it
 * must carry `occurredAt`, its event time), else the first connector whose
 * normalizer recognizes it, else unrecognized. With a directory snapshot, the
 * connector enriches what it normalizes from it, as its inbox handler does from
 * the live IdP.
 */
export function normalizeRecord(
  record: unknown,
  tenant: string,
  normalizers: readonly NamedNormalizer[],
  now: Date,
  directory?: DirectoryIndex,
): RecordOutcome {
  if (looksLikeChange(record)) {
    // A complete change as Warden stores and exports them is used as it is; anything else goes through the schema.
    const complete = asCompleteChange(record);
    if (complete) return { kind: 'changes', via: 'change', changes: [complete.tenant === tenant ? complete : { ...complete, tenant }] };
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
      const result = directory ? n.records.normalize(record, tenant, now, directory) : n.records.normalize(record, tenant, now);
      if ('ignored' in result) {
        const progress = recordProgress(record);
        return progress ? { kind: 'ignored', via: n.name, reason: result.ignored, progress } : { kind: 'ignored', via: n.name, reason: result.ignored };
      }
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
      const text = buf
        .subarray(0, n)
        .toString('utf8')
        .replace(/^\uFEFF/, '');
      const m = /\S/.exec(text);
      if (m) return m[0];
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** A record read from a file (with where it came from), or a line that is not JSON. */
export type ReadItem = (RecordOrigin & { record: unknown }) | (RecordOrigin & { error: string });

/**
 * Reads the records of one file: a JSON array (whole file) or NDJSON
 * (streamed in large chunks; blank lines skipped). `onBytes` is told how far
 * it got, for progress.
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when the file cannot be read, or is a JSON array that does not parse
 */
export async function* readRecords(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<ReadItem> {
  for await (const batch of readRecordBatches(file, onBytes)) yield* batch;
}

/** Records per batch of a JSON array file (NDJSON comes in batches of one chunk's lines). */
const ARRAY_BATCH = 4096;

/**
 * Bytes of an NDJSON file decoded at a time: as `readline` reads (64 KiB). Larger chunks measured
 * slower and heavier (bench/detect.ts): each chunk is decoded to one string, and lines are cut from it.
 */
const READ_CHUNK = 1 << 16;
/** Bytes read from an NDJSON file at a time (two buffers: one being read while the other is decoded). */
const READ_AHEAD = 1 << 20;

/**
 * `readRecords` a batch at a time: the records of each chunk of the file, in
 * order (a replay handles a million records; waiting for each one on its own
 * costs more than reading it). A batch of NDJSON parses each line as it is
 * iterated, so records are not all held at once; iterate it before asking for
 * the next.
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when the file cannot be read, or is a JSON array that does not parse
 */
export async function* readRecordBatches(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<Iterable<ReadItem>> {
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
    const all = records as unknown[];
    for (let from = 0; from < all.length; from += ARRAY_BATCH)
      yield all.slice(from, from + ARRAY_BATCH).map((record, i) => ({ file, line: from + i + 1, record }));
    return;
  }
  // Each chunk is decoded once (the decoder keeps a character cut between chunks whole) and
  // its lines are cut from the text: no copy of the bytes per chunk or per line. Chunks are small, so a
  // chunk's text is soon garbage (JSON.parse copies what it keeps of a line).
  let rest = '';
  let line = 0;
  let first = true;
  const parse = (text: string): ReadItem | undefined => {
    line++;
    const c = text.charCodeAt(0);
    // A blank or whitespace-only line is skipped (checked only when the line starts with whitespace).
    if ((c === 32 || c === 9 || c === 13 || c === 0xfeff) && text.trim().length === 0) return undefined;
    try {
      return { file, line, record: JSON.parse(text) };
    } catch (err) {
      return { file, line, error: `not JSON: ${(err as Error).message}` };
    }
  };
  /** The lines of `text` before `end`; the first completes `head`, the unfinished line the chunk before ended with. */
  function* lines(text: string, end: number, head: string): Generator<ReadItem> {
    let start = 0;
    if (head.length > 0) {
      // Only this line is joined: prefixing the whole chunk with it made a copy of every chunk (~1 KiB a record).
      const nl = text.indexOf('\n');
      let whole = head + text.slice(0, nl);
      // `head` is a slice of the chunk before: let that chunk go while this one's lines are parsed.
      head = '';
      if (whole.charCodeAt(whole.length - 1) === 13) whole = whole.slice(0, -1);
      if (whole.length > 0) {
        const item = parse(whole);
        if (item) yield item;
      } else line++;
      start = nl + 1;
    }
    for (let nl = text.indexOf('\n', start); nl !== -1 && nl < end; nl = text.indexOf('\n', start)) {
      const stop = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (stop > start) {
        const item = parse(text.slice(start, stop));
        if (item) yield item;
      } else line++;
      start = nl + 1;
    }
  }
  // Reads are large and one is always in flight while the records before it are handled; each is
  // decoded a small chunk at a time. Waiting for a read costs an event-loop round trip (~0.1 ms on a
  // busy machine even when the read is done): once per 64 KiB that was ~0.25 s of a 150 MB file.
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new WardenError('ERR_CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`);
  }
  const buffers = [Buffer.allocUnsafe(READ_AHEAD), Buffer.allocUnsafe(READ_AHEAD)];
  let pending = handle.read(buffers[0]!, 0, READ_AHEAD, null);
  try {
    const decoder = new StringDecoder('utf8');
    let bytesRead = 0;
    let turn = 0;
    for (;;) {
      const { bytesRead: n } = await pending;
      if (n === 0) break;
      const buffer = buffers[turn]!;
      turn ^= 1;
      pending = handle.read(buffers[turn]!, 0, READ_AHEAD, null);
      for (let from = 0; from < n; from += READ_CHUNK) {
        const to = Math.min(n, from + READ_CHUNK);
        let text = decoder.write(buffer.subarray(from, to));
        if (first) {
          first = false;
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        }
        const end = text.lastIndexOf('\n');
        if (end === -1) {
          // No line ends in this chunk (a line longer than a chunk): it is joined as it grows.
          rest += text;
        } else {
          const head = rest;
          rest = text.slice(end + 1);
          yield lines(text, end + 1, head);
        }
        onBytes?.(bytesRead + to);
      }
      bytesRead += n;
    }
    rest += decoder.end();
  } finally {
    // A replay that stops early leaves one read in flight: it finishes before the file is closed.
    await pending.catch(() => undefined);
    await handle.close();
  }
  if (rest.length > 0) {
    const last = parse(rest.charCodeAt(rest.length - 1) === 13 ? rest.slice(0, -1) : rest);
    if (last) yield [last];
  }
}
