/**
 * The per-event half of the audit: everything that can be judged from one stored record alone
 * (its schema, its own hash) and the few fields the cross-event checks need. It is pure and
 * independent per event, which is what lets worker threads compute it in parallel; the facts
 * are small and hold no event body, so the checker's memory never grows with event sizes.
 */
import { orderTotal } from '../domain/commands.ts';
import { CorruptEventError, type StoredRevision } from '../eventstore/errors.ts';
import type { LogEntry } from '../eventstore/log-entries.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import { KEY_BOUND_TYPE, parseKeyBinding } from '../events/binding-codec.ts';
import { decodeEvent, type LedgerEvent } from '../events/codec.ts';
import { eventHash } from '../events/hash-chain.ts';

/** Who wrote an order event, and under which Idempotency-Key binding: what a key binding is checked against. */
export interface Origin {
  readonly clientId: string;
  readonly requestHash: string;
  /** metadata.keyBinding, '' when the event was written without a binding. */
  readonly keyBinding: string;
  /** Whether the metadata carries an Idempotency-Key. */
  readonly keyed: boolean;
}

export type FactEvent =
  | ({
      readonly type: 'OrderCreated';
      readonly orderId: string;
      readonly currency: string;
      readonly total: number;
      /** The sum of the lines, or undefined when it leaves the exact integer range. */
      readonly linesTotal: number | undefined;
    } & Origin)
  | ({
      readonly type: 'PaymentCaptured';
      readonly orderId: string;
      readonly paymentId: string;
      readonly amount: number;
      readonly currency: string;
      /** '' for a capture not made through the PSP. */
      readonly pspReference: string;
    } & Origin)
  | ({
      readonly type: 'PaymentRequested';
      readonly orderId: string;
      readonly paymentId: string;
      readonly amount: number;
      readonly currency: string;
    } & Origin)
  | ({ readonly type: 'PaymentProcessingStarted'; readonly orderId: string; readonly paymentId: string } & Origin)
  | ({
      readonly type: 'PaymentDeclined';
      readonly orderId: string;
      readonly paymentId: string;
      /** '' when the PSP named no charge. */
      readonly pspReference: string;
    } & Origin)
  | ({
      readonly type: 'PaymentAuthorized';
      readonly orderId: string;
      readonly paymentId: string;
      readonly amount: number;
      readonly currency: string;
    } & Origin)
  | ({ readonly type: 'AuthorizationVoided'; readonly orderId: string; readonly paymentId: string } & Origin)
  | ({
      readonly type: 'PaymentRefunded';
      readonly orderId: string;
      readonly paymentId: string;
      readonly refundId: string;
      readonly amount: number;
    } & Origin)
  | ({ readonly type: 'OrderCancelled'; readonly orderId: string } & Origin)
  | {
      readonly type: 'KeyBound';
      readonly clientId: string;
      readonly orderId: string;
      /** '' for a binding to an OrderCreated. */
      readonly paymentId: string;
      readonly effectStream: string;
      readonly effectEventId: string;
      readonly effectRequestHash: string;
    }
  | { readonly type: 'invalid'; readonly problem: string }
  /** The stored row itself cannot be read (not JSON, wrong column types, a bad time or revision). */
  | { readonly type: 'unreadable'; readonly problem: string };

export interface EventFacts {
  /** '' when the record cannot be read. */
  readonly id: string;
  readonly stream: string;
  /** A bigint for every readable record; the stored text only for an unreadable one. */
  readonly revision: StoredRevision;
  readonly position: bigint;
  /** Epoch ms of metadata.recordedAt (the ledger's own, hashed clock); the store's createdAt when unreadable. */
  readonly time: number;
  /** metadata.hash and metadata.prevHash as stored ('' when missing). */
  readonly hash: string;
  readonly prevHash: string;
  /** Whether recomputing the hash over the stored record gives metadata.hash. */
  readonly hashValid: boolean;
  /** The hash recomputed from the stored content ('' when the record cannot be read): what the digest is made of. */
  readonly contentHash: string;
  readonly event: FactEvent;
}

