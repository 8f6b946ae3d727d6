import { join } from 'node:path';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { tempDir } from '../support/temp.ts';
import { runEventStoreContract } from './contract.ts';

const dir = tempDir('sqlite-contract');
let n = 0;
runEventStoreContract('sqlite', async () => openSqliteStore(join(dir, `contract-${++n}.db`)));
