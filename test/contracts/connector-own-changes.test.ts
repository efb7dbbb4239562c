import { ownChangeSuite } from './connector-own-changes.js';
import { WORLDS } from './connector-worlds.js';

for (const world of WORLDS) ownChangeSuite(world.idp, world.start);
