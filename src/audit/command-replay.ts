/**
 * `ledger replay-commands`: the built-in proof that replayed commands are no-ops. Every stored
 * event is turned back into the command that produced it and run through the real command
 * handler against a scratch copy of the log.
 *
 * Each command first sees its stream as it stood just before its own event, so the handler
 * decides it afresh exactly as it once did: a genuine event comes out with the same
 * deterministic id, the store recognises the append as one it already holds and writes
 * nothing, the handler re-reads the stream as it is now and answers with the original result
 * (`replayed`). That is the path of a client's retry that raced its own original. An event the
 * command would not produce there is caught on the way: a capture the rules refuse (rejected),
 * content that differs from the decision (another id: decided differently), an event repeating
 * an earlier one's effect, or anything the handler actually writes.
 */
import type { OrderCommand } from '../domain/commands.ts';
import { DomainRejection } from '../domain/rejection.ts';
import { ZodError } from 'zod';
import { ConcurrencyExhaustedError } from '../commands/errors.ts';
import { createCommandHandler, type CommandOutcome } from '../commands/handler.ts';
import { CorruptEventError, WrongExpectedVersionError } from '../eventstore/errors.ts';
import { decorateStore } from '../eventstore/instrumented-store.ts';
import { readAllEntries, type LogEntry } from '../eventstore/log-entries.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { KEY_BOUND_TYPE } from '../events/binding-codec.ts';
import { commandDigestOf, decodeEvent, decodeStream, type LedgerEvent } from '../events/codec.ts';
import type { CommandContext } from '../events/metadata.ts';
import { FindingLog, type FindingCode, type FindingSummary } from './findings.ts';
import { scratchCopyOf } from './scratch-copy.ts';
import { describeSource, type LogSource, type ProgressListener } from './source.ts';

export interface CommandReplayResult {
  readonly source: string;
  readonly commands: number;
  /** Commands that came out as replays of their own stored event, writing nothing. */
  readonly replays: number;
  /** Events the replay wrote into the scratch copy (0 when every command is a no-op). */
  readonly newEvents: number;
  readonly findings: FindingSummary;
  readonly timing: { readonly startedAt: string; readonly seconds: number; readonly commandsPerSecond: number };
}

export interface CommandReplayOptions {
  readonly source: LogSource;
  /** Commands in flight at once (each on its own stream view, so order does not matter). */
  readonly concurrency?: number;
  readonly onCopyProgress?: ProgressListener;
  readonly onProgress?: ProgressListener;
}

type Verdict =
  | { readonly replay: true }
  | { readonly replay: false; readonly code: FindingCode; readonly message: string };

/** Replays every command of `source` on a scratch copy of it; the source itself is only read. */
export async function replayCommands(options: CommandReplayOptions): Promise<CommandReplayResult> {
  const startedAt = new Date();
  const started = performance.now();
  const scratch = await scratchCopyOf(options.source, options.onCopyProgress);
  try {
    const result = await replayAll(scratch.store, options);
    const seconds = (performance.now() - started) / 1000;
    return {
      source: describeSource(options.source),
      ...result,
      timing: {
        startedAt: startedAt.toISOString(),
        seconds,
        commandsPerSecond: seconds > 0 ? Math.round(result.commands / seconds) : 0,
      },
    };
  } finally {
    await scratch.dispose();
  }
}

async function replayAll(
  scratch: EventStore,
  options: CommandReplayOptions,
): Promise<Omit<CommandReplayResult, 'source' | 'timing'>> {
  const end = (await scratch.headPosition()) ?? 0n;
  const findings = new FindingLog();
  const concurrency = options.concurrency ?? 64;
  const running = new Set<Promise<void>>();
  let commands = 0;
  let replays = 0;
  let newEvents = 0;

  const settle = (record: LogEntry, verdict: Verdict | 'part-of-decision', written: number) => {
    newEvents += written;
    if (verdict === 'part-of-decision') commands -= 1;
    else if (verdict.replay) replays += 1;
    else
      findings.add(
        verdict.code,
        { stream: record.streamId, revision: record.revision, position: record.position },
        verdict.message,
      );
    options.onProgress?.(Number(record.position), Number(end));
  };

  if (end > 0n) {
    for await (const record of readAllEntries(scratch, { upTo: end })) {
      // A key binding records a request, not a command's effect: the audit checks it against its effect.
      if (!(record instanceof CorruptEventError) && record.type === KEY_BOUND_TYPE) continue;
      commands += 1;
      if (record instanceof CorruptEventError) {
        settle(record, { replay: false, code: 'command-unrebuildable', message: record.problem }, 0);
        continue;
      }
      const job: Promise<void> = replayOne(scratch, record)
        .then(({ verdict, written }) => settle(record, verdict, written))
        .finally(() => running.delete(job));
      running.add(job);
      if (running.size >= concurrency) await Promise.race(running);
    }
  }
  await Promise.all(running);
  // Jobs finish out of order (never by more than the concurrency): list the findings in log order.
  const summary = findings.summary();
  const listed = [...summary.listed].sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : 1));
  return { commands, replays, newEvents, findings: { ...summary, listed } };
}

