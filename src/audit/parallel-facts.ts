/**
 * Facts for a position range, computed by worker threads and handed back in log order. Decoding
 * and re-hashing cost four times what reading does, and they are independent per event, so
 * they spread over the cores; the order-sensitive checks stay on one thread. A few chunks are
 * in flight at a time, which bounds the memory whatever the size of the log.
 */
import type { Worker } from 'node:worker_threads';
import { moduleBeside, startModuleWorker } from '../background/thread.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import { unpackFacts, type EventFacts } from './facts.ts';
import type { ChunkReply, ChunkRequest } from './facts-worker.ts';

export interface ParallelFactsOptions {
  /** A store URL each worker can open on its own (SQLite: its own connection to the same file). */
  readonly location: StoreLocation;
  readonly after: bigint;
  readonly upTo: bigint;
  readonly workers: number;
  /** Positions per chunk; SQLite positions are dense, so this is about the events per chunk. */
  readonly chunkWidth?: bigint;
}

const WORKER_URL = moduleBeside(import.meta.url, 'facts-worker');

export async function* parallelFacts(options: ParallelFactsOptions): AsyncGenerator<readonly EventFacts[]> {
  const width = options.chunkWidth ?? 4_096n;
  const chunks = Number((options.upTo - options.after + width - 1n) / width);
  const workerData = { location: options.location };
  const workers = Array.from({ length: options.workers }, () => startModuleWorker(WORKER_URL, { workerData }));
  const done = new Map<number, readonly EventFacts[]>();
  let failure: Error | undefined;
  let wake: () => void = () => {};

  workers.forEach((worker) => {
    worker.on('message', (reply: ChunkReply) => {
      if ('error' in reply) failure ??= new Error(`audit worker failed on chunk ${reply.chunk}: ${reply.error}`);
      else done.set(reply.chunk, reply.facts.map(unpackFacts));
      wake();
    });
    worker.on('error', (error) => {
      failure ??= error;
      wake();
    });
  });

  let requested = 0;
  const request = () => {
    const after = options.after + BigInt(requested) * width;
    const upTo = after + width < options.upTo ? after + width : options.upTo;
    workers[requested % workers.length]!.postMessage({ chunk: requested, after, upTo } satisfies ChunkRequest);
    requested += 1;
  };
  // Two chunks per worker: one being computed, one waiting to be consumed.
  const window = workers.length * 2;
  let finished = false;
  try {
    while (requested < Math.min(window, chunks)) request();
    for (let next = 0; next < chunks; next++) {
      while (!done.has(next)) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const facts = done.get(next)!;
      done.delete(next);
      if (requested < chunks) request();
      yield facts;
    }
    finished = true;
  } finally {
    // Done: each worker closes its connection and exits. Stopped early or failed: no waiting.
    await Promise.all(workers.map((worker) => (finished && !failure ? closeWorker(worker) : worker.terminate())));
  }
}

function closeWorker(worker: Worker): Promise<unknown> {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.postMessage('close' satisfies ChunkRequest | 'close');
  return exited;
}
