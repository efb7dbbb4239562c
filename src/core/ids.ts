import { systemClock } from './clock.js';
import { randomBytes } from 'node:crypto';

let lastMs = -1;
let counter = 0;

/**
 * A UUID version 7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, a 12-bit
 * counter (method 1 of §6.2, so ids made in one millisecond by this process
 * still sort in creation order), then random bits.
 *
 * @example uuidv7() // '0193f2b4-6c1e-7a3b-9f2d-1c0e5b7a9d41'
 */
export function uuidv7(now: number = systemClock().getTime()): string {
  let ms = now;
  if (ms <= lastMs) {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      ms = lastMs + 1;
      counter = 0;
    }
  } else counter = randomBytes(2).readUInt16BE(0) & 0x7ff; // start low so the counter has room
  lastMs = ms;
  const bytes = randomBytes(16);
  const t = BigInt(ms);
  for (let i = 0; i < 6; i++) bytes[i] = Number((t >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
