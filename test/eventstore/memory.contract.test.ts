import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import { runEventStoreContract } from './contract.ts';

runEventStoreContract('memory', async () => openMemoryStore());
