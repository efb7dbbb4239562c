import type { OperationRegistry } from '../admin/operations.js';
import type { CliContext, WardenPlugin } from '../connector/contract.js';

/** What every command of the CLI gets: where to write, the connectors, the operations. */
export interface CliRuntime extends CliContext {
  plugins: readonly WardenPlugin[];
  registry: OperationRegistry;
}
