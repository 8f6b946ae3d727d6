/** The one reading of a store URL: which store and where, or a message saying what is accepted. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.ts';
import { StoreUrlSchema } from '../../src/eventstore/store-url.ts';

const test = suite('store URL');

test('memory:, sqlite:<path> and esdb:// URLs name their store and keep the text as given', () => {
  assert.equal(StoreUrlSchema.parse('memory:'), { kind: 'memory', url: 'memory:' });
  assert.equal(StoreUrlSchema.parse('sqlite:./data/x.db'), {
    kind: 'sqlite',
    url: 'sqlite:./data/x.db',
    path: './data/x.db',
  });
  const esdb = 'esdb+discover://u:p@cluster:2113?tls=true';
  assert.equal(StoreUrlSchema.parse(esdb), { kind: 'esdb', url: esdb, connectionString: esdb });
  for (const pg of ['postgres://u:p@db:5432/ledger', 'postgresql://db/ledger?sslmode=require']) {
    assert.equal(StoreUrlSchema.parse(pg), { kind: 'postgres', url: pg, connectionString: pg });
  }
});

test('anything else is refused with what is accepted; an empty sqlite path is refused on its own', () => {
  for (const url of ['postgres:db/ledger', 'pg://db', 'memory', 'sqlite', 'file:./x.db', '']) {
    const parsed = StoreUrlSchema.safeParse(url);
    assert.not.ok(parsed.success, url);
    assert.match(
      parsed.error!.issues[0]!.message,
      /must be sqlite:<path>, memory:, a postgres:\/\/ URL or an esdb:\/\/ connection string/,
      url,
    );
  }
  assert.match(StoreUrlSchema.safeParse('sqlite:').error!.issues[0]!.message, /sqlite: needs a file path/);
});

test('the configuration holds the parsed location; unset means the default SQLite file', () => {
  assert.equal(loadConfig({}).LEDGER_STORE, {
    kind: 'sqlite',
    url: 'sqlite:./data/ledger.db',
    path: './data/ledger.db',
  });
  assert.equal(loadConfig({ LEDGER_STORE: 'memory:' }).LEDGER_STORE, { kind: 'memory', url: 'memory:' });
  assert.throws(() => loadConfig({ LEDGER_STORE: 'sqlite:' }), /LEDGER_STORE: sqlite: needs a file path/);
});

test.run();
