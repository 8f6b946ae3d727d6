/**
 * examples/walkthrough.sh, run as a newcomer would, against a live server with API keys: every
 * step answers what the script expects, and the secret never appears in what it prints.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, ServerProcess } from '../reliability/server-process.ts';
import { tempDir } from '../support/temp.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const SECRET = 'walkthrough-secret-0123456789';

test('the walkthrough runs end to end: create, capture, replay, key reuse refused, minPosition read, audit', async () => {
  const store = `sqlite:${join(tempDir('walkthrough'), 'ledger.db')}`;
  const server = new ServerProcess({ store, port: await freePort(), env: { LEDGER_API_KEYS: `newcomer:${SECRET}` } });
  await server.start();
  try {
    const { stdout } = await run('bash', ['examples/walkthrough.sh'], {
      cwd: root,
      env: { ...process.env, BASE_URL: server.url, API_KEY: SECRET, LEDGER_STORE: store },
      timeout: 120_000,
    });
    const statuses = [...stdout.matchAll(/^(\d{3})$/gm)].map((match) => match[1]);
    assert.equal(statuses, ['201', '201', '201', '422', '200'], 'the answers, in order');
    assert.match(stdout, /idempotency-key-reused/);
    assert.match(stdout, /"captured":1000/);
    assert.match(stdout, /^No findings\.$/m);
    assert.match(stdout, /walkthrough complete\n$/);
    // Every printed request is a command a reader can paste, with the secret masked.
    assert.match(stdout, /^\$ curl -X POST -H 'Authorization: Bearer \*\*\*' -H Content-Type:\\ application\/json/m);
    assert.not.ok(stdout.includes(SECRET), 'the API key is never printed');
  } finally {
    await server.terminate();
  }
});

test.run();
