/**
 * The shared contract against the local PostgreSQL server, each store on a fresh scratch database.
 * Skipped (saying why) when the server cannot be reached; PG_REQUIRED=1 makes that a failure.
 */
import { openPgStore } from '../../src/eventstore/pg-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { createScratchDatabase, pgAvailableOrSkip, type ScratchDatabase } from '../support/postgres.ts';
import { runEventStoreContract } from './contract.ts';

if (await pgAvailableOrSkip('postgres contract suite')) {
  const databases = new Map<EventStore, ScratchDatabase>();
  runEventStoreContract(
    'postgres',
    async () => {
      const database = await createScratchDatabase();
      const store = await openPgStore(database.url);
      databases.set(store, database);
      return store;
    },
    async (store) => {
      await store.close();
      await databases.get(store)?.drop();
    },
  );
}
