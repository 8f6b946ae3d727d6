/**
 * The read models in the log's own PostgreSQL database, so every server behind one database
 * serves the same read models, and a batch's documents commit with its checkpoint. One server at
 * a time projects (pg-runner-lease.ts); the others serve reads and wait for positions, woken by
 * the notification each batch sends as it commits.
 */
import type pg from 'pg';
import { isTransient, pgStoreError } from '../eventstore/pg-errors.ts';
import { openSchemaPool } from '../eventstore/pg-pool.ts';
import { pgConnectionConfig } from '../eventstore/pg-store.ts';
import { listenForCommits } from '../eventstore/pg-subscription.ts';
import { isStorableText } from '../eventstore/pg-text.ts';
import type { ProcessorCheckpoint } from '../payments/processor-checkpoint.ts';
import { servedFrom } from './checkpoints.ts';
import * as checkpoints from './pg-read-model-checkpoints.ts';
import * as documents from './pg-read-model-documents.ts';
import {
  createPgIndexes,
  dropPgIndexes,
  ensureReadModelSchema,
  READ_MODEL_CHANNEL,
  READ_MODEL_LOCK,
} from './pg-read-model-schema.ts';
import { acquireRunnerLease } from './pg-runner-lease.ts';
import type { ReadModelStore } from './read-model-store.ts';

export interface PgReadModelOptions {
  readonly poolSize?: number;
}

