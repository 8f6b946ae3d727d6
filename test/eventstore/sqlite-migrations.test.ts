/**
 * The SQLite log's migrations: a file made before they existed (release 0.1.0) is brought to the
 * current schema version and still audits clean; later migrations run once, in order, even when
 * several processes open the same old file at once; a file from a newer release is refused.
 */
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreUnavailableError } from '../../src/eventstore/errors.ts';
import { LOG_MIGRATIONS, type Migration, migrate } from '../../src/eventstore/sqlite-migrations.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { ledger } from '../cli/run.ts';
import { tempDir } from '../support/temp.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/v0.1.0/ledger.db', import.meta.url));
const LATEST = LOG_MIGRATIONS.at(-1)!.version;

const versionOf = (path: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};

function copyOfOldFile(): string {
  const path = join(tempDir('migrations'), 'ledger.db');
  copyFileSync(FIXTURE, path);
  return path;
}

test('a 0.1.0 file (schema version 0) opens at the latest version with every event kept, and audits clean', async () => {
  const path = copyOfOldFile();
  assert.is(versionOf(path), 0, 'the fixture predates migrations');
  const before = new Database(path, { readonly: true });
  const count = (before.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  before.close();
  const store = openSqliteStore(path);
  const head = await store.headPosition();
  await store.close();
  assert.is(versionOf(path), LATEST);
  const after = new Database(path, { readonly: true });
  assert.is((after.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, count);
  after.close();
  assert.ok(head !== undefined && head > 0n);
  const audit = await ledger(['replay', '--store', `sqlite:${path}`, '--json']);
  assert.is(audit.code, 0, audit.stderr);
});

const withIndex: readonly Migration[] = [
  ...LOG_MIGRATIONS,
  {
    version: LATEST + 1,
    description: 'test: an index, and a row that counts how often this migration ran',
    sql: `CREATE INDEX events_by_type ON events (type);
          CREATE TABLE IF NOT EXISTS migration_runs (n INTEGER);
          INSERT INTO migration_runs VALUES (1);`,
  },
];

test('later migrations apply in order, once, and an up-to-date file is left alone', () => {
  const path = copyOfOldFile();
  const db = new Database(path);
  assert.equal(migrate(db, withIndex), { from: 0, to: LATEST + 1 });
  assert.equal(migrate(db, withIndex), { from: LATEST + 1, to: LATEST + 1 });
  assert.is((db.prepare('SELECT count(*) AS n FROM migration_runs').get() as { n: number }).n, 1);
  db.close();
  assert.is(versionOf(path), LATEST + 1);
});

test('a failing migration leaves the file at its old version, with nothing of it applied', () => {
  const path = copyOfOldFile();
  const db = new Database(path);
  const broken: Migration[] = [
    ...LOG_MIGRATIONS,
    { version: LATEST + 1, description: 'test: fails half-way', sql: 'CREATE TABLE half (x); SELECT * FROM nowhere;' },
  ];
  assert.throws(() => migrate(db, broken));
  assert.is(db.pragma('user_version', { simple: true }), 0);
  const half = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get() as { n: number };
  assert.is(half.n, 0);
  db.close();
});

test('a file from a newer release is refused with a typed error, not opened', () => {
  const path = copyOfOldFile();
  const db = new Database(path);
  db.pragma(`user_version = ${LATEST + 7}`);
  db.close();
  assert.throws(
    () => openSqliteStore(path),
    (error: unknown) => error instanceof StoreUnavailableError && /newer than this release/.test(error.message),
  );
});

test('four processes opening one old file at once migrate it exactly once', async () => {
  const path = copyOfOldFile();
  const script = `
    import Database from 'better-sqlite3';
    import { migrate, LOG_MIGRATIONS } from ${JSON.stringify(new URL('../../src/eventstore/sqlite-migrations.ts', import.meta.url).href)};
    const db = new Database(process.argv[1], { timeout: 10000 });
    db.pragma('journal_mode = WAL');
    const migrations = [...LOG_MIGRATIONS, { version: ${LATEST + 1}, description: 'count', sql:
      'CREATE TABLE IF NOT EXISTS migration_runs (n INTEGER); INSERT INTO migration_runs VALUES (1);' }];
    process.stdout.write(JSON.stringify(migrate(db, migrations)));
    db.close();`;
  const outputs = await Promise.all(
    Array.from(
      { length: 4 },
      () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk;
          });
          child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
        }),
    ),
  );
  const fromOld = outputs.map((text) => JSON.parse(text) as { from: number }).filter((result) => result.from === 0);
  assert.is(fromOld.length, 1, 'one process migrated; the others found it done');
  const db = new Database(path, { readonly: true });
  assert.is((db.prepare('SELECT count(*) AS n FROM migration_runs').get() as { n: number }).n, 1);
  db.close();
});

test.run();