export function factsOf(entry: LogEntry): EventFacts {
  if (entry instanceof CorruptEventError) return unreadableFacts(entry);
  const record = entry;
  const hash = stringField(record.metadata.hash);
  const contentHash = eventHash(record);
  const recordedAt = Date.parse(stringField(record.metadata.recordedAt));
  return {
    id: record.id,
    stream: record.streamId,
    revision: record.revision,
    position: record.position,
    time: Number.isNaN(recordedAt) ? record.createdAt.getTime() : recordedAt,
    hash,
    prevHash: stringField(record.metadata.prevHash),
    hashValid: hash !== '' && contentHash === hash,
    contentHash,
    event: eventFacts(record),
  };
}

/** Nothing of an unreadable record is trusted but where it is; its time is unknown (NaN: inside any --as-of). */
function unreadableFacts(error: CorruptEventError): EventFacts {
  return {
    id: '',
    stream: error.streamId,
    revision: error.revision,
    position: error.position,
    time: Number.NaN,
    hash: '',
    prevHash: '',
    hashValid: false,
    contentHash: '',
    event: { type: 'unreadable', problem: error.problem },
  };
}

function eventFacts(record: RecordedEvent): FactEvent {
  let decoded: LedgerEvent;
  try {
    if (record.type === KEY_BOUND_TYPE) return keyBoundFacts(record);
    decoded = decodeEvent(record);
  } catch (error) {
    if (error instanceof CorruptEventError) return { type: 'invalid', problem: error.problem };
    throw error;
  }
  const { metadata } = decoded;
  const origin: Origin = {
    clientId: metadata.clientId,
    requestHash: metadata.requestHash,
    keyBinding: metadata.keyBinding ?? '',
    keyed: metadata.idempotencyKey !== undefined,
  };
  const { event } = decoded;
  switch (event.type) {
    case 'OrderCreated': {
      const { orderId, currency, total, lines } = event.data;
      return { type: 'OrderCreated', orderId, currency, total, linesTotal: linesTotalOf(lines), ...origin };
    }
    case 'PaymentCaptured': {
      const { orderId, paymentId, amount, currency, pspReference = '' } = event.data;
      return { type: event.type, orderId, paymentId, amount, currency, pspReference, ...origin };
    }
    case 'PaymentRequested':
    case 'PaymentAuthorized': {
      const { orderId, paymentId, amount, currency } = event.data;
      return { type: event.type, orderId, paymentId, amount, currency, ...origin };
    }
    case 'PaymentDeclined': {
      const { orderId, paymentId, pspReference = '' } = event.data;
      return { type: event.type, orderId, paymentId, pspReference, ...origin };
    }
    case 'AuthorizationVoided':
    case 'PaymentProcessingStarted':
      return { type: event.type, orderId: event.data.orderId, paymentId: event.data.paymentId, ...origin };
    case 'PaymentRefunded': {
      const { orderId, paymentId, refundId, amount } = event.data;
      return { type: event.type, orderId, paymentId, refundId, amount, ...origin };
    }
    case 'OrderCancelled':
      return { type: event.type, orderId: event.data.orderId, ...origin };
  }
}

function keyBoundFacts(record: RecordedEvent): FactEvent {
  const { data } = parseKeyBinding(record);
  return {
    type: 'KeyBound',
    clientId: data.clientId,
    orderId: data.orderId,
    paymentId: data.paymentId ?? '',
    effectStream: data.effect.streamId,
    effectEventId: data.effect.eventId,
    effectRequestHash: data.effect.requestHash,
  };
}

function linesTotalOf(lines: Parameters<typeof orderTotal>[0]): number | undefined {
  try {
    return orderTotal(lines);
  } catch {
    return undefined;
  }
}

