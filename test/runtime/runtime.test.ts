/**
 * The production runtime: `npm start` is one node process that SIGTERM stops whole, the compiled
 * build serves on its own, and the Dockerfile runs that build directly on an LTS image.
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, sleep } from '../reliability/server-process.ts';
import { tempDir } from '../support/temp.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

/** Every live process whose parent chain reaches `pid`, from /proc. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces or parentheses: the fields start after its last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while it was being listed.
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitReady(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ready`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`no /ready on port ${port} within ${deadlineMs} ms`);
}

function startProcess(command: string, args: string[], port: number) {
  const dir = tempDir('runtime');
  return spawn(command, args, {
    cwd: root,
    env: { ...process.env, PORT: String(port), LEDGER_STORE: `sqlite:${join(dir, 'ledger.db')}`, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
}

function exited(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

test('npm start is stopped whole by one SIGTERM: no process of it is left', async () => {
  const port = await freePort();
  const npm = startProcess('npm', ['start', '--silent'], port);
  await waitReady(port, 30_000);
  const started = descendantsOf(npm.pid!);
  assert.ok(started.length >= 1, 'npm start runs the server as a child');
  npm.kill('SIGTERM');
  // npm re-raises the signal its child ended on, so it ends by SIGTERM rather than with a code.
  await exited(npm);
  assert.ok(npm.exitCode === 0 || npm.signalCode === 'SIGTERM', `npm ended with ${npm.exitCode ?? npm.signalCode}`);
  const until = Date.now() + 5_000;
  while (started.some(alive) && Date.now() < until) await sleep(50);
  assert.equal(started.filter(alive), [], 'every process npm start began has ended');
});

test('the compiled build serves /ready from node dist/main.js, without tsx', async () => {
  await run('npm', ['run', 'build', '--silent'], { cwd: root });
  const port = await freePort();
  const node = startProcess(process.execPath, ['dist/main.js'], port);
  try {
    await waitReady(port, 20_000);
    assert.equal(descendantsOf(node.pid!), [], 'one process: no loader child');
  } finally {
    node.kill('SIGTERM');
    assert.is(await exited(node), 0);
  }
});

test('the Dockerfile runs the build with node on an LTS image, with a readiness health check', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const froms = [...dockerfile.matchAll(/^FROM\s+node:(\d+)/gm)].map((match) => Number(match[1]));
  assert.ok(froms.length >= 2, 'a build stage and a runtime stage');
  for (const major of froms) assert.ok(major % 2 === 0 && major >= 24, `node:${major} is an LTS line still supported`);
  assert.match(dockerfile, /^CMD \["node", "dist\/main\.js"\]$/m);
  assert.match(dockerfile, /^HEALTHCHECK .*\n?.*\/ready/m);
  assert.not.match(dockerfile, /^CMD \["npm"/m, 'npm as PID 1 would swallow SIGTERM');
  assert.match(dockerfile, /^USER node$/m);
});

test.run();
