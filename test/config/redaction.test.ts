/**
 * Secrets and URL passwords never leave the process: not in CLI output, not in log lines, not
 * in HTTP answers, not in configuration errors. Every case uses one password and searches
 * everything the process wrote for it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { redactSecrets } from '../../src/redact.ts';
import { ledger } from '../cli/run.ts';
import { send } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('configuration: secrets are redacted');
const PASSWORD = 'hunter2-Secret';

/** A port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

test('redactSecrets: userinfo passwords and secret query parameters, nothing else', () => {
  const cluster = redactSecrets(`esdb://admin:${PASSWORD}@db1:2113,db2:2113?tls=true`);
  assert.is(cluster, 'esdb://admin:***@db1:2113,db2:2113?tls=true');
  assert.is(redactSecrets(`at postgres://bob:${PASSWORD}@host/x.`), 'at postgres://bob:***@host/x.');
  assert.is(redactSecrets(`"esdb://u:p@ss:${PASSWORD}@h"`), '"esdb://u:***@h"');
  const query = redactSecrets(`esdb://h:2113?tls=false&password=${PASSWORD}&x=1`);
  assert.is(query, 'esdb://h:2113?tls=false&password=***&x=1');
  assert.is(redactSecrets('sqlite:./data/ledger.db'), 'sqlite:./data/ledger.db');
  assert.is(redactSecrets('esdb://localhost:2113?tls=false'), 'esdb://localhost:2113?tls=false');
});

test('ledger CLI: an unreachable esdb:// store with a password is named without it', async () => {
  const url = `esdb://bob:${PASSWORD}@127.0.0.1:${await closedPort()}?tls=false`;
  const run = await ledger(['replay', '--store', url]);
  assert.is(run.code, 2, run.stderr);
  assert.match(run.stderr, /esdb:\/\/bob:\*\*\*@127\.0\.0\.1/);
  assert.not.ok(`${run.stdout}${run.stderr}`.includes(PASSWORD), run.stderr);
});

test('ledger CLI: an esdb:// URL with a mistyped or bad option is quoted without its password', async () => {
  const port = await closedPort();
  for (const option of ['nodePrefrence=leader', 'tls=maybe']) {
    const run = await ledger(['replay', '--store', `esdb://bob:${PASSWORD}@127.0.0.1:${port}?tls=false&${option}`]);
    assert.is(run.code, 2, run.stderr);
    assert.not.ok(`${run.stdout}${run.stderr}`.includes(PASSWORD), run.stderr);
  }
  const typo = await ledger([
    'replay',
    '--store',
    `esdb://bob:${PASSWORD}@127.0.0.1:${port}?tls=false&nodePrefrence=leader`,
  ]);
  assert.match(typo.stderr, /esdb:\/\/bob:\*\*\*@127\.0\.0\.1/);
});

test('ledger CLI: a refused (mysql://) or unreachable (postgres://) store URL is quoted without its password', async () => {
  for (const scheme of ['mysql', 'postgres']) {
    const url = `${scheme}://bob:${PASSWORD}@db.invalid/ledger`;
    for (const args of [['replay', '--store', url], ['replay']]) {
      const run = await ledger(args, { LEDGER_STORE: url });
      assert.is(run.code, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`${scheme}://bob:\\*\\*\\*@db`));
      assert.not.ok(`${run.stdout}${run.stderr}`.includes(PASSWORD), run.stderr);
    }
  }
});

test('configuration errors never quote a password', () => {
  try {
    loadConfig({ LEDGER_STORE: `mysql://bob:${PASSWORD}@db/ledger`, PORT: `esdb://x:${PASSWORD}@h` });
    assert.unreachable('the configuration is refused');
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.match((error as Error).message, /LEDGER_STORE/);
    assert.not.ok((error as Error).message.includes(PASSWORD));
  }
});

test('the server on an unreachable esdb:// store: /ready and every log line (debug) without the password', async () => {
  const store = `esdb://bob:${PASSWORD}@127.0.0.1:${await closedPort()}?tls=false`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      LEDGER_STORE: store,
      // Not the default ./data: a test writes only under the temp dir.
      LEDGER_READ_MODELS: join(tempDir('redaction'), 'read-models.db'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'trace',
      LEDGER_API_KEYS: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
        if (line) resolve(JSON.parse(line).url);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
    const ready = await send(url, 'GET', '/ready');
    assert.is(ready.status, 503, ready.text);
    assert.not.ok(ready.text.includes(PASSWORD), ready.text);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the projections' retries log meanwhile
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  assert.ok(output.length > 0);
  assert.not.ok(output.includes(PASSWORD), output);
});

test('a log line that quotes a connection string is written redacted', async () => {
  const script = `import { createLogger } from './src/log.ts';
    const log = createLogger('info');
    const url = 'esdb://bob:${PASSWORD}@h:2113';
    log.error({ err: new Error('connect failed: ' + url), store: url }, 'store ' + url + ' down');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await once(child, 'exit');
  assert.match(output, /bob:\*\*\*@h:2113/);
  assert.not.ok(output.includes(PASSWORD), output);
});

test.run();
