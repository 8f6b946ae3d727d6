/**
 * A stand-in for the EventStoreDB client's transport, for tests of the adapter's own logic (what
 * it sends, how it settles an unknown outcome, how it maps refusals). It keeps streams in memory
 * with the server's append rules (expected revision, idempotent re-append of the same ids) and
 * lets a test decide, call by call, what the "server" does. The refusals are built the way the
 * 6.x client builds them from what a v24.10 server sends (see `serverRefusal`).
 */
import { Readable } from 'node:stream';
import {
  BACKWARDS,
  END,
  type AppendResult as EsdbAppendResult,
  type EventData,
  NotLeaderError,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent as EsdbRecordedEvent,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
// CommonJS modules of the client and of google-protobuf (no named exports under ESM).
import unpackError from '@eventstore/db-client/dist/streams/appendToStream/unpackError.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import statusPb from '@eventstore/db-client/generated/status_pb.js';
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import type { EsdbClient, EsdbConnection } from '../../src/eventstore/esdb-client.ts';

const { unpackToCommandError } = unpackError;
const { Timeout } = sharedPb;
const { Status } = statusPb;
const { Any } = anyPb;
const { Empty } = emptyPb;

/**
 * A batch-append refusal as the client converts it: the google.rpc.Status the server writes into
 * BatchAppendResp.Error (Streams.BatchAppend.cs), through the client's own unpackToCommandError.
 * - 'timeout': Status.Timeout (details event_store.client.Timeout), sent when the write timed out
 *   or was dropped (IdempotentNotReady) → DeadlineExceededError without a code.
 * - a NotHandled reason: details google.protobuf.Empty and the reason as message
 *   ("Server Is Not Ready", "Server Is Busy") → UnknownError without a code.
 */
export function serverRefusal(
  kind: 'timeout' | 'Server Is Not Ready' | 'Server Is Busy' | 'Server Is Too Busy',
): Error {
  const status = new Status();
  const details = new Any();
  if (kind === 'timeout') {
    details.pack(new Timeout().serializeBinary(), 'event_store.client.Timeout');
    status.setMessage('Timeout');
  } else {
    details.pack(new Empty().serializeBinary(), 'google.protobuf.Empty');
    status.setMessage(kind);
  }
  status.setDetails(details);
  return unpackToCommandError(status, 'order-x');
}

/** A NotLeaderError as convertToCommandError builds it from a gRPC error whose `exception` is not-leader. */
export function notLeader(host = 'esdb2', port = 2113): NotLeaderError {
  const map = { exception: 'not-leader', 'leader-endpoint-host': host, 'leader-endpoint-port': String(port) };
  const error = { code: 5, details: 'Leader info available', message: '5 NOT_FOUND: Leader info available' };
  return new NotLeaderError({ ...error, metadata: { getMap: () => map } } as unknown as ConstructorParameters<
    typeof NotLeaderError
  >[0]);
}

export interface AppendCall {
  readonly streamId: string;
  readonly ids: string[];
  readonly options: Record<string, unknown>;
}

export interface ReadCall {
  readonly streamId: string;
  readonly options: ReadStreamOptions;
}

/** What the "server" does with one append: write it now, or refuse it with an error. */
export type AppendDecision =
  | { readonly write: true; readonly delayMs?: number }
  | { readonly fail: Error; readonly delayMs?: number };

export class FakeEsdb {
  readonly appends: AppendCall[] = [];
  readonly reads: ReadCall[] = [];
  released = 0;
  private readonly streams = new Map<string, EsdbRecordedEvent[]>();
  private position = 1000n;
  /** Decides each append; the default writes at once. */
  decide: (call: AppendCall, index: number) => AppendDecision = () => ({ write: true });

  readonly connection: EsdbConnection = {
    client: this.client(),
    release: async () => {
      this.released++;
    },
  };

  stored(streamId: string): EsdbRecordedEvent[] {
    return this.streams.get(streamId) ?? [];
  }

  /** Another writer's events, written straight into the stream. */
  writeDirect(streamId: string, ids: string[]): void {
    const events = ids.map((id) => ({ id, type: 'Other', data: {}, metadata: {} }));
    this.commit(streamId, events as unknown as EventData[], this.revisionOf(streamId));
  }

  private revisionOf(streamId: string): bigint | 'no_stream' {
    const events = this.stored(streamId);
    return events.length === 0 ? 'no_stream' : BigInt(events.length - 1);
  }

  /** The server's append rules: the same ids at the expected revision are an idempotent success. */
  private commit(streamId: string, events: readonly EventData[], expected: unknown): EsdbAppendResult {
    const stored = this.stored(streamId);
    const from = expected === 'no_stream' ? 0 : Number(expected as bigint) + 1;
    const there = stored.slice(from, from + events.length);
    if (there.length === events.length && there.every((e, i) => e.id === events[i]!.id)) {
      const last = there.at(-1)!;
      return { success: true, nextExpectedRevision: last.revision, position: last.position };
    }
    if (stored.length !== from) {
      throw new WrongExpectedVersionError(undefined, {
        streamName: streamId,
        expected: expected as bigint | 'no_stream',
        current: this.revisionOf(streamId),
      });
    }
    const written = events.map((e, i): EsdbRecordedEvent => {
      this.position += 100n;
      return {
        streamId,
        id: e.id,
        revision: BigInt(from + i),
        type: e.type,
        data: e.data as EsdbRecordedEvent['data'],
        metadata: e.metadata as EsdbRecordedEvent['metadata'],
        isJson: true,
        created: new Date(),
        position: { commit: this.position, prepare: this.position },
      } as EsdbRecordedEvent;
    });
    this.streams.set(streamId, [...stored, ...written]);
    const last = written.at(-1)!;
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  private client(): EsdbClient {
    const fake = {
      appendToStream: async (streamId: string, event: EventData | EventData[], options: Record<string, unknown>) => {
        const events = Array.isArray(event) ? event : [event];
        const call = { streamId, ids: events.map((e) => e.id), options };
        const decision = this.decide(call, this.appends.push(call) - 1);
        if (decision.delayMs) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
        if ('fail' in decision) throw decision.fail;
        return this.commit(streamId, events, options.expectedRevision);
      },
      readStream: (streamId: string, options: ReadStreamOptions = {}) => {
        this.reads.push({ streamId, options });
        const events = this.stored(streamId);
        if (events.length === 0) return streamingRead([], new StreamNotFoundError(undefined, streamId));
        const from = typeof options.fromRevision === 'bigint' ? Number(options.fromRevision) : 0;
        const end = options.maxCount === undefined ? undefined : from + Number(options.maxCount);
        return streamingRead(events.slice(from, end));
      },
      readAll: (options: ReadAllOptions = {}) => {
        let all = [...this.streams.values()].flat().sort((a, b) => (a.position!.commit < b.position!.commit ? -1 : 1));
        if (options.direction === BACKWARDS) all = all.reverse();
        const from = options.fromPosition;
        if (from !== undefined && typeof from === 'object') {
          all = all.filter((e) =>
            options.direction === BACKWARDS ? e.position!.commit <= from.commit : e.position!.commit >= from.commit,
          );
        } else if (from === END && options.direction !== BACKWARDS) all = [];
        return streamingRead(all.slice(0, options.maxCount === undefined ? undefined : Number(options.maxCount)));
      },
      // Live delivery is not what these tests are about: a subscription that stays open until cancelled.
      subscribeToAll: () => {
        const live = new Readable({ objectMode: true, read() {} });
        return Object.assign(live, { unsubscribe: async () => void live.push(null) });
      },
    };
    return fake as unknown as EsdbClient;
  }
}

/** A finished server stream, as the client's StreamingRead: objects, then the end (or an error). */
function streamingRead(events: readonly EsdbRecordedEvent[], error?: Error): Readable {
  const items = events.map((event) => ({ event }));
  const read = new Readable({
    objectMode: true,
    read() {
      const next = items.shift();
      if (next) this.push(next);
      else if (error) this.destroy(error);
      else this.push(null);
    },
  });
  return Object.assign(read, { cancel: async () => undefined });
}
