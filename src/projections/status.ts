/**
 * Where each projection stands, for GET /projections, /ready and /metrics. Checkpoint rows are
 * shared by every process on the files, so a failure or a rebuild seen by another runner shows
 * here too.
 */
import type { Projection } from '../../projections/projection.ts';
import { CorruptEventError } from '../eventstore/errors.ts';
import { readAllEntries } from '../eventstore/log-entries.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { GenerationRow, ProjectionFailure } from './checkpoints.ts';
import type { ReadModelStore } from './read-model-store.ts';

export type ProjectionState = 'running' | 'rebuilding' | 'failed';

export interface Lag {
  /** Events in the log after the checkpoint (at most LAG_COUNT_CAP where positions are not dense). */
  readonly events: number;
  /** Age of the oldest event not yet applied (store clock); 0 when caught up. */
  readonly ms: number;
}

export interface GenerationStatus {
  readonly generation: number;
  readonly version: number;
  readonly checkpoint: bigint | undefined;
  readonly lag: Lag;
  readonly failure?: ProjectionFailure;
}

export interface ProjectionStatus {
  readonly name: string;
  /** The version this process's code runs. */
  readonly codeVersion: number;
  readonly state: ProjectionState;
  /** The generation reads are answered from; undefined until the first build finishes. */
  readonly serving: GenerationStatus | undefined;
  /** The generation being built beside it, when a version change or `projections rebuild` started one. */
  readonly rebuilding: GenerationStatus | undefined;
  /** Why the projection is failed when no event is to blame (e.g. newer code owns the data). */
  readonly detail?: string;
}

/** Where positions are consecutive integers, head − checkpoint is the exact count. */
const DENSE_POSITION_STORES = new Set(['sqlite', 'memory']);
const LAG_COUNT_CAP = 10_000;

export async function projectionStatus(
  projections: readonly Projection[],
  readModels: Pick<ReadModelStore, 'generations'>,
  store: Pick<EventStore, 'kind' | 'readAll' | 'headPosition'>,
  blocked: ReadonlyMap<string, string>,
  now: () => number = Date.now,
): Promise<ProjectionStatus[]> {
  const [head, rows] = await Promise.all([store.headPosition(), readModels.generations()]);
  const describe = async (row: GenerationRow | undefined): Promise<GenerationStatus | undefined> =>
    row && {
      generation: row.generation,
      version: row.version,
      checkpoint: row.position,
      lag: await lagOf(store, row.position, head, now),
      ...(row.failure && { failure: row.failure }),
    };

  return Promise.all(
    projections.map(async (projection): Promise<ProjectionStatus> => {
      const mine = rows.filter((row) => row.projection === projection.name);
      const serving = await describe(mine.find((row) => row.status === 'active'));
      const rebuilding = await describe(mine.find((row) => row.status === 'building'));
      const detail = blocked.get(projection.name);
      const failed = detail !== undefined || serving?.failure !== undefined || rebuilding?.failure !== undefined;
      return {
        name: projection.name,
        codeVersion: projection.version,
        state: failed ? 'failed' : rebuilding ? 'rebuilding' : 'running',
        serving,
        rebuilding,
        ...(detail !== undefined && { detail }),
      };
    }),
  );
}

async function lagOf(
  store: Pick<EventStore, 'kind' | 'readAll'>,
  checkpoint: bigint | undefined,
  head: bigint | undefined,
  now: () => number,
): Promise<Lag> {
  if (head === undefined || (checkpoint !== undefined && checkpoint >= head)) return { events: 0, ms: 0 };
  const after = checkpoint !== undefined ? { after: checkpoint } : {};
  let oldest: Date | undefined;
  // Entries, not records: a projection stopped at an unreadable row has exactly that row next.
  for await (const entry of readAllEntries(store, { ...after, maxCount: 1 })) {
    oldest = entry instanceof CorruptEventError ? undefined : entry.createdAt;
  }
  const ms = oldest ? Math.max(0, now() - oldest.getTime()) : 0;
  if (DENSE_POSITION_STORES.has(store.kind)) return { events: Number(head - (checkpoint ?? 0n)), ms };
  let events = 0;
  for await (const _ of readAllEntries(store, { ...after, maxCount: LAG_COUNT_CAP })) events += 1;
  return { events, ms };
}

/**
 * For GET /ready. A handler that failed is a bug, not an outage: commands and the other reads
 * still work, and the reads that need that projection answer 503 projection-failed, so the
 * instance stays ready and the check says what stopped. A projection whose data was built by
 * newer code than this process runs (blocked) cannot serve at all here: not ready. Rebuilding
 * ones are ready (the old generation serves).
 */
/** `ownDataDetail` names no stream and quotes no record: what a caller who reads only its own data sees. */
export function readinessOf(statuses: readonly ProjectionStatus[]): {
  name: string;
  ok: boolean;
  detail?: string;
  ownDataDetail?: string;
} {
  const failed = statuses.filter((s) => s.state === 'failed');
  if (failed.length === 0) return { name: 'projections', ok: true };
  const failureOf = (s: ProjectionStatus) => s.serving?.failure ?? s.rebuilding?.failure;
  const detail = failed
    .map((s) => {
      const failure = failureOf(s);
      return failure
        ? `${s.name} stopped at ${failure.streamId}@${failure.revision} (position ${failure.position}): ${failure.message}`
        : `${s.name}: ${s.detail ?? 'failed'}`;
    })
    .join('; ');
  const ownDataDetail = failed
    .map((s) => {
      const failure = failureOf(s);
      return failure ? `${s.name} stopped at position ${failure.position}` : `${s.name} failed`;
    })
    .join('; ');
  return { name: 'projections', ok: failed.every((s) => s.detail === undefined), detail, ownDataDetail };
}
