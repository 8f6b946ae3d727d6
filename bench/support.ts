import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch directory for one benchmark, removed afterwards. */
export async function withScratchDir<T>(label: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `ledger-bench-${label}-`));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function perSecond(count: number, startedAt: bigint): number {
  return count / (Number(process.hrtime.bigint() - startedAt) / 1e9);
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
