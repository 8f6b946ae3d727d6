/**
 * What the EventStoreDB client hands back for records it cannot parse (it never throws: data
 * that is not JSON comes as text or bytes, metadata as bytes, a missing time as the epoch) is a
 * CorruptEventError naming stream, revision and position, as the SQLite adapter names its rows.
 */
import type { RecordedEvent as EsdbRecordedEvent } from '@eventstore/db-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toRecorded } from '../../src/eventstore/esdb-records.ts';
import { CorruptEventError } from '../../src/eventstore/errors.ts';

const test = suite('esdb: records the client could not parse');

const record = (overrides: Partial<EsdbRecordedEvent>): EsdbRecordedEvent =>
  ({
    streamId: 'order-e',
    id: '00000000-0000-4000-8000-000000000001',
    revision: 3n,
    type: 'PaymentCaptured',
    data: { orderId: 'e' },
    metadata: { hash: 'x' },
    isJson: true,
    created: new Date('2024-05-01T10:00:00.000Z'),
    position: { commit: 42n, prepare: 42n },
    ...overrides,
  }) as EsdbRecordedEvent;

test('a readable record passes, its commit position as the position', () => {
  const recorded = toRecorded(record({}));
  const { streamId, revision, position, data } = recorded;
  assert.equal([streamId, revision, position, data], ['order-e', 3n, 42n, { orderId: 'e' }]);
});

const broken: Array<[string, Partial<EsdbRecordedEvent>, RegExp]> = [
  ['data that is not JSON (left as text)', { data: '{"orderId": "e",' as never }, /data is not a JSON object/],
  ['data that is not an object', { data: [1, 2] as never }, /data is not a JSON object/],
  ['binary data', { isJson: false, data: new Uint8Array([1, 2]) as never }, /data is not a JSON object/],
  ['metadata that is not JSON (left as bytes)', { metadata: new Uint8Array([104, 61]) as never }, /metadata is not/],
  ['no creation time (the epoch)', { created: new Date(0) }, /no creation time/],
];

for (const [name, overrides, problem] of broken) {
  test(`${name}: a CorruptEventError naming stream, revision and position`, () => {
    let error: unknown;
    try {
      toRecorded(record(overrides));
    } catch (caught) {
      error = caught;
    }
    assert.instance(error, CorruptEventError);
    const e = error as CorruptEventError;
    assert.equal([e.streamId, e.revision, e.position], ['order-e', 3n, 42n]);
    assert.match(e.problem, problem);
  });
}

test.run();
