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
  -- enable_seqscan off: every lookup here is by a unique key, but PL/pgSQL caches its plans per
  -- session, and plans made while the tables were small (a new database) scan them whole: each
  -- append then costs time in proportion to the log, until an ANALYZE replaces the plans.
  CREATE OR REPLACE FUNCTION ledger_append(batch jsonb) RETURNS jsonb LANGUAGE plpgsql
  SET enable_seqscan = off AS $fn$
  DECLARE
    base     bigint := pg_current_xact_id()::text::bigint << ${ORDINAL_BITS};
    ordinal  bigint := 0;
    outcomes jsonb  := '[]';
    unit     jsonb;
    w        jsonb;
    plans    jsonb;
    results  jsonb;
    failure  jsonb;
    sid      text;
    expected bigint;
    head     bigint;
    n        bigint;
    ids      text[];
    stored   text[];
    last_rev bigint;
    last_pos bigint;
    written  boolean := false;
  BEGIN
    -- Every stream of the batch locked up front, in one order for all writers: batches never deadlock.
    FOR sid IN SELECT DISTINCT x->>'stream' FROM jsonb_array_elements(batch) u, jsonb_array_elements(u) x ORDER BY 1
    LOOP
      INSERT INTO ledger_streams (stream_id, revision) VALUES (sid, -1) ON CONFLICT (stream_id) DO NOTHING;
      PERFORM 1 FROM ledger_streams WHERE stream_id = sid FOR UPDATE;
    END LOOP;

    FOR unit IN SELECT value FROM jsonb_array_elements(batch) LOOP
      -- Every write of the unit is checked before any is made: a unit is written whole or not at all.
      plans := '[]';
      failure := NULL;
      FOR w IN SELECT value FROM jsonb_array_elements(unit) LOOP
        sid := w->>'stream';
        expected := (w->>'expected')::bigint;
        n := jsonb_array_length(w->'events');
        ids := ARRAY(SELECT e->>'id' FROM jsonb_array_elements(w->'events') e);
        SELECT revision INTO head FROM ledger_streams WHERE stream_id = sid;
        IF expected = head AND NOT EXISTS (SELECT 1 FROM ledger_events WHERE id = ANY (ids)) THEN
          plans := plans || jsonb_build_array(jsonb_build_object('append', true, 'head', head, 'w', w));
          CONTINUE;
        END IF;
        -- The idempotent re-append: exactly these ids already stored from the expected revision on.
        IF expected < head AND n > 0 THEN
          SELECT array_agg(id ORDER BY revision), max(revision), max(position) INTO stored, last_rev, last_pos
            FROM ledger_events WHERE stream_id = sid AND revision > expected AND revision <= expected + n;
          IF stored = ids THEN
            plans := plans || jsonb_build_array(jsonb_build_object(
              'append', false, 'revision', last_rev::text, 'position', last_pos::text));
            CONTINUE;
          END IF;
        END IF;
        failure := jsonb_build_object('ok', false, 'stream', sid, 'expected', expected::text, 'actual', head::text);
        EXIT;
      END LOOP;
      IF failure IS NOT NULL THEN
        outcomes := outcomes || jsonb_build_array(failure);
        CONTINUE;
      END IF;

      results := '[]';
      FOR w IN SELECT value FROM jsonb_array_elements(plans) LOOP
        IF NOT (w->>'append')::boolean THEN
          results := results || jsonb_build_array(jsonb_build_object(
            'revision', w->>'revision', 'position', w->>'position', 'duplicate', true));
          CONTINUE;
        END IF;
        head := (w->>'head')::bigint;
        sid := w->'w'->>'stream';
        n := jsonb_array_length(w->'w'->'events');
        IF ordinal + n > ${MAX_EVENTS_PER_TRANSACTION} THEN
          RAISE EXCEPTION 'more than % events in one append transaction', ${MAX_EVENTS_PER_TRANSACTION}
            USING ERRCODE = 'program_limit_exceeded';
        END IF;
        INSERT INTO ledger_events (position, stream_id, revision, id, type, data, metadata)
          SELECT base + ordinal + e.ord, sid, head + e.ord, e.id, e.type, e.data::json, e.metadata::json
          FROM ROWS FROM (jsonb_to_recordset(w->'w'->'events') AS (id text, type text, data text, metadata text))
            WITH ORDINALITY AS e (id, type, data, metadata, ord);
        UPDATE ledger_streams SET revision = head + n WHERE stream_id = sid;
        ordinal := ordinal + n;
        written := true;
        results := results || jsonb_build_array(jsonb_build_object(
          'revision', (head + n)::text, 'position', (base + ordinal)::text, 'duplicate', false));
      END LOOP;
      outcomes := outcomes || jsonb_build_array(jsonb_build_object('ok', true, 'results', results));
    END LOOP;

    -- Delivered when (and only if) this transaction commits.
    IF written THEN PERFORM pg_notify('${NOTIFY_CHANNEL}', ''); END IF;
    RETURN outcomes;
  END
  $fn$;
`;

/** Creates what is missing (tables, the append function), one server at a time. */
export function ensureSchema(pool: pg.Pool): Promise<void> {
  return createUnderLock(pool, SCHEMA_LOCK, SCHEMA);
}
