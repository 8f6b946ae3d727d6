/**
 * Reading the log past records that cannot be read. A store's readAll and subscribe end with a
 * CorruptEventError at the first unreadable row; whoever must go on (the audit, an export that
 * skips, the projection runner) gets that error as an entry in its place and the rest of the
 * log after it. Only an error that names a position past the last one read is passed over:
 * anything else would loop on the same row, so it is thrown.
 */
import { CorruptEventError } from './errors.ts';
import type { EventStore, ReadAllOptions, RecordedEvent, SubscribeOptions, SubscriptionItem } from './port.ts';

/** One place in the log: the stored event, or why the record there cannot be read. */
export type LogEntry = RecordedEvent | CorruptEventError;

export type LiveEntry = SubscriptionItem | { readonly kind: 'corrupt'; readonly error: CorruptEventError };

export async function* readAllEntries(
  store: Pick<EventStore, 'readAll'>,
  options: ReadAllOptions = {},
): AsyncGenerator<LogEntry> {
  let after = options.after;
  let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
  while (remaining > 0) {
    const page = {
      ...options,
      ...(after !== undefined && { after }),
      ...(Number.isFinite(remaining) && { maxCount: remaining }),
    };
    try {
      for await (const record of store.readAll(page)) {
        after = record.position;
        remaining -= 1;
        yield record;
      }
      return;
    } catch (error) {
      const corrupt = passable(error, after);
      after = corrupt.position;
      remaining -= 1;
      yield corrupt;
    }
  }
}

/** A live subscription whose unreadable records are entries too; it resumes right after each one. */
export async function* subscribeEntries(
  store: Pick<EventStore, 'subscribe'>,
  options: SubscribeOptions,
): AsyncGenerator<LiveEntry> {
  let after = options.after;
  for (;;) {
    try {
      for await (const item of store.subscribe({ ...(after !== undefined && { after }), signal: options.signal })) {
        if (item.kind === 'event') after = item.event.position;
        yield item;
      }
      return;
    } catch (error) {
      const corrupt = passable(error, after);
      after = corrupt.position;
      yield { kind: 'corrupt', error: corrupt };
    }
  }
}

function passable(error: unknown, after: bigint | undefined): CorruptEventError {
  if (!(error instanceof CorruptEventError) || (after !== undefined && error.position <= after)) throw error;
  return error;
}
