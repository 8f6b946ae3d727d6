/** Runs the real `ledger` entry in a child process, as a user or a script would. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary JSON
  readonly json: any;
}

/** `timeoutMs`: the run is killed past it and the promise rejects, so a hang fails the test instead of stalling it. */
export function ledger(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 0): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ENTRY, ...args],
      { cwd: ROOT, env: { ...withoutStore(process.env), ...env }, maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (code === -1) return reject(error);
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}

/** The test's own LEDGER_STORE (if any) must not leak into the child: each test names its store. */
function withoutStore(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { LEDGER_STORE: _ignored, ...rest } = env;
  return rest;
}
