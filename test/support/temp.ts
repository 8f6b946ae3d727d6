import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Removed at exit by one listener, however many a test process makes. */
const made: string[] = [];

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ledger-${label}-`));
  if (made.length === 0) {
    process.once('exit', () => {
      for (const path of made) rmSync(path, { recursive: true, force: true });
    });
  }
  made.push(dir);
  return dir;
}
