import type { Connector, DemoKit } from '../src/connector/index.js';
import { itsmConnector } from './itsm/index.js';
import { okta } from './okta/index.js';
import { entra } from './entra/index.js';
import { ssf } from './ssf/index.js';

/**
 * The connectors this build of Warden ships. The executable (bin/warden.js)
 * hands this list to the CLI and the server; src/ never imports connectors/.
 * Each connector lives in its own folder and implements src/connector/contract.ts.
 */
export const connectors: readonly Connector[] = [okta, entra, itsmConnector(), ssf];

/** The simulators `warden demo` runs (connectors/demo), loaded only when the demo starts. */
export const demoKit = async (): Promise<DemoKit> => (await import('./demo/demo-simulators.js')).demoKit;
