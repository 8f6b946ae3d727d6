/**
 * The background job host: messages both ways, log lines relayed, a crash reported and the job
 * started again, restarts bounded, a job that cannot start failing the start, and stop() ending
 * the thread after the job's own stop.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BackgroundJob, startBackgroundJob } from '../../src/background/host.ts';
import type { EchoIn, EchoOut } from './fixtures/echo-job.ts';

const MODULE = new URL('./fixtures/echo-job.ts', import.meta.url);

interface Logged {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

function harness(options: { failStart?: boolean; maxRestarts?: number } = {}) {
  const logged: Logged[] = [];
  const received: EchoOut[] = [];
  let readyCount = 0;
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const wake of [...waiters]) wake();
  };
  const record = (level: string) => (obj: object, msg: string) => {
    logged.push({ level, obj: obj as Record<string, unknown>, msg });
    changed();
  };
  const started = startBackgroundJob<EchoIn, EchoOut>({
    name: 'echo',
    module: MODULE,
    data: { failStart: options.failStart ?? false },
    logger: { info: record('info'), warn: record('warn'), error: record('error') },
    onMessage: (message) => {
      received.push(message);
      changed();
    },
    onReady: () => {
      readyCount += 1;
      changed();
    },
    restartDelayMs: 10,
    ...(options.maxRestarts !== undefined && { maxRestarts: options.maxRestarts }),
  });
  /** Resolves once `condition` holds (checked after every event of the job), failing after 20 s. */
  const until = async (condition: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        waiters.add(resolve);
        setTimeout(resolve, 100);
      });
      waiters.clear();
    }
  };
  return { started, logged, received, until, ready: () => readyCount };
}

test('messages go both ways and log lines reach the host logger, labelled with the job', async () => {
  const h = harness();
  const job = await h.started;
  try {
    job.post({ cmd: 'echo', text: 'hello' });
    await h.until(() => h.received.length === 1, 'the echo');
    assert.equal((h.received[0] as { echo: string }).echo, 'hello');
    const line = h.logged.find((l) => l.msg === 'echoing');
    assert.ok(line, 'the job logged through the host');
    assert.is(line.obj.job, 'echo');
    assert.is(line.obj.text, 'hello');
  } finally {
    await job.stop();
  }
  assert.is(job.state, 'stopped');
  // The job's own stop ran before its thread ended.
  assert.ok(h.received.some((m) => 'stopped' in m));
});

test('a crash is reported and the job starts again; it answers afterwards', async () => {
  const h = harness();
  const job: BackgroundJob<EchoIn> = await h.started;
  try {
    job.post({ cmd: 'crash' });
    await h.until(() => h.ready() === 2, 'the restart');
    assert.is(job.crashes, 1);
    assert.match(job.lastCrash ?? '', /crashed on request/);
    const alert = h.logged.find((l) => l.obj.alert === 'background-job-crashed');
    assert.ok(alert, 'the crash is logged with its alert');
    assert.is(alert.level, 'error');
    assert.match(String(alert.obj.err), /crashed on request/);
    job.post({ cmd: 'echo', text: 'after' });
    await h.until(() => h.received.some((m) => 'echo' in m && m.echo === 'after'), 'the echo after the restart');
    assert.is(job.state, 'running');
  } finally {
    await job.stop();
  }
});

test('restarts are bounded: past maxRestarts crashes in the window the host gives up and says so', async () => {
  const h = harness({ maxRestarts: 2 });
  const job = await h.started;
  try {
    for (let crash = 1; crash <= 3; crash++) {
      await h.until(() => h.ready() === crash, `start ${crash}`);
      job.post({ cmd: 'crash' });
      await h.until(() => job.crashes === crash, `crash ${crash}`);
    }
    await h.until(() => job.state === 'failed', 'the host giving up');
    assert.is(h.ready(), 3, 'started once, restarted twice, then left stopped');
    assert.ok(h.logged.some((l) => l.obj.alert === 'background-job-failed'));
    job.post({ cmd: 'echo', text: 'nobody' });
  } finally {
    await job.stop();
  }
});

test('a job that cannot start fails the start with its reason, and is not restarted', async () => {
  const h = harness({ failStart: true });
  try {
    await h.started;
    assert.unreachable('the start should fail');
  } catch (error) {
    assert.match((error as Error).message, /could not start: Error: this job refuses to start/);
  }
  assert.is(h.ready(), 0);
});

test.run();
