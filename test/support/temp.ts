import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir, removed when the process exits. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ledger-${label}-`));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
