import { describe } from 'vitest';
import { postgresTestStore, postgresUrl } from '../helpers/test-stores.js';
import { storeContract } from './store.contract.js';

// The global setup sets postgresUrl whenever a PostgreSQL is reachable (CI: always); only a
// machine without one skips this half, and the setup prints that it did.
describe.skipIf(!postgresUrl)('PostgreSQL driver', () => {
  storeContract('postgres', postgresTestStore);
});
