import { ledger } from '../cli/run.ts';

/**
 * The audit an operator would run after an incident: `ledger replay --compare-live` over the
 * store the scenario left behind. Invariants, hash chains and the live read models must all hold.
 */
export async function auditStore(storePath: string): Promise<void> {
  await auditStoreAt(`sqlite:${storePath}`);
}

/** The same audit for any store URL, against the read models of each server that kept its own. */
export async function auditStoreAt(store: string, readModels: readonly (string | undefined)[] = [undefined]) {
  for (const path of readModels) {
    const options = path === undefined ? [] : ['--read-models', path];
    const result = await ledger(['replay', '--store', store, '--compare-live', '--json', ...options]);
    if (result.code !== 0) {
      throw new Error(
        `ledger replay --compare-live${path ? ` (${path})` : ''} exited ${result.code}:\n${result.stderr}\n${result.stdout.slice(0, 4_000)}`,
      );
    }
  }
}
