import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packageRoot, wardenCommand } from '../../src/package-root.js';
import { cli } from '../helpers/run-cli.js';
import { useWardenProcess, wardenEnv } from '../helpers/warden-process.js';

useWardenProcess();

const root = packageRoot();

describe('running warden: one way, printed everywhere', () => {
  it('is the checked-in ./warden script, addressed from where the person stands', () => {
    expect(wardenCommand(root)).toBe('./warden');
    expect(wardenCommand(path.join(root, 'examples'))).toBe('../warden');
    expect(wardenCommand(path.join(root, 'a', 'b', 'c'))).toBe('../../../warden');
    expect(wardenCommand(tmpdir())).toBe(path.join(root, 'warden'));
  });

  it('runs the CLI from any directory (the script, as a real process)', async () => {
    const { stdout } = await promisify(execFile)(path.join(root, 'warden'), ['policy', 'check', path.join(root, 'examples/policies/acme.yaml')], {
      cwd: mkdtempSync(path.join(tmpdir(), 'warden-cmd-')),
      env: { ...process.env, ...wardenEnv() },
    });
    expect(stdout).toContain('acme.yaml: ok');
  }, 60_000);

  it('init tells the person to run the script, not a bare `warden` that is not on PATH', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-cmd-'));
    const r = await cli('init', dir, '--tenant', 'initech');
    expect(r.out).toContain(`cd ${dir} && ${path.join(root, 'warden')} policy check policies/initech.yaml`);
    expect(r.out).not.toMatch(/&& warden /);
    expect(readFileSync(path.join(dir, 'warden.yaml'), 'utf8')).toContain(`${path.join(root, 'warden')} config docs`);
  });

  it('no doc or message suggests `npx warden`, which outside the clone runs an unrelated public package', () => {
    const files = [
      'README.md',
      'connectors/README.md',
      ...readdirSync(path.join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
      'src/app/serve-command.ts',
    ];
    const offenders = files.filter((f) => /npx warden [a-z]/.test(readFileSync(path.join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
