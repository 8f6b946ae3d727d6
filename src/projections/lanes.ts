/**
 * Which generations this process feeds, decided from the checkpoint rows and the code's version:
 * the served generation when it was built by this version, and the one being built beside it.
 * Runs inside a write transaction, so two processes starting at once agree on one new generation.
 */
import type { Projection } from '../../projections/projection.ts';
import type { Checkpoints, GenerationRow, ProjectionFailure } from './checkpoints.ts';

export interface Lane {
  readonly projection: Projection;
  readonly generation: number;
  readonly role: 'active' | 'building';
  readonly handles: ReadonlySet<string>;
  position: bigint | undefined;
  failure: ProjectionFailure | undefined;
}

export type LaneMode =
  /** Serve: keep the active generation live and build a new one when the version changed. */
  | 'serve'
  /** Rebuild, first plan: start a fresh generation beside whatever is served (the CLI, scratch rebuilds). */
  | 'rebuild'
  /** Rebuild, later plans: only finish generations already being built. */
  | 'finish-rebuild';

export interface LanePlan {
  readonly lanes: Lane[];
  /** Why nothing runs for this projection: the data was built by newer code than this process runs. */
  readonly blocked?: string;
}

/**
 * Why this code may not touch the projection's data: a served or building generation made by a
 * newer version. Read from the rows alone, so a process that only reads the models says the same.
 */
export function blockedBy(rows: readonly GenerationRow[], projection: Projection): string | undefined {
  const newer = rows.find(
    (row) => (row.status === 'active' || row.status === 'building') && row.version > projection.version,
  );
  if (!newer) return undefined;
  const built = `generation ${newer.generation} was built by version ${newer.version}`;
  return `${built}; this process runs version ${projection.version}`;
}

export function planLanes(checkpoints: Checkpoints, projection: Projection, mode: LaneMode): LanePlan {
  const rows = checkpoints.of(projection.name).filter((row) => row.status !== 'retired');
  const active = rows.find((row) => row.status === 'active');
  let building = rows.find((row) => row.status === 'building');

  const blocked = blockedBy(rows, projection);
  // An older deployment must not rebuild over a newer one's data (and then be rebuilt over in turn).
  if (blocked) return { lanes: [], blocked };
  if (building && building.version < projection.version) {
    // Abandoned by an older deployment; building the current version supersedes it.
    checkpoints.retire(projection.name, building.generation, 'building');
    building = undefined;
  }
  const stale = !active || active.version < projection.version;
  const start = mode === 'rebuild' || (mode === 'serve' && stale);
  const buildingGeneration =
    building?.generation ?? (start ? checkpoints.createBuilding(projection.name, projection.version) : undefined);

  const lanes: Lane[] = [];
  const lane = (generation: number, role: Lane['role'], position: bigint | undefined): Lane => ({
    projection,
    generation,
    role,
    handles: new Set(projection.handles),
    position,
    failure: undefined,
  });
  if (mode === 'serve' && active && !stale) lanes.push(lane(active.generation, 'active', active.position));
  if (buildingGeneration !== undefined) lanes.push(lane(buildingGeneration, 'building', building?.position));
  return { lanes };
}
