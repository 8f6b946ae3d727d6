/**
 * The ways a stored row can be broken, each done with plain SQL on the file (as a bad disk, a
 * bad migration or a hand edit would), and what the ledger must then say about it. Every kind
 * is applied to one chosen row, addressed by its position.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { OrderCommand } from '../../src/domain/commands.ts';

export interface CorruptionKind {
  readonly name: string;
  /** The statement that breaks the row at :position. */
  readonly sql: string;
  /** Whether the row itself can no longer be read (else it reads, and fails its event schema). */
  readonly unreadable: boolean;
  /** How the broken record's revision is named afterwards, given the revision it had. */
  readonly revisionAfter: (revision: bigint) => string;
}

const same = (revision: bigint) => revision.toString();

/** `set` is the SET clause that breaks the row; an unreadable row can no longer be read at all. */
const kind = (name: string, set: string, unreadable: boolean, revisionAfter = same): CorruptionKind => ({
  name,
  sql: `UPDATE events SET ${set} WHERE position = :position`,
  unreadable,
  revisionAfter,
});

export const CORRUPTIONS: readonly CorruptionKind[] = [
  kind('data that is not JSON', `data = '{"orderId": "x",'`, true),
  kind('metadata that is not JSON', `metadata = 'hash=abc'`, true),
  kind('data that is JSON but not an object', `data = '[1, 2, 3]'`, true),
  kind('data stored as a blob', `data = X'7B7D00FF'`, true),
  kind('a field of the wrong type', `data = json_set(data, '$.amount', '250')`, false),
  kind('a created_at that is not a time', `created_at = 'yesterday-ish'`, true),
  kind('a revision that is text', `revision = 'one'`, true, () => '"one"'),
  kind('a revision that is a fraction', `revision = 1.5`, true, () => '1.5'),
];

export function corrupt(path: string, kind: CorruptionKind, position: bigint): void {
  const db = new Database(path);
  try {
    const changed = db.prepare(kind.sql).run({ position }).changes;
    if (changed !== 1) throw new Error(`${kind.name}: no row at position ${position}`);
  } finally {
    db.close();
  }
}

/** The row of `stream` at `revision`, by position. */
export function positionOf(path: string, stream: string, revision: number): bigint {
  const db = new Database(path, { readonly: true });
  try {
    const query = db.prepare('SELECT position FROM events WHERE stream = ? AND revision = ?').safeIntegers(true);
    const row = query.get(stream, revision) as { position: bigint } | undefined;
    if (!row) throw new Error(`no ${stream}@${revision}`);
    return row.position;
  } finally {
    db.close();
  }
}

export function eventCount(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const WRITER = fileURLToPath(new URL('./fixtures/write-log-process.ts', import.meta.url));

/** Writes `commands` into a new SQLite file at `path` from another process (see write-log-process.ts). */
export async function writeInChild(path: string, commands: readonly OrderCommand[]): Promise<void> {
  await promisify(execFile)(process.execPath, ['--import', 'tsx', WRITER, path, JSON.stringify(commands)]);
}
