import type { OperationRegistry } from '../connector/operation.js';
import type { CliContext, WardenPlugin } from '../connector/contract.js';

/** What every command of the CLI gets: where to write, the connectors, the operations. */
export interface CliRuntime extends CliContext {
  plugins: readonly WardenPlugin[];
  registry: OperationRegistry;
}
