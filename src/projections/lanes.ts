/**
 * Which generations this process feeds, decided from the checkpoint rows and the code's version:
 * the served generation when it was built by this version, and the one being built beside it.
 * The storage applies a plan inside a write transaction, so two processes starting at once agree on
 * one new generation.
 */
import type { Projection } from '../../projections/projection.ts';
import type { GenerationRow, ProjectionFailure } from './checkpoints.ts';

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

/** What planning decided for one projection, from its rows alone (the storage applies it). */
export interface GenerationPlan {
  /** Why nothing runs for this projection: the data was built by newer code than this process runs. */
  readonly blocked?: string;
  /** A building generation abandoned by an older deployment, to retire: building the current version supersedes it. */
  readonly retire?: number;
  /** Start a new building generation of the projection's version. */
  readonly create: boolean;
  /** The served generation this process feeds (serving, and built by this version). */
  readonly active?: GenerationRow;
  /** A generation already being built, which this process goes on feeding. */
  readonly building?: GenerationRow;
}

export function decideGenerations(
  rows: readonly GenerationRow[],
  projection: Projection,
  mode: LaneMode,
): GenerationPlan {
  const live = rows.filter((row) => row.status !== 'retired');
  const active = live.find((row) => row.status === 'active');
  let building = live.find((row) => row.status === 'building');
  const blocked = blockedBy(live, projection);
  // An older deployment must not rebuild over a newer one's data (and then be rebuilt over in turn).
  if (blocked) return { blocked, create: false };
  let retire: number | undefined;
  if (building && building.version < projection.version) {
    retire = building.generation;
    building = undefined;
  }
  const stale = !active || active.version < projection.version;
  const start = mode === 'rebuild' || (mode === 'serve' && stale);
  return {
    ...(retire !== undefined && { retire }),
    create: building === undefined && start,
    ...(mode === 'serve' && active && !stale && { active }),
    ...(building && { building }),
  };
}

/** The lanes a plan feeds: the served generation, then the one being built (created by the plan or found). */
export function lanesOf(projection: Projection, plan: GenerationPlan, created: number | undefined): LanePlan {
  if (plan.blocked) return { lanes: [], blocked: plan.blocked };
  const lane = (generation: number, role: Lane['role'], position: bigint | undefined): Lane => ({
    projection,
    generation,
    role,
    handles: new Set(projection.handles),
    position,
    failure: undefined,
  });
  const lanes: Lane[] = [];
  if (plan.active) lanes.push(lane(plan.active.generation, 'active', plan.active.position));
  if (plan.building) lanes.push(lane(plan.building.generation, 'building', plan.building.position));
  else if (created !== undefined) lanes.push(lane(created, 'building', undefined));
  return { lanes };
}
