/**
 * A background job: a module run on a worker thread of its own, off the event loop that serves
 * HTTP. The host starts it, passes messages both ways, relays its log lines to the process's
 * logger, and stops it on shutdown. A job that crashes is logged (`alert: background-job-crashed`)
 * and started again after a back-off; past `maxRestarts` crashes within `restartWindowMs` the host
 * gives up and says so (state 'failed'), so a job that crashes at once on every start does not spin.
 */
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { messageOf, type FromJob, type ToJob } from './protocol.ts';
import { startModuleWorker } from './thread.ts';

export interface JobLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BackgroundJobOptions<Out> {
  /** For logs and readiness: what the job is ("projections", "payments"). */
  readonly name: string;
  /** The job's module: it calls runBackgroundJob (src/background/job.ts). */
  readonly module: URL;
  /** Handed to the job on every start (structured-cloneable: no functions, no handles). */
  readonly data: unknown;
  readonly logger: JobLogger;
  readonly onMessage?: (message: Out) => void;
  /** Called each time the job (re)started and said it is ready. */
  readonly onReady?: () => void;
  /** Crashes tolerated within restartWindowMs before the host gives up (default 5 in 60 s). */
  readonly maxRestarts?: number;
  readonly restartWindowMs?: number;
  /** First delay before a restart (default 100 ms), doubling up to 5 s. */
  readonly restartDelayMs?: number;
  /** How long stop() waits for the job to finish its work before terminating the thread (default 10 s). */
  readonly stopTimeoutMs?: number;
  readonly resourceLimits?: ResourceLimits;
}

export type JobState = 'running' | 'restarting' | 'failed' | 'stopped';

export interface BackgroundJob<In> {
  /** Delivered while the job runs; dropped while it restarts (a job must not depend on any one message). */
  post(message: In): void;
  readonly state: JobState;
  /** Crashes since the host started. */
  readonly crashes: number;
  /** The last crash, in words. */
  readonly lastCrash: string | undefined;
  /** Asks the job to stop, waits for it (bounded), then ends the thread. Idempotent. */
  stop(): Promise<void>;
}

const MAX_RESTART_DELAY_MS = 5_000;

/** Resolves once the job's first start said it is ready; rejects when that first start fails. */
export function startBackgroundJob<In, Out>(options: BackgroundJobOptions<Out>): Promise<BackgroundJob<In>> {
  const { name, logger } = options;
  const maxRestarts = options.maxRestarts ?? 5;
  const windowMs = options.restartWindowMs ?? 60_000;
  const crashTimes: number[] = [];
  let state: JobState = 'running';
  let worker: Worker | undefined;
  let ready = false;
  let crashes = 0;
  let lastCrash: string | undefined;
  let delay = options.restartDelayMs ?? 100;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let firstStart: { resolve: () => void; reject: (error: Error) => void } | undefined;

  function launch(): void {
    ready = false;
    let failure: string | undefined;
    const thread = startModuleWorker(options.module, {
      workerData: options.data,
      ...(options.resourceLimits && { resourceLimits: options.resourceLimits }),
    });
    worker = thread;
    thread.on('message', (message: FromJob<Out>) => {
      switch (message.bg) {
        case 'ready':
          ready = true;
          delay = options.restartDelayMs ?? 100;
          firstStart?.resolve();
          firstStart = undefined;
          options.onReady?.();
          return;
        case 'start-failed':
          failure = message.error;
          return;
        case 'message':
          options.onMessage?.(message.body);
          return;
        case 'log':
          logger[message.level]({ job: name, ...message.obj }, message.msg);
          return;
        case 'stopped':
          return;
      }
    });
    thread.on('error', (error) => {
      failure ??= messageOf(error);
    });
    thread.on('exit', (code) => {
      if (worker === thread) worker = undefined;
      if (state === 'stopped') return;
      const reason = failure ?? `the thread exited with code ${code}`;
      if (firstStart) {
        // The first start failed: the caller gets the error, as it would from a job run in-process.
        firstStart.reject(new Error(`background job ${name} could not start: ${reason}`));
        firstStart = undefined;
        state = 'stopped';
        return;
      }
      crashed(reason, ready);
    });
  }

  function crashed(reason: string, wasReady: boolean): void {
    crashes += 1;
    lastCrash = reason;
    const now = Date.now();
    crashTimes.push(now);
    while (crashTimes.length > 0 && crashTimes[0]! < now - windowMs) crashTimes.shift();
    if (crashTimes.length > maxRestarts) {
      state = 'failed';
      logger.error(
        { alert: 'background-job-failed', job: name, crashes, err: reason },
        `background job crashed ${crashTimes.length} times within ${windowMs} ms; not restarting it`,
      );
      return;
    }
    state = 'restarting';
    logger.error(
      { alert: 'background-job-crashed', job: name, crashes, restartInMs: delay, wasReady, err: reason },
      'background job crashed; restarting it',
    );
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (state !== 'restarting') return;
      state = 'running';
      launch();
    }, delay);
    delay = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
  }

  const job: BackgroundJob<In> = {
    post(message) {
      if (worker && ready) worker.postMessage({ bg: 'message', body: message } satisfies ToJob<In>);
    },
    get state() {
      return state;
    },
    get crashes() {
      return crashes;
    },
    get lastCrash() {
      return lastCrash;
    },
    stop: () =>
      (stopping ??= (async () => {
        state = 'stopped';
        clearTimeout(restartTimer);
        const thread = worker;
        if (!thread) return;
        const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
        thread.postMessage({ bg: 'stop' } satisfies ToJob<In>);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(resolve, options.stopTimeoutMs ?? 10_000, 'timeout');
        });
        if ((await Promise.race([exited, timedOut])) === 'timeout') {
          logger.warn({ job: name }, 'background job did not stop in time; terminating its thread');
          await thread.terminate();
        }
        clearTimeout(timer);
      })()),
  };

  return new Promise<BackgroundJob<In>>((resolve, reject) => {
    firstStart = { resolve: () => resolve(job), reject };
    launch();
  });
}
