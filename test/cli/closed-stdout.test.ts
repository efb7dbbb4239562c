import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

describe('warden … | head', () => {
  it('stops quietly when the reader of stdout goes away (EPIPE), with no stack trace', async () => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(packageRoot(), 'bin', 'warden.js'), 'config', 'docs'], {
      env: { ...process.env, WARDEN_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Close the read end before the CLI (still loading) writes anything: every write then fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    expect([code, signal]).toEqual([0, null]);
  }, 60_000);
});
