import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// A test may read the shipped connectors (the import-graph rule is about product code): the generated file documents their sections too.
import { connectors } from '../../connectors/index.js';
import { packageRoot } from '../package-root.js';
import { renderConfigDocs } from './render-config-docs.js';

describe('docs/configuration.md', () => {
  it('is what the schema renders with the shipped connectors (run `npm run docs:config` after changing a schema)', () => {
    expect(readFileSync(path.join(packageRoot(), 'docs', 'configuration.md'), 'utf8')).toBe(renderConfigDocs(connectors));
  });

  it("documents every key of the connectors' sections", () => {
    const doc = renderConfigDocs(connectors);
    for (const line of doc.split('\n').filter((l) => l.startsWith('| `tenants[].okta'))) expect(line, line).not.toMatch(/\|\s*\|$/);
    expect(doc).toContain('| `tenants[].okta.auth.type` | `api_token` |');
  });

  it('documents every key with its environment override', () => {
    const doc = renderConfigDocs(connectors);
    for (const key of [
      'listen.port',
      'listen.host',
      'database.url',
      'dataDir',
      'durability',
      'limits.bodyBytes',
      'log.level',
      'tenants[].id',
      'tenants[].policy',
      'tenants[].secrets',
      'tenants[].detection.rules',
      'tenants[].detection.allowedLateness',
      'tenants[].detection.identities.domains',
      'tenants[].detection.identities.aliases',
    ])
      expect(doc).toContain(`\`${key}\``);
    for (const env of ['PORT', 'DATABASE_URL', 'WARDEN_DATA_DIR', 'LOG_LEVEL', 'WARDEN_CONFIG']) expect(doc).toContain(env);
  });
});
