import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { throwawayCertificate } from '../../connectors/entra/simulator/self-signed-certificate.js';

/**
 * TLS for the Entra simulator in tests. @azure/identity only talks HTTPS, so
 * the simulator serves a throw-away certificate made here, before vitest
 * starts its worker processes, and `NODE_EXTRA_CA_CERTS` (read by Node when
 * a process starts) makes the workers trust it. Generated per run with
 * node:crypto rather than kept in the repository: no private key is
 * committed and nothing expires in the tree. An existing
 * `NODE_EXTRA_CA_CERTS` is kept (both bundles are trusted).
 */
export function setupEntraTls(): { cert: string; key: string } {
  const { certPem, keyPem } = throwawayCertificate({ days: 2 });
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-entra-tls-'));
  const bundle = path.join(dir, 'ca.pem');
  const existing = process.env.NODE_EXTRA_CA_CERTS ? readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8') : '';
  writeFileSync(bundle, existing + (existing.endsWith('\n') || !existing ? '' : '\n') + certPem);
  process.env.NODE_EXTRA_CA_CERTS = bundle;
  return { cert: certPem, key: keyPem };
}
