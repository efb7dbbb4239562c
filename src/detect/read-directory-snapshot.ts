import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DIRECTORY_SNAPSHOT_API_VERSION, type DirectoryIndex, DirectorySnapshot } from '../core/directory-snapshot.js';
import { WardenError } from '../core/errors.js';
import type { IdentityConfig } from './identity-keys.js';

/**
 * Reads a directory snapshot file (`warden okta|entra directory export`;
 * format in docs/detection.md), validated against its schema.
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when the file cannot be read or is not JSON, `ERR_VALIDATION` when it is not a snapshot
 */
export function readDirectorySnapshot(file: string): DirectorySnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new WardenError('ERR_CONFIG_INVALID', `--directory ${file}: cannot read it as JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = raw as { apiVersion?: unknown; kind?: unknown };
  if (typeof raw === 'object' && raw !== null && r.kind === 'DirectorySnapshot' && r.apiVersion !== DIRECTORY_SNAPSHOT_API_VERSION)
    throw new WardenError(
      'ERR_VALIDATION',
      `--directory ${file}: a directory snapshot of apiVersion ${JSON.stringify(r.apiVersion)}; this Warden reads ${DIRECTORY_SNAPSHOT_API_VERSION}`,
    );
  const parsed = DirectorySnapshot.safeParse(raw);
  if (!parsed.success) throw new WardenError('ERR_VALIDATION', `--directory ${file}: not a directory snapshot:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The identity mapping with the snapshots' domain aliases and identity links added (the configured mapping wins on a clash). */
export function withSnapshotIdentities(identities: IdentityConfig, index: DirectoryIndex): IdentityConfig {
  const aliases: Record<string, readonly string[]> = { ...index.aliases };
  for (const [person, names] of Object.entries(identities.aliases)) aliases[person] = [...new Set([...(aliases[person] ?? []), ...names])];
  return { domains: { ...index.domains, ...identities.domains }, aliases };
}
