import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GRAPH_CALLS, graphCallOptInPermissions, graphCallPermissions, type GraphCall } from './graph-calls.js';

/**
 * `infra/terraform/azure/permissions.json`: the application permissions of
 * Warden's app registration, generated from graph-calls.ts (every call
 * the connector makes, with the permission that grants it), with the calls
 * each permission is for, and the permissions main.tf asks for only when a
 * variable says so (`opt_in`: permission → variable). `npm run gen:entra-permissions` writes it; a test
 * fails when it differs from what the code needs.
 */
export function terraformPermissionsJson(): string {
  const required = graphCallPermissions();
  const usedFor: Record<string, string[]> = {};
  for (const [name, op] of Object.entries(GRAPH_CALLS) as Array<[string, GraphCall]>)
    (usedFor[op.permission] ??= []).push(`${op.method} ${op.path} (${name}): ${op.purpose}`);
  return (
    JSON.stringify(
      {
        _comment:
          'Generated from connectors/entra/graph-calls.ts by `npm run gen:entra-permissions`. Do not edit: a test keeps it equal to what the code calls.',
        microsoft_graph: required.microsoftGraph,
        office_365_management_apis: required.office365ManagementApis,
        opt_in: graphCallOptInPermissions(),
        used_for: Object.fromEntries(Object.entries(usedFor).sort(([a], [b]) => a.localeCompare(b))),
      },
      null,
      2,
    ) + '\n'
  );
}

/** Where the generated file lives. */
export function terraformPermissionsFile(root: string): string {
  return path.join(root, 'infra', 'terraform', 'azure', 'permissions.json');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  writeFileSync(terraformPermissionsFile(root), terraformPermissionsJson());
  console.log(`wrote ${terraformPermissionsFile(root)}`);
}
