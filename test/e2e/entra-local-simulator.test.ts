import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIM_CA_FILE, startLocalEntraSimulator } from '../../connectors/entra/simulator/local-simulator.js';

describe('the local Entra simulator (connectors/entra/simulator/main.ts)', () => {
  it('creates a --dir that does not exist, and keeps port, tenant, credentials and hold group across restarts', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'warden-entra-sim-')), 'not', 'yet');
    const first = await startLocalEntraSimulator(dir);
    const firstCa = readFileSync(path.join(dir, SIM_CA_FILE), 'utf8');
    await first.sim.close();
    const second = await startLocalEntraSimulator(dir);
    try {
      expect(existsSync(path.join(dir, SIM_CA_FILE))).toBe(true);
      expect(second.setup).toEqual(first.setup);
      expect(second.sim.url).toBe(first.sim.url);
      expect(readFileSync(path.join(dir, SIM_CA_FILE), 'utf8')).toBe(firstCa);
      expect(second.instructions).toBe(first.instructions);
      expect(second.sim.directory.apps.get(first.setup.clientId)?.secrets).toEqual([first.setup.secret]);
      expect([...second.sim.directory.groups.values()].map((g) => [g.id, g.displayName])).toContainEqual([first.setup.holdGroupId, 'Warden hold']);
    } finally {
      await second.sim.close();
    }
  });
});
