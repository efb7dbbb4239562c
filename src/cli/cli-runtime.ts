import type { OperationRegistry } from '../connector/operation.js';
import type { CliContext, Connector } from '../connector/contract.js';

/** What every command of the CLI gets: where to write, the connectors, the operations. */
export interface CliRuntime extends CliContext {
  connectors: readonly Connector[];
  registry: OperationRegistry;
}
