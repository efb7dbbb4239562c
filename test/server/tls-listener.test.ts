import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { isWardenError } from '../../src/core/errors.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { tempConfigDir } from '../helpers/temp-config.js';

/**
 * `listen.tls`: Warden serves HTTPS itself (what a local Graph subscription
 * needs, since Graph calls only https:// notification URLs). The global
 * setup's throw-away certificate is trusted by the workers
 * (NODE_EXTRA_CA_CERTS), so fetch verifies it as a client would.
 */
function configWith(tls: string, env: Record<string, string> = {}) {
  const dirs = tempConfigDir(`listen: { host: 127.0.0.1, port: 0, tls: ${tls} }\n`);
  // tempConfigDir writes its own listen line first; drop it so the one with tls wins.
  const file = dirs.configFile;
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace('listen: { host: 127.0.0.1, port: 0 }\n', ''));
  mkdirSync(path.join(dirs.dir, 'tls'));
  const { cert, key } = inject('entraTls');
  writeFileSync(path.join(dirs.dir, 'tls', 'cert.pem'), cert);
  writeFileSync(path.join(dirs.dir, 'tls', 'key.pem'), key);
  return { ...dirs, env };
}
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isWardenError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'accepted';
}

describe('listen.tls', () => {
  let server: RunningServer | undefined;
  afterAll(() => server?.close());

  it('serves HTTPS with the configured certificate and key, and says so in its URL', async () => {
    const { configFile } = configWith('{ cert: tls/cert.pem, key: { file: tls/key.pem } }');
    const config = loadConfig({ path: configFile, env: {}, resolveSecrets: true });
    server = await startServer({ config, log: createLogger('silent'), watchPolicies: false, workers: false });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    // Plain HTTP on the same port is not served.
    await expect(fetch(server.url.replace('https:', 'http:') + '/healthz')).rejects.toThrow();
  });

  it('takes the key from an environment variable', () => {
    const { configFile } = configWith('{ cert: tls/cert.pem, key: { env: WARDEN_TLS_KEY } }');
    const config = loadConfig({ path: configFile, env: { WARDEN_TLS_KEY: inject('entraTls').key } });
    expect(config.listen.tls?.cert).toContain('-----BEGIN CERTIFICATE-----');
    expect(JSON.stringify(config.listen)).not.toContain('PRIVATE KEY');
  });

  it('refuses a missing certificate file', () => {
    const { configFile } = configWith('{ cert: tls/missing.pem, key: { file: tls/key.pem } }');
    expect(refusal(() => loadConfig({ path: configFile, env: {} }))).toMatch(/^ERR_CONFIG_INVALID: .*listen\.tls\.cert: cannot read .*missing\.pem/);
  });

  it('refuses a certificate file that holds no PEM certificate', () => {
    const { configFile } = configWith('{ cert: tls/key.pem, key: { file: tls/key.pem } }');
    expect(refusal(() => loadConfig({ path: configFile, env: {} }))).toMatch(/^ERR_CONFIG_INVALID: .*listen\.tls\.cert: .*key\.pem holds no PEM certificate/);
  });

  it('refuses a key reference that resolves to nothing', () => {
    const { configFile } = configWith('{ cert: tls/cert.pem, key: { env: WARDEN_TLS_KEY } }');
    expect(refusal(() => loadConfig({ path: configFile, env: {} }))).toMatch(
      /^ERR_CONFIG_INVALID: .*listen\.tls\.key: environment variable WARDEN_TLS_KEY is not set/,
    );
  });

  it('refuses unknown keys under listen.tls', () => {
    const { configFile } = configWith('{ cert: tls/cert.pem, key: { file: tls/key.pem }, ca: x }');
    expect(refusal(() => loadConfig({ path: configFile, env: {} }))).toMatch(/^ERR_CONFIG_INVALID: config refused/);
  });
});
