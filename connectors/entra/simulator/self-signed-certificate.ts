import { systemClock } from '../../../src/core/clock.js';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { WardenError } from '../../../src/core/errors.js';

/**
 * A throw-away self-signed certificate for `localhost` and `127.0.0.1`,
 * made with node:crypto alone (no openssl binary): the Entra simulator must
 * speak HTTPS because @azure/identity refuses an `http:` authority host, and
 * the client trusts this certificate through `NODE_EXTRA_CA_CERTS`
 * (shared/research/simulators.md). P-256 ECDSA (or RSA 2048, which a
 * client-certificate credential needs), signed with SHA-256,
 * `basicConstraints CA:TRUE` so OpenSSL accepts it as its own trust anchor,
 * and a subjectAltName with DNS `localhost` and IP `127.0.0.1`.
 *
 * @example
 * const { certPem, keyPem } = throwawayCertificate({ days: 2 });
 * https.createServer({ cert: certPem, key: keyPem }, handler);
 */
export function throwawayCertificate(options: { days?: number; now?: Date; commonName?: string; keyType?: 'ec' | 'rsa' } = {}): {
  certPem: string;
  keyPem: string;
} {
  const now = options.now ?? systemClock();
  const days = options.days ?? 7;
  const rsa = options.keyType === 'rsa';
  const { privateKey, publicKey } = rsa ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // ecdsa-with-SHA256 has no parameters; sha256WithRSAEncryption has NULL ones (RFC 5754, RFC 4055).
  const signatureAlgorithm = rsa ? seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00])) : seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8(options.commonName ?? 'localhost'))));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // a positive INTEGER
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
  const extensions = seq(
    seq(oid('2.5.29.19'), bool(true), octets(seq(bool(true)))), // basicConstraints, critical: CA:TRUE
    seq(oid('2.5.29.15'), bool(true), octets(bitString(Buffer.from([0x84]), 2))), // keyUsage, critical: digitalSignature, keyCertSign
    seq(oid('2.5.29.37'), octets(seq(oid('1.3.6.1.5.5.7.3.1')))), // extKeyUsage: serverAuth
    seq(oid('2.5.29.17'), octets(seq(tlv(0x82, Buffer.from('localhost', 'ascii')), tlv(0x87, Buffer.from([127, 0, 0, 1]))))), // subjectAltName
  );
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    signatureAlgorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    tlv(0xa3, extensions),
  );
  const signature = sign('sha256', tbs, rsa ? privateKey : { key: privateKey, dsaEncoding: 'der' });
  const cert = seq(tbs, signatureAlgorithm, bitString(signature, 0));
  return { certPem: pem('CERTIFICATE', cert), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function tlv(tag: number, value: Buffer): Buffer {
  const length = value.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else if (length < 0x10000) header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  else throw new WardenError('ERR_INTERNAL', 'DER value too long');
  return Buffer.concat([header, value]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octets = (value: Buffer) => tlv(0x04, value);
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
const bool = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
const bitString = (value: Buffer, unusedBits: number) => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), value]));

function integer(value: Buffer): Buffer {
  let v = value;
  while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
  if (v[0]! >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes = [40 * parts[0]! + parts[1]!];
  for (const part of parts.slice(2)) {
    const chunk = [part & 0x7f];
    for (let rest = part >> 7; rest > 0; rest >>= 7) chunk.unshift((rest & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}
