import { pgliteTestStore } from '../helpers/test-stores.js';
import { storeContract } from './store.contract.js';

storeContract('pglite', pgliteTestStore);
