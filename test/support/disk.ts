import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let tmpfsProbe: string | undefined | null = null;

/**
 * Mounting a tmpfs (a disk that can really fill up) needs root, and root in a container may still
 * lack the capability: a trial mount tells. Returns why a test must be skipped, or undefined.
 */
export function tmpfsUnavailable(): string | undefined {
  if (tmpfsProbe !== null) return tmpfsProbe;
  const uid = process.getuid?.();
  if (uid !== 0) {
    tmpfsProbe = `mounting a tmpfs needs root (running as uid ${uid ?? 'unknown'})`;
    return tmpfsProbe;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tmpfs-probe-'));
  try {
    mountTmpfs(dir, '1m')();
    tmpfsProbe = undefined;
  } catch (error) {
    tmpfsProbe = `running as root, but mount -t tmpfs failed (${(error as Error).message.split('\n')[0]})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tmpfsProbe;
}

/** A small tmpfs at `dir`; returns how to unmount it. */
export function mountTmpfs(dir: string, size: string): () => void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  return () => execFileSync('umount', ['-l', dir]);
}

/** Writes until the filesystem says ENOSPC, in shrinking chunks so no byte is left. */
export function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}
