import { brokerSuite } from './connector-broker.js';
import { WORLDS } from './connector-worlds.js';

// A third IdP passes this suite or is not done (connectors/README.md).
for (const world of WORLDS) brokerSuite(world.idp, world.start);
