/**
 * The PostgreSQL log's schema: the events, one row per stream holding its head, and the append
 * function that checks every expectation and writes a whole batch in one statement (one round
 * trip, one commit).
 *
 * Positions and visibility. A position is `transaction_id << 20 | ordinal`: the top-level
 * transaction id (xid8, from pg_current_xact_id()) of the append that wrote the event, and the
 * event's 1-based place within that transaction. Readers see only events whose transaction id is
 * below pg_snapshot_xmin(pg_current_snapshot()): every transaction below that bound has ended, so
 * what a reader sees below it is final, and every transaction still running (or not yet begun)
 * has an id at or above it, hence positions above everything already read. A reader that has
 * seen position p can therefore never be handed, later, an event below p: the sequence-gap bug
 * (an identity value taken by a transaction that commits after a higher one was read) cannot
 * happen, because the order is the transaction ids' order, not the order values were drawn in.
 * The cost: an open transaction anywhere in the cluster holds the bound back, and readers wait
 * for it (they lag, they never skip); keep transactions short (idle_in_transaction_session_timeout).
 * 2^20 events per transaction and 2^43 transaction ids fit in a bigint.
 */
import type pg from 'pg';
import { createUnderLock } from './pg-ddl.ts';

/** A position's low bits: the event's place in its transaction (see above). */
export const ORDINAL_BITS = 20;
/** What one call of the append function may write: its ordinals must fit in ORDINAL_BITS. */
export const MAX_EVENTS_PER_TRANSACTION = (1 << ORDINAL_BITS) - 1;
/** The channel every append notifies when it commits. */
export const NOTIFY_CHANNEL = 'ledger_events';