/** 'part-of-decision': an event another event of its decision replays, no command of its own. */
interface Replayed {
  readonly verdict: Verdict | 'part-of-decision';
  readonly written: number;
}

async function replayOne(store: EventStore, record: RecordedEvent): Promise<Replayed> {
  let event: LedgerEvent;
  try {
    event = decodeEvent(record);
  } catch (error) {
    if (!(error instanceof CorruptEventError)) throw error;
    return { verdict: { replay: false, code: 'command-unrebuildable', message: error.problem }, written: 0 };
  }
  let from = record.position;
  if (event.event.type === 'AuthorizationVoided' || event.event.type === 'OrderCancelled') {
    const decision = await decisionOf(store, record);
    // A void its cancellation wrote is replayed with that cancellation, from where the decision began.
    if (decision.at(-1)?.event.type === 'OrderCancelled') {
      if (event.event.type !== 'OrderCancelled') return { verdict: 'part-of-decision', written: 0 };
      from = decision[0]!.position;
    }
  }
  const command = commandOf(event);
  const first = await replayFrom(store, record, from, command, event);
  // A capture of all of an authorization may have been asked for without an amount: a command of its own.
  if (command.type !== 'CaptureAuthorization' || first.verdict === 'part-of-decision' || first.verdict.replay) {
    return first;
  }
  const { amount: _amount, ...all } = command;
  const second = await replayFrom(store, record, from, all, event);
  return { verdict: second.verdict, written: first.written + second.written };
}

async function replayFrom(
  store: EventStore,
  record: RecordedEvent,
  from: bigint,
  command: OrderCommand,
  event: LedgerEvent,
): Promise<Replayed> {
  const view = rewound(store, from);
  // No jitter: a conflict here is a finding, not contention worth waiting out.
  const handle = createCommandHandler(view.store, { maxAttempts: 3, random: () => 0 });
  let outcome: CommandOutcome;
  try {
    outcome = await handle(command, contextOf(event));
  } catch (error) {
    return { verdict: failure(error), written: view.written() };
  }
  return { verdict: judge(record, outcome, view.firstAppend()), written: view.written() };
}

function judge(record: RecordedEvent, outcome: CommandOutcome, firstAppend: AppendSeen): Verdict {
  if (firstAppend === 'conflict') {
    return {
      replay: false,
      code: 'command-decided-differently',
      message:
        'decided again where it stood, the command produces other events than the stored one (its content was changed)',
    };
  }
  if (!outcome.replayed || firstAppend === 'written') {
    return {
      replay: false,
      code: 'command-wrote-events',
      message: `replaying the command wrote ${outcome.events.length} new event(s)`,
    };
  }
  if (!outcome.events.some((e) => e.metadata.hash === record.metadata.hash)) {
    return {
      replay: false,
      code: 'command-decided-differently',
      message: `the command had already taken effect at position ${outcome.position} before this event: the event repeats it`,
    };
  }
  return { replay: true };
}

function failure(error: unknown): Verdict {
  if (error instanceof DomainRejection) {
    return {
      replay: false,
      code: 'command-rejected',
      message: `decided again where it stood, the command is refused: ${error.rule} (${error.message})`,
    };
  }
  if (error instanceof CorruptEventError) {
    return {
      replay: false,
      code: 'command-unrebuildable',
      message: `its stream holds an event that fails its schema: ${error.message}`,
    };
  }
  // The event passes its own schema but the command rebuilt from it does not (e.g. lines whose total overflows).
  if (error instanceof ZodError) {
    return {
      replay: false,
      code: 'command-unrebuildable',
      message: `the rebuilt command fails its schema: ${error.issues.map((i) => i.message).join('; ')}`,
    };
  }
  // Only a command whose events differ from the stored ones keeps conflicting with them.
  if (error instanceof ConcurrencyExhaustedError) {
    return {
      replay: false,
      code: 'command-decided-differently',
      message: `the command's events conflict with the stored ones: ${error.message}`,
    };
  }
  throw error;
}

type AppendSeen = 'none' | 'duplicate' | 'written' | 'conflict';

/**
 * The store as the command first met it: the first read of a stream shows only the events
 * before `position`; every later read, and every append, is the real scratch store.
 */
