import { describe, expect, it } from 'vitest';
import { inboxBackoffMs, keyedChange } from './inbox-worker.js';
import { outboxBackoffMs } from './outbox-worker.js';
import { makeChange } from '../../test/helpers/changes.js';

describe('keyedChange', () => {
  it('keys a single change by the delivery event id', () => {
    const c = makeChange({ source: { idp: 'okta', eventIds: [], rawType: 'x', via: 'hook' } });
    expect(keyedChange(c, 'evt', 0, 1).source.eventIds).toEqual(['evt']);
    const already = makeChange({ source: { idp: 'okta', eventIds: ['evt'], rawType: 'x', via: 'hook' } });
    expect(keyedChange(already, 'evt', 0, 1)).toBe(already);
  });

  it('gives each of several changes from one event a key of its own', () => {
    const c = makeChange({ source: { idp: 'okta', eventIds: ['evt', 'other'], rawType: 'x', via: 'hook' } });
    expect([0, 1].map((i) => keyedChange(c, 'evt', i, 2).source.eventIds)).toEqual([
      ['evt#0', 'other'],
      ['evt#1', 'other'],
    ]);
  });
});

describe('retry backoff', () => {
  it('doubles for the inbox up to five minutes', () => {
    expect([1, 2, 3, 10, 20].map(inboxBackoffMs)).toEqual([2000, 4000, 8000, 300_000, 300_000]);
  });
  it('doubles for actions up to ten minutes, with ±20 % jitter', () => {
    expect(outboxBackoffMs(1, () => 0.5)).toBe(2000);
    expect(outboxBackoffMs(3, () => 0)).toBe(6400);
    expect(outboxBackoffMs(3, () => 1)).toBe(9600);
    expect(outboxBackoffMs(30, () => 0.5)).toBe(600_000);
  });
});
