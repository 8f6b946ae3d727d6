/**
 * `replay --compare-live`: rebuild every projection from the log into a scratch database with
 * the projections' own engine, then compare it document by document, field by field, with the
 * live read models. Each projection is rebuilt up to the position its live checkpoint has
 * reached, so a runner that is merely behind the log is not reported as wrong.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { projections as allProjections } from '../../projections/index.ts';
import type { Projection } from '../../projections/projection.ts';
import { CorruptEventError } from '../eventstore/errors.ts';
import { readAllEntries } from '../eventstore/log-entries.ts';
import type { EventStore } from '../eventstore/port.ts';
import { canonicalJson } from '../events/canonical.ts';
import { decodeEvent, type LedgerEvent } from '../events/codec.ts';
import { servedFrom } from '../projections/checkpoints.ts';
import { openReadModels } from '../projections/open-read-models.ts';
import type { ReadModelLocation, ReadModelStore } from '../projections/read-model-store.ts';
import { diffDocuments, listDocuments, rebuildInto, type DocumentDifference } from '../projections/rebuild.ts';
import { redactSecrets } from '../redact.ts';

export interface ProjectionDifference {
  readonly projection: string;
  readonly collection: string;
  readonly key: string;
  /** A top-level field of the document, or '(document)' when one side has no such document. */
  readonly field: string;
  /** undefined (absent from JSON) where that side lacks the document or the field. */
  readonly live: unknown;
  readonly replayed: unknown;
}

/** Where a projection stopped, and why. */
export interface ProjectionStop {
  readonly projection: string;
  readonly stream: string;
  readonly revision: string;
  readonly position: string;
  readonly message: string;
}

export interface LiveComparison {
  readonly readModels: string;
  readonly projections: ReadonlyArray<{
    readonly name: string;
    readonly position: string | undefined;
    readonly differences: number;
  }>;
  /**
   * Live projections stopped by a handler that threw (recorded on their served generation or on
   * the one being built to replace it): what they serve is stale from that event on.
   */
  readonly liveFailures: readonly ProjectionStop[];
  /** Handlers that threw during the rebuild: that projection could not be rebuilt from the log. */
  readonly failures: readonly ProjectionStop[];
  readonly total: number;
  readonly differences: readonly ProjectionDifference[];
  readonly truncated: boolean;
}

export class LiveReadModelsMissingError extends Error {
  override readonly name = 'LiveReadModelsMissingError';
}

export interface CompareLiveOptions {
  readonly store: EventStore;
  /** The live read models (for sqlite: stores, the event file itself; for postgres:, its database). */
  readonly readModels: ReadModelLocation;
  readonly projections?: readonly Projection[];
  readonly maxListed?: number;
}

export async function compareLive(options: CompareLiveOptions): Promise<LiveComparison> {
  const projections = options.projections ?? allProjections;
  const maxListed = options.maxListed ?? 10_000;
  const named = nameOf(options.readModels);
  const live = await openLive(options.readModels, named);
  const scratchDir = mkdtempSync(join(tmpdir(), 'ledger-compare-'));
  try {
    const rows = await live.generations();
    const liveFailures: LiveComparison['liveFailures'][number][] = [];
    const served = projections.flatMap((projection) => {
      const { active, failure } = servedFrom(rows.filter((row) => row.projection === projection.name));
      if (failure) {
        const { streamId: stream, message } = failure;
        const [revision, position] = [failure.revision.toString(), failure.position.toString()];
        liveFailures.push({ projection: projection.name, stream, revision, position, message });
      }
      // A first build that failed serves nothing to compare: the failure is the finding.
      if (!active && failure) return [];
      if (!active)
        throw new LiveReadModelsMissingError(`the live read models at ${named} do not serve ${projection.name} yet`);
      return [{ projection, position: active.position }];
    });
    const differences: ProjectionDifference[] = [];
    const failures: LiveComparison['failures'][number][] = [];
    const perProjection: LiveComparison['projections'][number][] = [];
    let total = 0;
    // Projections at the same checkpoint share one pass over the log.
    for (const [position, group] of groupBy(served, (s) => s.position)) {
      const scratchPath = join(scratchDir, `rebuild-${position ?? 'empty'}.db`);
      const summary = await rebuildInto(scratchPath, decodedEvents(options.store, position), {
        projections: group.map((s) => s.projection),
      });
      failures.push(
        ...summary.failures.map((f) => ({
          projection: f.projection,
          stream: f.streamId,
          revision: f.revision.toString(),
          position: f.position.toString(),
          message: f.message,
        })),
      );
      const scratch = await openReadModels(scratchPath);
      try {
        for (const { projection } of group) {
          let count = 0;
          for await (const difference of diffDocuments(
            listDocuments(live, projection.name),
            listDocuments(scratch, projection.name),
          )) {
            for (const field of fieldDifferences(projection.name, difference)) {
              count += 1;
              if (differences.length < maxListed) differences.push(field);
            }
          }
          total += count;
          perProjection.push({ name: projection.name, position: position?.toString(), differences: count });
        }
      } finally {
        await scratch.close();
      }
    }
    const truncated = total > differences.length;
    return { readModels: named, projections: perProjection, liveFailures, failures, total, differences, truncated };
  } finally {
    await live.close();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

/** How the read models are named in the report and its messages: a database URL without its secrets. */
const nameOf = (location: ReadModelLocation): string =>
  typeof location === 'string' ? location : redactSecrets(location.postgres);

async function openLive(location: ReadModelLocation, named: string): Promise<ReadModelStore> {
  if (typeof location !== 'string') {
    try {
      return await openReadModels(location);
    } catch (error) {
      throw new LiveReadModelsMissingError(
        `cannot open the live read models at ${named}: ${redactSecrets(messageOf(error))}`,
      );
    }
  }
  // A file that is not there must not be created (empty) by looking at it.
  let db: Database.Database;
  try {
    db = new Database(location, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new LiveReadModelsMissingError(`cannot open the live read models at ${named}: ${messageOf(error)}`);
  }
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rm_checkpoints'").get();
  db.close();
  if (!table)
    throw new LiveReadModelsMissingError(
      `${named} holds no read models: has the ledger's projection runner run on it?`,
    );
  return openReadModels(location);
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The log up to `upTo`, decoded; records that cannot be read or fail their schema are left to the audit's findings. */
async function* decodedEvents(store: EventStore, upTo: bigint | undefined): AsyncGenerator<LedgerEvent> {
  if (upTo === undefined) return;
  for await (const entry of readAllEntries(store, { upTo })) {
    if (entry instanceof CorruptEventError) continue;
    try {
      yield decodeEvent(entry);
    } catch (error) {
      if (!(error instanceof CorruptEventError)) throw error;
    }
  }
}

function* fieldDifferences(projection: string, d: DocumentDifference): Generator<ProjectionDifference> {
  const base = { projection, collection: d.collection, key: d.key };
  if (d.live === undefined || d.replayed === undefined) {
    yield { ...base, field: '(document)', live: d.live, replayed: d.replayed };
    return;
  }
  const live = d.live as Record<string, unknown>;
  const replayed = d.replayed as Record<string, unknown>;
  for (const field of [...new Set([...Object.keys(live), ...Object.keys(replayed)])].sort()) {
    const a = live[field];
    const b = replayed[field];
    if (a === undefined || b === undefined ? a !== b : canonicalJson(a) !== canonicalJson(b)) {
      yield { ...base, field, live: a, replayed: b };
    }
  }
}

function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
}
