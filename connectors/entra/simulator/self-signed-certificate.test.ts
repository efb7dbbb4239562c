import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { throwawayCertificate } from './self-signed-certificate.js';

describe('throwawayCertificate', () => {
  it('makes a self-signed certificate for localhost and 127.0.0.1, valid now and for the days asked', () => {
    const now = new Date('2026-11-25T10:00:00Z');
    const { certPem, keyPem } = throwawayCertificate({ days: 2, now });
    const cert = new X509Certificate(certPem);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(cert.subject).toBe('CN=localhost');
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(Date.parse(cert.validFrom)).toBeLessThan(now.getTime());
    expect(Date.parse(cert.validTo)).toBe(now.getTime() + 2 * 86_400_000);
  });

  it('makes an RSA certificate too (client-certificate credentials need RSA)', () => {
    const { certPem, keyPem } = throwawayCertificate({ keyType: 'rsa' });
    const cert = new X509Certificate(certPem);
    expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
  });
});
