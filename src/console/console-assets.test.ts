import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleAssetsDir } from './console-router.js';

describe('console assets', () => {
  it('are found from the package root, where the built CLI (dist/) finds them too', () => {
    const dir = consoleAssetsDir();
    expect(dir.endsWith(path.join('src', 'console', 'assets'))).toBe(true);
    for (const file of ['console.css', 'console.js']) expect(existsSync(path.join(dir, file))).toBe(true);
  });

  it('load nothing from elsewhere (no CDN, no imports)', () => {
    const css = readFileSync(path.join(consoleAssetsDir(), 'console.css'), 'utf8');
    const js = readFileSync(path.join(consoleAssetsDir(), 'console.js'), 'utf8');
    expect(css).not.toMatch(/@import|url\(\s*['"]?https?:/);
    expect(js).not.toMatch(/https?:\/\/|import\s*\(|fetch\(/);
  });
});
