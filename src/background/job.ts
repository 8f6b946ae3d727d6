/**
 * The worker-thread side of a background job (see host.ts): start the job with the data the host
 * sent, say when it is ready, pass messages, send log lines to the host's logger, and stop the
 * job when asked. The thread then ends on its own, once nothing of the job is left running.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { JobLogger } from './host.ts';
import { messageOf, type FromJob, type LogLevel, type ToJob } from './protocol.ts';

export interface JobContext<In, Out> {
  readonly data: unknown;
  readonly logger: JobLogger;
  post(message: Out): void;
  onMessage(handler: (message: In) => void): void;
}

export interface RunningJob {
  /** Finishes the work in hand and releases what the job opened. */
  stop(): Promise<void>;
}

export function runBackgroundJob<In, Out>(start: (context: JobContext<In, Out>) => Promise<RunningJob>): void {
  const port = parentPort;
  if (!port) throw new Error('a background job runs only on a worker thread');
  const send = (message: FromJob<Out>) => port.postMessage(message);
  const log =
    (level: LogLevel) =>
    (obj: object, msg: string): void =>
      send({ bg: 'log', level, obj: loggable(obj), msg });
  let handler: (message: In) => void = () => {};
  let running: RunningJob | undefined;
  let stopRequested = false;

  const stop = async (): Promise<void> => {
    try {
      await running?.stop();
    } finally {
      send({ bg: 'stopped' });
      port.close();
    }
  };

  port.on('message', (message: ToJob<In>) => {
    if (message.bg === 'message') handler(message.body);
    else if (!stopRequested) {
      stopRequested = true;
      // Asked to stop while still starting: it stops once started.
      if (running) void stop();
    }
  });

  const context: JobContext<In, Out> = {
    data: workerData,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    post: (body) => send({ bg: 'message', body }),
    onMessage: (next) => {
      handler = next;
    },
  };
  start(context).then(
    (job) => {
      running = job;
      send({ bg: 'ready' });
      if (stopRequested) void stop();
    },
    (error: unknown) => {
      send({ bg: 'start-failed', error: messageOf(error) });
      port.close();
    },
  );
}

/** Log fields as structured clone carries them: an error as its name, message and stack (its class is lost). */
function loggable(obj: object): object {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    fields[key] = value instanceof Error ? { type: value.name, message: value.message, stack: value.stack } : value;
  }
  return fields;
}
