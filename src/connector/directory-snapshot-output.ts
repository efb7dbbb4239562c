import { writeFileSync } from 'node:fs';
import type { DirectorySnapshot } from '../core/directory-snapshot.js';
import { WardenError } from '../core/errors.js';
import type { WardenConfig } from '../config/load-config.js';
import type { CliContext } from './contract.js';

/**
 * What `warden <idp> directory export` shares between connectors: the
 * tenant's identity links (its `detection.identities`, which the live path
 * keys people by) and writing the snapshot.
 */

/** The tenant's configured identity mapping, for a snapshot's `domains` and `links`. */
export function identitiesOf(
  config: WardenConfig,
  tenant: string,
): { identities?: { domains: Readonly<Record<string, string>>; aliases: Readonly<Record<string, readonly string[]>> } } {
  const identities = config.tenants.find((t) => t.id === tenant)?.detection.identities;
  return identities ? { identities } : {};
}

/**
 * Writes a snapshot as JSON to `out`, or to standard output; a line on
 * standard error says how many users of which directories it holds.
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when the file cannot be written
 */
export async function writeSnapshot(cli: CliContext, snapshot: DirectorySnapshot, out: string | undefined): Promise<void> {
  const text = JSON.stringify(snapshot, null, 2) + '\n';
  const summary = snapshot.directories.map((d) => `${d.users.length} user${d.users.length === 1 ? '' : 's'} of ${d.idp} ${d.org}`).join(', ');
  if (out === undefined) await cli.io.out(text);
  else
    try {
      writeFileSync(out, text);
    } catch (err) {
      throw new WardenError('ERR_CONFIG_INVALID', `cannot write ${out}: ${(err as Error).message}`);
    }
  cli.io.err(`directory snapshot: ${summary}, ${snapshot.links.length} identity link${snapshot.links.length === 1 ? '' : 's'}${out ? ` → ${out}` : ''}\n`);
}
