import { ledger } from '../cli/run.ts';

/**
 * The audit an operator would run after an incident: `ledger replay --compare-live` over the
 * store the scenario left behind. Invariants, hash chains and the live read models must all hold.
 */
export async function auditStore(storePath: string): Promise<void> {
  const result = await ledger(['replay', '--store', `sqlite:${storePath}`, '--compare-live', '--json']);
  if (result.code !== 0) {
    throw new Error(
      `ledger replay --compare-live exited ${result.code}:\n${result.stderr}\n${result.stdout.slice(0, 4_000)}`,
    );
  }
}