/** Serialises schema creation between servers starting together on an empty database. */
const SCHEMA_LOCK = 7_310_554_211_015_102_001n;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger_events (
    position       bigint      PRIMARY KEY,
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    id             text        NOT NULL UNIQUE,
    stream_id      text        NOT NULL,
    revision       bigint      NOT NULL CHECK (revision >= 0),
    type           text        NOT NULL,
    data           json        NOT NULL,
    metadata       json        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, revision),
    -- The visibility argument rests on this: a position is its transaction's id, then an ordinal.
    CHECK (position >> ${ORDINAL_BITS} = transaction_id::text::bigint)
  );

  -- A stream's head; revision -1 while it has no event. Its row lock is the append fence.
  CREATE TABLE IF NOT EXISTS ledger_streams (
    stream_id text   PRIMARY KEY,
    revision  bigint NOT NULL CHECK (revision >= -1)
  );

  -- batch: [unit, …]; unit: [{stream, expected (-1 = no stream), events: [{id, type, data, metadata}]}, …],
  -- data and metadata as JSON text (kept byte for byte). Answers one outcome per unit:
  -- {ok: true, results: [{revision, position, duplicate}]} or {ok: false, stream, expected, actual}.
  -- The outcomes are those of running the units one after another; the work is set-based. The
  -- units that share no stream and no event id with an earlier unit of the batch (usually all)
  -- are checked and written by one statement; each of the others, by the same statement on its
  -- own, after every unit before it.
  -- Plans: every lookup here is by a unique key, but PL/pgSQL caches its plans per session, and
  -- plans made while a new database's tables are small would scan them whole (each append then
  -- costs time in proportion to the log, until an ANALYZE). Sequential scans, hash and merge
  -- joins off: every row of the batch finds its rows through an index.
  CREATE OR REPLACE FUNCTION ledger_append(batch jsonb) RETURNS jsonb LANGUAGE plpgsql
  SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off
  SET plan_cache_mode = force_generic_plan AS $fn$
  DECLARE
    base     bigint := pg_current_xact_id()::text::bigint << ${ORDINAL_BITS};
    used     bigint := 0;
    total    bigint;
    streams  text[];
    created  text[];
    later    int[];
    repeated int[];
    units    int[];
    written  bigint;
    part_units    int[];
    part_outcomes text[];
    done     int[]  := '{}';
    outcomes text[] := '{}';
  BEGIN
    -- The batch's streams (sorted: the one lock order of every writer), its size, the units that
    -- must wait for an earlier one (a stream or an event id in common), and the units that name an
    -- id twice themselves: those fail alone, as the embedded stores fail them, rather than reach
    -- the unique index, which would undo the whole batch and fail every neighbour with it.
    WITH writes AS (
      SELECT u.ord::int AS unit, x.value AS w
      FROM jsonb_array_elements(batch) WITH ORDINALITY u(value, ord), jsonb_array_elements(u.value) x
    ), keys AS (
      SELECT writes.unit, 's' || (w->>'stream') AS key FROM writes
      UNION ALL
      SELECT writes.unit, 'i' || (e->>'id') FROM writes, jsonb_array_elements(w->'events') e
    )
    SELECT (SELECT array_agg(DISTINCT w->>'stream' ORDER BY w->>'stream') FROM writes),
           (SELECT coalesce(sum(jsonb_array_length(w->'events')), 0) FROM writes),
           (SELECT array_agg(DISTINCT k.unit ORDER BY k.unit)
              FROM (SELECT keys.unit, min(keys.unit) OVER (PARTITION BY keys.key) AS first FROM keys) k
              WHERE k.first < k.unit),
           (SELECT array_agg(DISTINCT r.unit)
              FROM (SELECT keys.unit FROM keys WHERE keys.key LIKE 'i%' GROUP BY keys.unit, keys.key HAVING count(*) > 1) r)
      INTO streams, total, later, repeated;
    IF total > ${MAX_EVENTS_PER_TRANSACTION} THEN
      RAISE EXCEPTION 'more than % events in one append transaction', ${MAX_EVENTS_PER_TRANSACTION}
        USING ERRCODE = 'program_limit_exceeded';
    END IF;
    later := coalesce(later, '{}');
    repeated := coalesce(repeated, '{}');

    -- Every stream of the batch locked up front, in one order for all writers: batches never
    -- deadlock. A head row this transaction creates is its own until it commits (a concurrent
    -- insert of it waits for that), so only the heads that were there already take a row lock.
    WITH made AS (
      INSERT INTO ledger_streams (stream_id, revision) SELECT s, -1 FROM unnest(streams) s
      ON CONFLICT (stream_id) DO NOTHING RETURNING stream_id
    )
    SELECT coalesce(array_agg(stream_id), '{}') INTO created FROM made;
    IF cardinality(created) < coalesce(cardinality(streams), 0) THEN
      PERFORM 1 FROM ledger_streams WHERE stream_id = ANY (streams) AND NOT stream_id = ANY (created)
        ORDER BY stream_id FOR UPDATE;
    END IF;

    FOR step IN 0 .. cardinality(later) LOOP
      units := CASE WHEN step = 0
        THEN ARRAY(SELECT i FROM generate_series(1, jsonb_array_length(batch)) i WHERE NOT i = ANY (later))
        ELSE ARRAY[later[step]] END;
      -- Each write: an append (at its stream's head, no id of it stored anywhere or repeated in its unit), an idempotent
      -- re-append (exactly these ids stored from the expected revision on), or a failure, which
      -- fails its unit whole. Then the appends of the units that passed, and their new heads.
      WITH w AS MATERIALIZED (
        SELECT u.ord::int AS unit, x.ord::int AS wno, x.value->>'stream' AS stream,
               (x.value->>'expected')::bigint AS expected, x.value->'events' AS events,
               jsonb_array_length(x.value->'events')::bigint AS n,
               ARRAY(SELECT e->>'id' FROM jsonb_array_elements(x.value->'events') e) AS ids,
               (SELECT revision FROM ledger_streams WHERE stream_id = x.value->>'stream') AS head
        -- A unit of no writes is one row of no write: it passes, with no results.
        FROM jsonb_array_elements(batch) WITH ORDINALITY u(value, ord)
          LEFT JOIN LATERAL jsonb_array_elements(u.value) WITH ORDINALITY x(value, ord) ON true
        WHERE u.ord = ANY (units)
      ), checked AS MATERIALIZED (
        SELECT w.*, CASE
          WHEN w.wno IS NULL THEN 'none'
          WHEN w.expected = w.head AND NOT w.unit = ANY (repeated) AND NOT EXISTS (SELECT FROM ledger_events WHERE id = ANY (w.ids)) THEN 'append'
          WHEN w.expected < w.head AND w.n > 0 AND w.ids = ARRAY(
            SELECT id FROM ledger_events
            WHERE stream_id = w.stream AND revision > w.expected AND revision <= w.expected + w.n ORDER BY revision)
            THEN 'duplicate'
          END AS verdict
        FROM w
      ), judged AS MATERIALIZED (
        SELECT checked.*, bool_and(verdict IS NOT NULL) OVER (PARTITION BY checked.unit) AS passed,
               min(wno) FILTER (WHERE verdict IS NULL) OVER (PARTITION BY checked.unit) AS failing
        FROM checked
      ), plan AS MATERIALIZED (
        SELECT judged.*, passed AND verdict = 'append' AS appends,
               used + coalesce(sum(CASE WHEN passed AND verdict = 'append' THEN judged.n END)
                 OVER (ORDER BY judged.unit, wno ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS start
        FROM judged
      ), inserted AS (
        INSERT INTO ledger_events (position, stream_id, revision, id, type, data, metadata)
          SELECT base + p.start + e.ord, p.stream, p.head + e.ord, e.id, e.type, e.data::json, e.metadata::json
          FROM plan p, ROWS FROM (jsonb_to_recordset(p.events) AS (id text, type text, data text, metadata text))
            WITH ORDINALITY AS e (id, type, data, metadata, ord)
          WHERE p.appends
      ), moved AS (
        UPDATE ledger_streams s SET revision = p.head + p.n FROM plan p WHERE p.appends AND s.stream_id = p.stream
      ), results AS (
        -- A unit's outcome as text: its results, or its first failure. Window aggregates (one sort
        -- for the batch) rather than ordered aggregates per unit (one sort each).
        SELECT p.unit, p.wno, p.passed, string_agg(CASE
            WHEN NOT p.passed THEN CASE WHEN p.wno = p.failing THEN '{"ok": false, "stream": ' || to_json(p.stream)
              || ', "expected": "' || p.expected || '", "actual": "' || p.head || '"}' END
            WHEN p.verdict = 'append' THEN '{"revision": "' || p.head + p.n || '", "position": "'
              || base + p.start + p.n || '", "duplicate": false}'
            WHEN p.verdict = 'duplicate' THEN '{"revision": "' || p.expected + p.n || '", "position": "' || (
              SELECT max(position) FROM ledger_events
              WHERE stream_id = p.stream AND revision > p.expected AND revision <= p.expected + p.n)
              || '", "duplicate": true}'
          END, ', ') OVER (PARTITION BY p.unit ORDER BY p.wno ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            AS pieces
        FROM plan p
      )
      SELECT coalesce(array_agg(r.unit), '{}'),
             coalesce(array_agg(CASE WHEN r.passed THEN '{"ok": true, "results": [' || coalesce(r.pieces, '') || ']}'
               ELSE r.pieces END), '{}'),
             (SELECT coalesce(sum(p.n), 0) FROM plan p WHERE p.appends)
        INTO part_units, part_outcomes, written FROM results r WHERE coalesce(r.wno, 1) = 1;
      done := done || part_units;
      outcomes := outcomes || part_outcomes;
      used := used + written;
    END LOOP;

    -- Delivered when (and only if) this transaction commits.
    IF used > 0 THEN PERFORM pg_notify('${NOTIFY_CHANNEL}', ''); END IF;
    -- The outcomes are built as text, in the shape jsonb would give them, and parsed once: a
    -- jsonb value built per row, per unit and per batch cost a fifth of the function's time.
    RETURN ('[' || coalesce((SELECT string_agg(t.o, ', ' ORDER BY t.u) FROM unnest(done, outcomes) t(u, o)), '') || ']')::jsonb;
  END
  $fn$;
`;

/** Creates what is missing (tables, the append function), one server at a time. */
export function ensureSchema(pool: pg.Pool): Promise<void> {
  return createUnderLock(pool, SCHEMA_LOCK, SCHEMA, 'ledger_events');
}
