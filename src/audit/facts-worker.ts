/**
 * A worker thread that turns position ranges of the log into facts. It opens the store itself
 * (its own SQLite connection), so no event body ever crosses between threads: only the small
 * facts travel back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readAllEntries } from '../eventstore/log-entries.ts';
import { openStore } from '../eventstore/open-store.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import { factsOf, packFacts, type PackedFacts } from './facts.ts';

export interface ChunkRequest {
  readonly chunk: number;
  readonly after: bigint;
  readonly upTo: bigint;
}

export type ChunkReply =
  | { readonly chunk: number; readonly facts: PackedFacts[] }
  | { readonly chunk: number; readonly error: string };

const port = parentPort;
if (!port) throw new Error('facts-worker.ts runs only as a worker thread');
const store = await openStore((workerData as { location: StoreLocation }).location);

port.on('message', async (request: ChunkRequest | 'close') => {
  if (request === 'close') {
    await store.close();
    port.close();
    return;
  }
  try {
    const facts: PackedFacts[] = [];
    for await (const entry of readAllEntries(store, { after: request.after, upTo: request.upTo })) {
      facts.push(packFacts(factsOf(entry)));
    }
    port.postMessage({ chunk: request.chunk, facts } satisfies ChunkReply);
  } catch (error) {
    port.postMessage({
      chunk: request.chunk,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    } satisfies ChunkReply);
  }
});
