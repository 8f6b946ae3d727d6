/**
 * Whether a SQLite store can still accept writes that will survive a restart. An open
 * connection keeps answering after its file was deleted or replaced (the old inode lives on
 * until the handle closes), so "SELECT 1 works" proves nothing: the file at the path must be
 * the one that was opened, it and its directory must be writable by this process, and the
 * filesystem must have room. The identity is one stat, checked around every append; the rest
 * (five syscalls) at most every WRITABLE_CHECK_MS on the append path, and on every ping.
 */
import { accessSync, constants, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreUnavailableError } from './errors.ts';
import type { EventStore } from './port.ts';

/** How stale the append path's view of permissions and free space may be. */
export const WRITABLE_CHECK_MS = 100;

/** Below this much free space a commit (WAL frames, checkpoint) may fail half-way: report "full" first. */
export const MIN_FREE_BYTES = 1 << 20;

interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
}

export interface SqliteHealth {
  /** Throws StoreUnavailableError when the file at the path is no longer the one opened. */
  assertSameFile(): void;
  /** Same file, writable file, WAL and directory, and free space; throws StoreUnavailableError otherwise. */
  assertWritable(): void;
}

export function sqliteHealth(path: string): SqliteHealth {
  const opened = identityOf(path);
  if (opened === undefined) throw new StoreUnavailableError(`the database file ${path} does not exist`, 'io');
  const directory = dirname(path);
  const wal = `${path}-wal`;
  const files = [
    [path, 'the database file'],
    [wal, 'the WAL file'],
    [directory, 'the directory'],
  ] as const;

  const assertSameFile = () => {
    const now = identityOf(path);
    if (now === undefined) {
      throw new StoreUnavailableError(`the database file ${path} was removed; writes would be lost`, 'io');
    }
    if (now.dev !== opened.dev || now.ino !== opened.ino) {
      throw new StoreUnavailableError(`the database file ${path} was replaced by another; writes would be lost`, 'io');
    }
  };

  return {
    assertSameFile,
    assertWritable() {
      assertSameFile();
      for (const [file, what] of files) {
        if (file === wal && identityOf(file) === undefined) continue; // created on the next write
        if (!writable(file)) throw new StoreUnavailableError(`${what} ${file} is read-only`, 'io');
      }
      const free = freeBytes(directory);
      if (free < BigInt(MIN_FREE_BYTES)) {
        throw new StoreUnavailableError(`the disk holding ${path} is full (${free} bytes free)`, 'full');
      }
    },
  };
}

/**
 * The store with every append fenced by the health checks: refused before it is queued when
 * the file cannot take it, and answered 503 rather than 2xx when the file was removed or
 * replaced while it committed (the commit then went to a file nobody will open again).
 * `ping` reports the same checks, so readiness fails exactly when commands would.
 */
export function withWriteHealth<S extends EventStore>(store: S, health: SqliteHealth): S {
  let checkedAt = -Infinity;
  // Every write, single- or multi-stream, is checked before and after: a commit to a file that is no
  // longer the one at the path must not be acknowledged, since a restart would not find it.
  async function guarded<T>(write: () => Promise<T>): Promise<T> {
    if (performance.now() - checkedAt >= WRITABLE_CHECK_MS) {
      health.assertWritable();
      checkedAt = performance.now();
    } else {
      health.assertSameFile();
    }
    const result = await write();
    health.assertSameFile();
    return result;
  }
  const atomic = store.appendAtomically;
  return {
    ...store,
    append: (streamId, events, expected) => guarded(() => store.append(streamId, events, expected)),
    ...(atomic && { appendAtomically: (writes) => guarded(() => atomic.call(store, writes)) }),
    async ping() {
      await store.ping();
      try {
        health.assertWritable();
      } catch (error) {
        checkedAt = -Infinity; // what readiness just saw failing, the next append sees too
        throw error;
      }
    },
  };
}

/** Undefined when nothing is there, or a path component is no longer a directory. */
function identityOf(path: string): FileIdentity | undefined {
  try {
    const stats = statSync(path, { bigint: true, throwIfNoEntry: false });
    return stats && { dev: stats.dev, ino: stats.ino };
  } catch {
    return undefined;
  }
}

/** access(2) asks the kernel, so a read-only mount and an immutable file count, and root's override too. */
function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function freeBytes(directory: string): bigint {
  try {
    const space = statfsSync(directory, { bigint: true });
    return space.bavail * space.bsize;
  } catch (error) {
    const message = `cannot read the free space of ${directory}: ${(error as Error).message}`;
    throw new StoreUnavailableError(message, 'io', { cause: error });
  }
}
