/**
 * Readiness tells the truth about writes: when the SQLite file was removed, replaced, made
 * read-only, or its disk filled up, /ready answers 503 saying why (within 2 s), and commands
 * answer 503 store-unavailable instead of a 201 that a restart would lose.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fillDisk, mountTmpfs, tmpfsUnavailable } from '../support/disk.ts';
import { orderBody, send, startTestServer, type Sent, type TestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('http: readiness of the SQLite store');
const isRoot = process.getuid?.() === 0;

/** Polls /ready until it answers 503 or `boundMs` passes; returns the last answer. */
async function readyWithin(url: string, boundMs: number, status: number): Promise<Sent> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const response = await send(url, 'GET', '/ready');
    if (response.status === status || Date.now() >= deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function assertStoreNotReady(response: Sent, why: RegExp): void {
  assertProblem(response, 503, 'not-ready');
  const store = response.json.checks.find((c: { name: string }) => c.name.startsWith('event-store'));
  assert.is(store.ok, false);
  assert.match(store.detail, why);
}

async function withServer(dbPath: string, act: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startTestServer({ dbPath });
  try {
    assert.is((await send(server.url, 'PUT', '/orders/before', { body: orderBody() })).status, 201);
    assert.is((await send(server.url, 'GET', '/ready')).status, 200);
    await act(server);
  } finally {
    await server.close();
  }
}

test('rm -rf of the data directory: /ready 503 within 2 s, commands 503 store-unavailable', async () => {
  const data = join(tempDir('ready-rm'), 'data');
  mkdirSync(data);
  await withServer(join(data, 'ledger.db'), async ({ url }) => {
    rmSync(data, { recursive: true, force: true });
    assertStoreNotReady(await readyWithin(url, 2_000, 503), /removed/);
    const command = await send(url, 'PUT', '/orders/after', { body: orderBody() });
    assertProblem(command, 503, 'store-unavailable');
    assert.ok(command.headers['retry-after']);
  });
});

test('rm -rf of the data directory: a keyed command (key binding and effect in one write) answers 503, not 201', async () => {
  const data = join(tempDir('ready-rm-keyed'), 'data');
  mkdirSync(data);
  await withServer(join(data, 'ledger.db'), async ({ url }) => {
    rmSync(data, { recursive: true, force: true });
    // No /ready first: the write path must see the removal on its own.
    const created = await send(url, 'POST', '/orders', {
      body: orderBody(),
      headers: { 'idempotency-key': 'after-rm' },
    });
    assertProblem(created, 503, 'store-unavailable');
    const put = await send(url, 'PUT', '/orders/after-keyed', {
      body: orderBody(),
      headers: { 'idempotency-key': 'k2' },
    });
    assertProblem(put, 503, 'store-unavailable');
  });
});

test('the file replaced by another (a restore copied over it): /ready 503, commands 503', async () => {
  const dir = tempDir('ready-replaced');
  const dbPath = join(dir, 'ledger.db');
  await withServer(dbPath, async ({ url }) => {
    copyFileSync(dbPath, join(dir, 'copy.db'));
    renameSync(join(dir, 'copy.db'), dbPath);
    assertStoreNotReady(await readyWithin(url, 2_000, 503), /replaced/);
    assertProblem(await send(url, 'PUT', '/orders/after', { body: orderBody() }), 503, 'store-unavailable');
  });
});

/**
 * Root writes through permission bits, so for root "read-only" is an immutable file (ext4 and
 * most disk filesystems); returns how to undo it, or why it cannot be done here.
 */
function makeReadOnly(path: string): { undo: () => void } | string {
  if (!isRoot) {
    const mode = statSync(path).mode;
    chmodSync(path, mode & 0o555);
    return { undo: () => chmodSync(path, mode) };
  }
  try {
    execFileSync('chattr', ['+i', path], { stdio: 'pipe' });
    return { undo: () => execFileSync('chattr', ['-i', path]) };
  } catch (error) {
    return `running as root and chattr +i failed (${(error as Error).message.split('\n')[0]})`;
  }
}

for (const what of ['file', 'directory'] as const) {
  test(`a read-only ${what}: /ready 503 within 2 s, commands 503; writable again: ready and 201`, async () => {
    const dir = tempDir('ready-ro');
    const dbPath = join(dir, 'ledger.db');
    await withServer(dbPath, async ({ url }) => {
      const readOnly = makeReadOnly(what === 'file' ? dbPath : dir);
      if (typeof readOnly === 'string') {
        console.log(`skipped the read-only ${what} case: ${readOnly}`);
        return;
      }
      try {
        const why = new RegExp(`the ${what === 'file' ? 'database file' : what} .* is read-only`);
        assertStoreNotReady(await readyWithin(url, 2_000, 503), why);
        assertProblem(await send(url, 'PUT', '/orders/after', { body: orderBody() }), 503, 'store-unavailable');
      } finally {
        readOnly.undo();
      }
      assert.is((await readyWithin(url, 2_000, 200)).status, 200);
      assert.is((await send(url, 'PUT', '/orders/after', { body: orderBody() })).status, 201);
    });
  });
}

test('a full disk (a small tmpfs): /ready 503 "full" within 2 s; space back: ready again', async () => {
  const unavailable = tmpfsUnavailable();
  if (unavailable) {
    console.log(`skipped the full-disk case: ${unavailable}`);
    return;
  }
  const disk = join(tempDir('ready-full'), 'disk');
  mkdirSync(disk);
  let unmount: () => void;
  try {
    unmount = mountTmpfs(disk, '8m');
  } catch (error) {
    console.log(`skipped the full-disk case: mount failed (${(error as Error).message.split('\n')[0]})`);
    return;
  }
  try {
    await withServer(join(disk, 'ledger.db'), async ({ url }) => {
      const filler = join(disk, 'filler');
      fillDisk(filler);
      assertStoreNotReady(await readyWithin(url, 2_000, 503), /full/);
      assertProblem(await send(url, 'PUT', '/orders/after', { body: orderBody() }), 503, 'store-unavailable');
      rmSync(filler);
      assert.is((await readyWithin(url, 2_000, 200)).status, 200);
      assert.is((await send(url, 'PUT', '/orders/after', { body: orderBody() })).status, 201);
    });
  } finally {
    unmount();
  }
});

test.run();
