import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useWardenProcess, wardenEnv, wardenNodeArgs } from '../helpers/warden-process.js';

useWardenProcess();

describe('warden … | head', () => {
  it('stops quietly when the reader of stdout goes away (EPIPE), with no stack trace', async () => {
    const child = spawn(process.execPath, wardenNodeArgs('config', 'docs'), {
      env: { ...process.env, ...wardenEnv() },
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
