/**
 * Checkpoint rows: one per (projection, generation). The position only moves by compare-and-set
 * inside the batch's transaction, so a batch that another runner already applied changes nothing.
 */
import type Database from 'better-sqlite3';
import type { StoredRevision } from '../eventstore/errors.ts';

export type GenerationStatus = 'building' | 'active' | 'retired';

/** The event a projection's handler failed on: enough to find it in the log. */
export interface ProjectionFailure {
  readonly streamId: string;
  /** The stored text when the record's revision is not a revision at all (an unreadable row). */
  readonly revision: StoredRevision;
  readonly position: bigint;
  readonly message: string;
}

export interface GenerationRow {
  readonly projection: string;
  readonly generation: number;
  readonly version: number;
  readonly status: GenerationStatus;
  /** Position of the last event applied (handled or skipped); undefined before the first. */
  readonly position: bigint | undefined;
  readonly failure: ProjectionFailure | undefined;
  readonly updatedAt: string;
}

interface Row {
  projection: string;
  generation: bigint;
  version: bigint;
  status: GenerationStatus;
  position: bigint | null;
  failed_position: bigint | null;
  failure: string | null;
  updated_at: string;
}

export class Checkpoints {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    const prepare = (sql: string) => db.prepare(sql).safeIntegers(true);
    this.statements = {
      all: prepare('SELECT * FROM rm_checkpoints ORDER BY projection, generation'),
      ofProjection: prepare('SELECT * FROM rm_checkpoints WHERE projection = ? ORDER BY generation'),
      active: prepare(`SELECT generation, position FROM rm_checkpoints WHERE projection = ? AND status = 'active'`),
      live: prepare(
        `SELECT * FROM rm_checkpoints WHERE projection = ? AND status IN ('active', 'building') ORDER BY generation`,
      ),
      // The fence: only the runner that saw `from` may move it, and only while the generation is live.
      advance: prepare(
        `UPDATE rm_checkpoints SET position = :to, failed_position = NULL, failure = NULL, updated_at = :now
         WHERE projection = :projection AND generation = :generation AND position IS :from AND status <> 'retired'`,
      ),
      fail: prepare(
        `UPDATE rm_checkpoints SET failed_position = :position, failure = :failure, updated_at = :now
         WHERE projection = :projection AND generation = :generation`,
      ),
      nextGeneration: prepare(
        'SELECT coalesce(max(generation), 0) + 1 FROM rm_checkpoints WHERE projection = ?',
      ).pluck(),
      insert: prepare(
        `INSERT INTO rm_checkpoints (projection, generation, version, status, position, updated_at)
         VALUES (?, ?, ?, 'building', NULL, ?)`,
      ),
      setStatus: prepare(
        'UPDATE rm_checkpoints SET status = :to, updated_at = :now WHERE projection = :projection AND generation = :generation AND status = :from',
      ),
      retireActive: prepare(
        `UPDATE rm_checkpoints SET status = 'retired', updated_at = ? WHERE projection = ? AND status = 'active'`,
      ),
      remove: prepare('DELETE FROM rm_checkpoints WHERE projection = ? AND generation = ?'),
    };
  }

  all(): GenerationRow[] {
    return (this.statements.all.all() as Row[]).map(toGeneration);
  }

  of(projection: string): GenerationRow[] {
    return (this.statements.ofProjection.all(projection) as Row[]).map(toGeneration);
  }

  /** The generation reads are served from, and how far it has got. */
  active(projection: string): { generation: number; position: bigint | undefined } | undefined {
    const row = this.statements.active.get(projection) as { generation: bigint; position: bigint | null } | undefined;
    return row && { generation: Number(row.generation), position: row.position ?? undefined };
  }

  /**
   * What a read needs to know before it trusts the served generation: which one it is, the
   * version that built it, and the failure that stopped it or the generation meant to replace it.
   */
  served(projection: string): { active: GenerationRow | undefined; failure: ProjectionFailure | undefined } {
    return servedFrom((this.statements.live.all(projection) as Row[]).map(toGeneration));
  }

  /** Compare-and-set (to = from: only the check); false when another runner moved it first (or the generation was retired). */
  advance(projection: string, generation: number, from: bigint | undefined, to: bigint | undefined): boolean {
    const now = new Date().toISOString();
    return (
      this.statements.advance.run({ projection, generation, from: from ?? null, to: to ?? null, now }).changes === 1
    );
  }

  fail(projection: string, generation: number, failure: ProjectionFailure): void {
    const text = failureText(failure);
    this.statements.fail.run({
      projection,
      generation,
      position: failure.position,
      failure: text,
      now: new Date().toISOString(),
    });
  }

  /** A new, empty generation to build beside the served one; call inside a write transaction. */
  createBuilding(projection: string, version: number): number {
    const generation = Number(this.statements.nextGeneration.get(projection) as bigint);
    this.statements.insert.run(projection, generation, version, new Date().toISOString());
    return generation;
  }

  retire(projection: string, generation: number, from: GenerationStatus): boolean {
    return this.setStatus(projection, generation, from, 'retired');
  }

  /** The swap: the built generation becomes the served one and the old one retires, in one transaction. */
  promote(projection: string, generation: number): boolean {
    return this.db
      .transaction(() => {
        const now = new Date().toISOString();
        const building = this.of(projection).find((row) => row.generation === generation && row.status === 'building');
        if (!building) return false;
        this.statements.retireActive.run(now, projection);
        return this.setStatus(projection, generation, 'building', 'active');
      })
      .immediate();
  }

  remove(projection: string, generation: number): void {
    this.statements.remove.run(projection, generation);
  }

  private setStatus(projection: string, generation: number, from: GenerationStatus, to: GenerationStatus): boolean {
    const now = new Date().toISOString();
    return this.statements.setStatus.run({ projection, generation, from, to, now }).changes === 1;
  }
}

/**
 * What a read needs to know of one projection's rows before it trusts the served generation: which
 * one it is, and the failure that stopped it or the generation meant to replace it.
 */
export function servedFrom(rows: readonly GenerationRow[]): {
  active: GenerationRow | undefined;
  failure: ProjectionFailure | undefined;
} {
  const active = rows.find((row) => row.status === 'active');
  return { active, failure: active?.failure ?? rows.find((row) => row.status === 'building')?.failure };
}

/** A failure as its row keeps it: the position in a column of its own, the rest as JSON. */
export function failureText(failure: ProjectionFailure): string {
  return JSON.stringify({
    streamId: failure.streamId,
    revision: failure.revision.toString(),
    message: failure.message,
  });
}

export function failureFrom(text: string | null, position: bigint | null): ProjectionFailure | undefined {
  if (text === null) return undefined;
  const failure = JSON.parse(text) as { streamId: string; revision: string; message: string };
  return {
    streamId: failure.streamId,
    revision: /^\d+$/.test(failure.revision) ? BigInt(failure.revision) : failure.revision,
    position: position ?? 0n,
    message: failure.message,
  };
}

function toGeneration(row: Row): GenerationRow {
  return {
    projection: row.projection,
    generation: Number(row.generation),
    version: Number(row.version),
    status: row.status,
    position: row.position ?? undefined,
    failure: failureFrom(row.failure, row.failed_position),
    updatedAt: row.updated_at,
  };
}
