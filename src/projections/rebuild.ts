/**
 * Rebuilding without a store: feed any sequence of decoded events through the same exactly-once
 * step the runner uses, into a (scratch) read-model database; then list or compare documents.
 * This is what `ledger replay` needs to check the live read models against the log.
 */
import type Database from 'better-sqlite3';
import { projections as allProjections } from '../../projections/index.ts';
import type { Projection } from '../../projections/projection.ts';
import type { LedgerEvent } from '../events/codec.ts';
import { canonicalJson } from '../events/canonical.ts';
import type { ProjectionFailure } from './checkpoints.ts';
import type { StoredDocument } from './documents.ts';
import { openReadModels } from './open-read-models.ts';
import type { ReadModelLocation, ReadModelStore } from './read-model-store.ts';
import { ProjectionEngine, type ProjectionLogger } from './engine.ts';
import { fedFromLedgerEvent, type FedEvent } from './feed.ts';
import { ProjectionNotServingError } from './queries.ts';

export interface RebuildOptions {
  readonly projections?: readonly Projection[];
  /** Events per transaction (default 5000: nobody else writes to a scratch database). */
  readonly batchSize?: number;
  readonly onProgress?: (events: number, position: bigint) => void;
  readonly logger?: ProjectionLogger;
}

export interface RebuildSummary {
  readonly events: number;
  readonly position: bigint | undefined;
  /** Projections whose handlers threw: each stopped at that event and was not swapped in. */
  readonly failures: ReadonlyArray<{ readonly projection: string } & ProjectionFailure>;
}

/**
 * Builds a new generation of every projection from `events` (in global order) beside whatever
 * the database holds, then swaps it in. Opening by path creates the file if needed.
 */
export async function rebuildInto(
  target: ReadModelLocation | Database.Database,
  events: AsyncIterable<LedgerEvent> | Iterable<LedgerEvent>,
  options: RebuildOptions = {},
): Promise<RebuildSummary> {
  const projections = options.projections ?? allProjections;
  const readModels = await openReadModels(target);
  try {
    const engine = new ProjectionEngine(readModels, projections, {
      mode: 'rebuild',
      ...(options.logger && { logger: options.logger }),
    });
    await engine.plan();
    const batchSize = options.batchSize ?? 5_000;
    let batch: FedEvent[] = [];
    let count = 0;
    let position: bigint | undefined;
    const flush = async (): Promise<void> => {
      if ((await engine.apply(batch)) === 'moved')
        throw new Error('another runner is writing to this read-model database; a scratch rebuild needs it to itself');
      options.onProgress?.(count, position ?? 0n);
      batch = [];
    };
    for await (const event of events) {
      batch.push(fedFromLedgerEvent(event));
      count += 1;
      position = event.position;
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    await engine.promote(position);
    const failures = engine.lanes.flatMap((lane) =>
      lane.failure ? [{ projection: lane.projection.name, ...lane.failure }] : [],
    );
    return { events: count, position, failures };
  } finally {
    await readModels.close();
  }
}

/** Every document a projection serves, in (collection, key) order. */
export async function* listDocuments(readModels: ReadModelStore, projection: string): AsyncGenerator<StoredDocument> {
  const rows = await readModels.generations();
  const served = rows.find((row) => row.projection === projection && row.status === 'active');
  if (!served) throw new ProjectionNotServingError(projection);
  yield* readModels.listDocuments(projection, served.generation);
}

export interface DocumentDifference {
  readonly collection: string;
  readonly key: string;
  /** Absent when only the other side has the document. */
  readonly live?: unknown;
  readonly replayed?: unknown;
}

/**
 * Merge-compares two (collection, key)-ordered document lists, such as listDocuments of the
 * live database and of a scratch rebuild. Both stores list in UTF-8 byte order (SQLite's BINARY,
 * PostgreSQL's "C" collation); keys are ASCII (entity ids, days), where that is JavaScript's
 * string order too. Documents are compared as canonical JSON (key order ignored).
 */
export async function* diffDocuments(
  live: AsyncIterable<StoredDocument>,
  replayed: AsyncIterable<StoredDocument>,
): AsyncGenerator<DocumentDifference> {
  const left = live[Symbol.asyncIterator]();
  const right = replayed[Symbol.asyncIterator]();
  let a = await left.next();
  let b = await right.next();
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : compare(a.value, b.value);
    if (order < 0 && !a.done) {
      yield { collection: a.value.collection, key: a.value.key, live: a.value.doc };
      a = await left.next();
    } else if (order > 0 && !b.done) {
      yield { collection: b.value.collection, key: b.value.key, replayed: b.value.doc };
      b = await right.next();
    } else if (!a.done && !b.done) {
      if (canonicalJson(a.value.doc) !== canonicalJson(b.value.doc)) {
        yield { collection: a.value.collection, key: a.value.key, live: a.value.doc, replayed: b.value.doc };
      }
      a = await left.next();
      b = await right.next();
    }
  }
}

function compare(a: StoredDocument, b: StoredDocument): number {
  if (a.collection !== b.collection) return a.collection < b.collection ? -1 : 1;
  return a.key === b.key ? 0 : a.key < b.key ? -1 : 1;
}
