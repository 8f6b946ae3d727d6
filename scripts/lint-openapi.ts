/**
 * Lints the OpenAPI document the server serves: Redocly (recommended rules, redocly.yaml) and
 * Spectral (spectral:oas, .spectral.yaml). Any Redocly error or Spectral warning fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'ledger-openapi-lint-'));
const document = join(dir, 'openapi.json');
const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
const run = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'inherit', env }).status ?? 1;
try {
  let failed = run(process.execPath, ['--import', 'tsx', 'scripts/openapi-document.ts', document]) !== 0;
  if (!failed) {
    failed = run('node_modules/.bin/redocly', ['lint', document, '--config', 'redocly.yaml']) !== 0;
    failed =
      run('node_modules/.bin/spectral', [
        'lint',
        document,
        '--ruleset',
        '.spectral.yaml',
        '--fail-severity',
        'warn',
      ]) !== 0 || failed;
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
