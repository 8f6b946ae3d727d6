/** Opens the read models where a location says they are: a SQLite file (or memory), or PostgreSQL. */
import type Database from 'better-sqlite3';
import type { ReadModelDatabaseOptions } from './database.ts';
import { openPgReadModels } from './pg-read-models.ts';
import type { ReadModelLocation, ReadModelStore } from './read-model-store.ts';
import { openSqliteReadModels } from './sqlite-read-models.ts';

export function openReadModels(
  location: ReadModelLocation | Database.Database,
  options: ReadModelDatabaseOptions = {},
): Promise<ReadModelStore> {
  if (typeof location === 'object' && 'postgres' in location) return openPgReadModels(location.postgres);
  return Promise.resolve(openSqliteReadModels(location, options));
}
