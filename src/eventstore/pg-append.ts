/**
 * A batch of appends as one call of ledger_append (pg-schema.ts): one statement, so one round
 * trip, and, outside any explicit transaction, one commit; the driver answers only after the
 * server has committed it (synchronous_commit on: flushed to the WAL on disk).
 */
import type pg from 'pg';
import { WrongExpectedVersionError } from './errors.ts';
import type { CommitUnit, UnitOutcome } from './group-commit.ts';
import { isTransient } from './pg-errors.ts';
import { MAX_EVENTS_PER_TRANSACTION } from './pg-schema.ts';
import { isStorableText } from './pg-text.ts';
import type { ExpectedRevision, StreamWrite } from './port.ts';

/** Most events one append may carry, so that a full batch of them fits one transaction's ordinals. */
export const MAX_EVENTS_PER_APPEND = 4_096;
/** Most units per batch: MAX_EVENTS_PER_APPEND of each still fit. */
export const MAX_UNITS_PER_BATCH = Math.floor(MAX_EVENTS_PER_TRANSACTION / MAX_EVENTS_PER_APPEND);
/** A deadlock or a concurrent insert of the same event id rolls the batch back; it is tried again this often. */
const ATTEMPTS = 3;

/** Prepared once per connection: a batch costs the server no parse or plan of its own. */
const APPEND = { name: 'ledger_append', text: 'SELECT ledger_append($1::jsonb)::text AS outcomes' } as const;

type RawOutcome =
  | { ok: true; results: { revision: string; position: string; duplicate: boolean }[] }
  | { ok: false; stream: string; expected: string; actual: string };

/**
 * Refuses, before anything is queued, an append the store would not take: more events than one
 * transaction holds, or a name PostgreSQL text cannot hold (a NUL, a lone surrogate). Either would
 * otherwise reach the server inside a shared batch and fail every append committed with it.
 */
export function assertAppendable(writes: readonly StreamWrite[]): void {
  const events = writes.reduce((sum, w) => sum + w.events.length, 0);
  if (events > MAX_EVENTS_PER_APPEND) {
    throw new RangeError(`an append of ${events} events: the PostgreSQL store takes at most ${MAX_EVENTS_PER_APPEND}`);
  }
  for (const write of writes) {
    assertStorableText('stream id', write.streamId);
    for (const e of write.events) {
      assertStorableText('event id', e.id);
      assertStorableText('event type', e.type);
    }
  }
}

function assertStorableText(what: string, text: string): void {
  if (!isStorableText(text)) {
    throw new RangeError(`a ${what} with a NUL or a lone surrogate: PostgreSQL text cannot hold it`);
  }
}

export async function appendBatch(pool: pg.Pool, units: readonly CommitUnit[]): Promise<UnitOutcome[]> {
  const batch = JSON.stringify(units.map((unit) => unit.map(encodeWrite)));
  for (let attempt = 1; ; attempt++) {
    try {
      const { rows } = await pool.query<{ outcomes: string }>({ ...APPEND, values: [batch] });
      return (JSON.parse(rows[0]!.outcomes) as RawOutcome[]).map(decodeOutcome);
    } catch (error) {
      if (attempt >= ATTEMPTS || !isTransient(error)) throw error;
    }
  }
}

const encodeWrite = (write: StreamWrite) => ({
  stream: write.streamId,
  expected: write.expected === 'no_stream' ? '-1' : write.expected.toString(),
  events: write.events.map((e) => ({
    id: e.id,
    type: e.type,
    data: JSON.stringify(e.data),
    metadata: JSON.stringify(e.metadata),
  })),
});

const revisionOf = (text: string): ExpectedRevision => (text === '-1' ? 'no_stream' : BigInt(text));

function decodeOutcome(raw: RawOutcome): UnitOutcome {
  if (!raw.ok) {
    const error = new WrongExpectedVersionError(raw.stream, revisionOf(raw.expected), revisionOf(raw.actual));
    return { ok: false, error };
  }
  const results = raw.results.map((r) => ({
    nextExpectedRevision: BigInt(r.revision),
    position: BigInt(r.position),
    duplicate: r.duplicate,
  }));
  return { ok: true, results };
}
