import { enforcerSuite } from './connector-enforcer.js';
import { WORLDS } from './connector-worlds.js';

// A third IdP passes this suite or is not done (connectors/README.md).
for (const world of WORLDS) enforcerSuite(world.idp, world.start);