export async function openPgReadModels(
  connectionString: string,
  options: PgReadModelOptions = {},
): Promise<ReadModelStore> {
  const connection = pgConnectionConfig(connectionString);
  const pool = await openSchemaPool(connection, options.poolSize ?? 4, ensureReadModelSchema);

  /** Every call in the port's error terms: a lost server is StoreUnavailableError (503), not a driver error. */
  async function mapped<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw pgStoreError(error);
    }
  }

  function inTransaction<T>(begin: string, work: (client: pg.PoolClient) => Promise<T>, raw = false): Promise<T> {
    const run = async () => {
      const client = await pool.connect();
      try {
        await client.query(begin);
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    };
    return raw ? run() : mapped(run);
  }
  const write = <T>(work: (client: pg.PoolClient) => Promise<T>) => inTransaction('BEGIN', work);
  /** Planning and swaps lock rows and the documents' table; a deadlock or serialisation failure is run again. */
  async function writeRetried<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inTransaction('BEGIN', work, true);
      } catch (error) {
        if (attempt >= 5 || !isTransient(error)) throw pgStoreError(error);
        await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
      }
    }
  }
  /** One snapshot for the whole read, so a swap by another server never shows a mix of two generations. */
  const read = <T>(work: (client: pg.PoolClient) => Promise<T>) =>
    inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', work);
  const planning = async (client: pg.PoolClient) =>
    client.query('SELECT pg_advisory_xact_lock($1)', [READ_MODEL_LOCK.toString()]);

  return {
    kind: 'postgres',

    planGenerations: (projections, decide) =>
      writeRetried(async (client) => {
        await planning(client);
        const planned = [];
        for (const projection of projections) {
          const plan = decide(projection, await checkpoints.generationsOf(client, projection.name));
          if (plan.retire !== undefined)
            await checkpoints.setStatus(client, projection.name, plan.retire, 'building', 'retired');
          const created = plan.create ? await checkpoints.createBuilding(client, projection) : undefined;
          if (plan.active) await createPgIndexes(client, projection, plan.active.generation);
          planned.push({ plan, created });
        }
        return planned;
      }),

    generations: () => mapped(() => checkpoints.allGenerations(pool)),

    servedPositions: (names) =>
      mapped(async () => {
        const { rows } = await pool.query<{ projection: string; position: string | null }>(
          `SELECT projection, position FROM ledger_rm_checkpoints WHERE status = 'active' AND projection = ANY($1)`,
          [names],
        );
        const served = new Map<string, bigint | undefined>(names.map((name) => [name, undefined]));
        for (const row of rows) served.set(row.projection, row.position === null ? undefined : BigInt(row.position));
        return served;
      }),

    readServed: (projection, query, usable) =>
      read(async (client) => {
        const { active, failure } = servedFrom(await checkpoints.generationsOf(client, projection));
        const found =
          active && !failure && usable(active)
            ? await documents.servedDocuments(client, { projection, generation: active.generation }, query)
            : [];
        return { active, failure, documents: found };
      }),

    unstorable: ({ collection, key, json }) => {
      if (!isStorableText(collection) || !isStorableText(key))
        return 'PostgreSQL text cannot hold U+0000 or a lone surrogate';
      // json keeps an escaped NUL or lone surrogate, but extracting it as text (the indexes do) fails.
      if (UNEXTRACTABLE_ESCAPE.test(json))
        return 'PostgreSQL cannot extract U+0000 or a lone surrogate from a JSON document as text';
      return undefined;
    },

    // A key the tables cannot hold was never stored: it is absent, not sent (the driver or the server would refuse it).
    readDocuments: (projection, generation, ids) =>
      mapped(() =>
        documents.readDocuments(
          pool,
          { projection, generation },
          ids.filter((id) => isStorableText(id.collection) && isStorableText(id.key)),
        ),
      ),

    commitBatch: (writes) =>
      write(async (client) => {
        // Read models are rebuilt from the log and their checkpoint commits with them: a commit
        // lost to a crash is applied again, never half-applied, so no flush waits for the disk.
        await client.query('SET LOCAL synchronous_commit = off');
        const held: boolean[] = [];
        for (const lane of writes) {
          // A failure recorded where the checkpoint stays is fenced the same way (to = from).
          if (!(await checkpoints.advance(client, lane, lane.from, lane.to ?? lane.from))) {
            held.push(false);
            continue;
          }
          await documents.deleteDocuments(client, lane, lane.deletes);
          await documents.putDocuments(client, lane, lane.puts);
          if (lane.failure) await checkpoints.fail(client, lane.projection, lane.generation, lane.failure);
          held.push(true);
        }
        // Delivered when (and only if) the batch commits.
        await client.query(`SELECT pg_notify('${READ_MODEL_CHANNEL}', '')`);
        return held;
      }),

    recordFailure: (projection, generation, failure) =>
      write((client) => checkpoints.fail(client, projection, generation, failure)),

    promote: (projection, generation) =>
      writeRetried(async (client) => {
        await planning(client);
        // Indexes and swap in one transaction: readers never see a served generation without its indexes.
        await createPgIndexes(client, projection, generation);
        return checkpoints.swap(client, projection.name, generation);
      }),

    async purgeRetired(limit) {
      const rows = await mapped(() => checkpoints.allGenerations(pool));
      for (const row of rows) {
        if (row.status !== 'retired') continue;
        const at = { projection: row.projection, generation: row.generation };
        const removed = await write(async (client) => {
          // Indexes first: then deleting the documents does not have to maintain them.
          await dropPgIndexes(client, row.projection, row.generation);
          const count = await documents.purgeDocuments(client, at, limit);
          if (count < limit) await checkpoints.remove(client, row.projection, row.generation);
          return count;
        });
        if (removed >= limit) return true;
      }
      return false;
    },

    listDocuments: (projection, generation) => documents.listDocuments(pool, { projection, generation }),

    processorCheckpoint: (name = 'payment-requests') => {
      const checkpoint = pgProcessorCheckpoint(pool, name);
      return {
        read: () => mapped(async () => checkpoint.read()),
        advance: (to) => mapped(async () => checkpoint.advance(to)),
      };
    },

    // Keepalives a minute apart: a holder whose host vanished loses the lock in minutes, not the OS's two hours.
    acquireRunnerLease: (signal) => acquireRunnerLease({ ...connection, keepAliveInitialDelayMillis: 60_000 }, signal),

    watchCheckpoints(onChange) {
      const listener = listenForCommits(connection, onChange, READ_MODEL_CHANNEL);
      return { close: () => listener.close() };
    },

    async close() {
      await pool.end().catch(() => {});
    },
  };
}

/**
 * A \u0000 escape, or a surrogate's (JSON.stringify writes a surrogate pair as the characters
 * themselves, so an escaped one is alone), not an escaped backslash followed by "u0000".
 */
const UNEXTRACTABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** The payment feed's checkpoint: it only moves forward, by a conditional write (processor-checkpoint.ts). */
function pgProcessorCheckpoint(pool: pg.Pool, name: string): ProcessorCheckpoint {
  return {
    async read() {
      const { rows } = await pool.query<{ position: string }>(
        'SELECT position FROM ledger_payment_checkpoints WHERE name = $1',
        [name],
      );
      return rows[0] === undefined ? undefined : BigInt(rows[0].position);
    },
    async advance(to) {
      const { rowCount } = await pool.query(
        `INSERT INTO ledger_payment_checkpoints (name, position) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()
         WHERE ledger_payment_checkpoints.position < excluded.position`,
        [name, to.toString()],
      );
      return rowCount === 1;
    },
  };
}