function rewound(store: EventStore, position: bigint) {
  let rewinding = true;
  let first: AppendSeen = 'none';
  let written = 0;
  const view = decorateStore(store, {
    async readStream(streamId) {
      const events = await store.readStream(streamId);
      if (!rewinding) return events;
      rewinding = false;
      return events.filter((e) => e.position < position);
    },
    async append(streamId, events, expected) {
      try {
        const result = await store.append(streamId, events, expected);
        if (!result.duplicate) written += events.length;
        if (first === 'none') first = result.duplicate ? 'duplicate' : 'written';
        return result;
      } catch (error) {
        if (first === 'none' && error instanceof WrongExpectedVersionError) first = 'conflict';
        throw error;
      }
    },
    // Every write goes through `append` above, so each one is seen and counted.
    appendAtomically: undefined,
    snapshotTo: undefined,
    // The view never owns the store.
    close: async () => {},
  });
  return { store: view, firstAppend: () => first, written: () => written };
}

/** The command a stored event is the effect of: the inverse of the decider, field for field. */
export function commandOf(event: LedgerEvent): OrderCommand {
  const e = event.event;
  if (e.type === 'OrderCreated') {
    const { orderId, customerId, currency, lines } = e.data;
    return { type: 'CreateOrder', orderId, customerId, currency, lines };
  }
  switch (e.type) {
    case 'PaymentCaptured': {
      const { orderId, paymentId, amount, currency, authorizationId, pspReference, source, pspEventId } = e.data;
      if (pspReference !== undefined) {
        const outcome = { kind: 'captured' as const, pspReference };
        const reported = { source: source ?? 'processor', ...(pspEventId !== undefined && { pspEventId }) };
        const command = { type: 'RecordPaymentOutcome' as const, orderId, paymentId, outcome, ...reported };
        // A report that said what it charged (a webhook's) was recorded only if that was this money; the
        // request hash tells whether the command carried it (logs written before it was carried did not).
        const charged = { ...command, charged: { amount, currency } };
        return commandDigestOf(charged) === event.metadata.requestHash ? charged : command;
      }
      if (authorizationId !== undefined) {
        return { type: 'CaptureAuthorization', orderId, paymentId: authorizationId, amount };
      }
      return { type: 'CapturePayment', orderId, paymentId, amount, currency };
    }
    case 'PaymentAuthorized': {
      const { orderId, paymentId, amount, currency } = e.data;
      return { type: 'AuthorizePayment', orderId, paymentId, amount, currency };
    }
    case 'AuthorizationVoided':
      return { type: 'VoidAuthorization', orderId: e.data.orderId, paymentId: e.data.paymentId };
    case 'PaymentRefunded': {
      const { orderId, paymentId, refundId, amount } = e.data;
      return { type: 'RefundPayment', orderId, paymentId, refundId, amount };
    }
    case 'OrderCancelled':
      return { type: 'CancelOrder', orderId: e.data.orderId, reason: e.data.reason };
    case 'PaymentRequested':
      return { type: 'RequestPayment', ...e.data };
    case 'PaymentProcessingStarted': {
      const { attempt: _attempt, ...claim } = e.data;
      return { type: 'StartPaymentProcessing', ...claim };
    }
    case 'PaymentDeclined': {
      const { orderId, paymentId, code, message, pspReference, source, pspEventId } = e.data;
      const outcome = { kind: 'declined' as const, code, message, ...(pspReference !== undefined && { pspReference }) };
      return { type: 'RecordPaymentOutcome', orderId, paymentId, outcome, source, ...(pspEventId && { pspEventId }) };
    }
  }
}

/**
 * The events one decision wrote together around `record`: the same request, the same moment,
 * contiguous in its stream. A cancellation writes the voids of its open holds and then itself.
 */
async function decisionOf(store: EventStore, record: RecordedEvent): Promise<LedgerEvent[]> {
  const history = decodeStream(await store.readStream(record.streamId));
  const at = history.findIndex((e) => e.id === record.id);
  const own = history[at]!.metadata;
  const same = (e: LedgerEvent | undefined) =>
    e !== undefined &&
    e.metadata.requestHash === own.requestHash &&
    e.metadata.correlationId === own.correlationId &&
    e.metadata.recordedAt === own.recordedAt;
  let first = at;
  while (same(history[first - 1])) first -= 1;
  let last = at;
  while (same(history[last + 1])) last += 1;
  return history.slice(first, last + 1);
}

function contextOf(event: LedgerEvent): CommandContext {
  const m = event.metadata;
  return {
    clientId: m.clientId,
    correlationId: m.correlationId,
    requestHash: m.requestHash,
    ...(m.idempotencyKey !== undefined && { idempotencyKey: m.idempotencyKey }),
    ...(m.causationId !== undefined && { causationId: m.causationId }),
  };
}