function stringField(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * EventFacts in positional form, for crossing between threads: structured clone writes every
 * key of every object, and the audit's main thread pays for reading them back once per event.
 * A tuple of primitives costs about half. Positions travel as numbers while they are exact.
 */
export type PackedFacts = readonly [
  id: string,
  stream: string,
  revision: string,
  position: number | string,
  time: number,
  hash: string,
  prevHash: string,
  hashValid: boolean,
  /** '' when it equals the stored hash (hashValid). */
  contentHash: string,
  type: FactEvent['type'],
  a: string,
  b: string,
  c: number,
  d: number | string | undefined,
  /** Origin of order events (client, request hash, key binding, keyed); the binding's effect for KeyBound. */
  e: string,
  f: string,
  g: string,
  h: boolean | string,
  /** The PSP reference of a capture or a decline; '' for every other event. */
  i: string,
];

export function packFacts(f: EventFacts): PackedFacts {
  const position = f.position <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(f.position) : f.position.toString();
  // A revision always travels as text: digits for a bigint, anything else is an unreadable record's stored value.
  const revision = f.revision.toString();
  // The content hash only when it differs from the stored one: one string fewer per event in the usual case.
  const contentHash = f.hashValid ? '' : f.contentHash;
  const head = [f.id, f.stream, revision, position, f.time, f.hash, f.prevHash, f.hashValid, contentHash] as const;
  const e = f.event;
  switch (e.type) {
    case 'OrderCreated':
      return [...head, e.type, e.orderId, e.currency, e.total, e.linesTotal, ...packOrigin(e), ''];
    case 'PaymentCaptured':
      return [...head, e.type, e.orderId, e.currency, e.amount, e.paymentId, ...packOrigin(e), e.pspReference];
    case 'PaymentRequested':
    case 'PaymentAuthorized':
      return [...head, e.type, e.orderId, e.currency, e.amount, e.paymentId, ...packOrigin(e), ''];
    case 'PaymentDeclined':
      return [...head, e.type, e.orderId, '', 0, e.paymentId, ...packOrigin(e), e.pspReference];
    case 'PaymentRefunded':
      return [...head, e.type, e.orderId, e.refundId, e.amount, e.paymentId, ...packOrigin(e), ''];
    case 'AuthorizationVoided':
    case 'PaymentProcessingStarted':
      return [...head, e.type, e.orderId, '', 0, e.paymentId, ...packOrigin(e), ''];
    case 'OrderCancelled':
      return [...head, e.type, e.orderId, '', 0, undefined, ...packOrigin(e), ''];
    case 'KeyBound': {
      const effect = [e.effectStream, e.effectEventId, e.effectRequestHash] as const;
      return [...head, e.type, e.orderId, e.paymentId, 0, e.clientId, ...effect, '', ''];
    }
    case 'invalid':
    case 'unreadable':
      return [...head, e.type, e.problem, '', 0, undefined, '', '', '', false, ''];
  }
}

const packOrigin = (o: Origin) => [o.clientId, o.requestHash, o.keyBinding, o.keyed] as const;

export function unpackFacts(p: PackedFacts): EventFacts {
  const [
    id,
    stream,
    revision,
    position,
    time,
    hash,
    prevHash,
    hashValid,
    otherContentHash,
    type,
    a,
    b,
    c,
    d,
    e,
    f,
    g,
    h,
    i,
  ] = p;
  const contentHash = hashValid ? hash : otherContentHash;
  const origin = (): Origin => ({ clientId: e, requestHash: f, keyBinding: g, keyed: h as boolean });
  let event: FactEvent;
  if (type === 'OrderCreated') {
    event = { type, orderId: a, currency: b, total: c, linesTotal: d as number | undefined, ...origin() };
  } else if (type === 'PaymentCaptured') {
    event = { type, orderId: a, currency: b, amount: c, paymentId: d as string, pspReference: i, ...origin() };
  } else if (type === 'PaymentRequested' || type === 'PaymentAuthorized') {
    event = { type, orderId: a, currency: b, amount: c, paymentId: d as string, ...origin() };
  } else if (type === 'PaymentDeclined') {
    event = { type, orderId: a, paymentId: d as string, pspReference: i, ...origin() };
  } else if (type === 'PaymentRefunded') {
    event = { type, orderId: a, refundId: b, amount: c, paymentId: d as string, ...origin() };
  } else if (type === 'AuthorizationVoided' || type === 'PaymentProcessingStarted') {
    event = { type, orderId: a, paymentId: d as string, ...origin() };
  } else if (type === 'OrderCancelled') {
    event = { type, orderId: a, ...origin() };
  } else if (type === 'KeyBound') {
    const effect = { effectStream: e, effectEventId: f, effectRequestHash: g };
    event = { type, orderId: a, paymentId: b, clientId: d as string, ...effect };
  } else event = { type, problem: a };
  // One object literal: this runs once per event on the audit's main thread.
  return {
    id,
    stream,
    revision: /^\d+$/.test(revision) ? BigInt(revision) : revision,
    position: BigInt(position),
    time,
    hash,
    prevHash,
    hashValid,
    contentHash,
    event,
  };
}
