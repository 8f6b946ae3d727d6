/**
 * The cross-event half of the audit, fed facts in global position order. It remembers only what
 * the rules need: per stream its next revision, head hash and order totals (payment ids
 * included, to catch a double capture), and the set of event ids; never an event body.
 */
import { createHash, hash } from 'node:crypto';
import { noOrderCounts, statusOf, type OrderStatus } from '../../projections/order-status.ts';
import { orderIdOfStream, orderStreamId } from '../domain/ids.ts';
import type { EventFacts } from './facts.ts';
import { FindingLog, type FindingSummary } from './findings.ts';
import { IdSet } from './id-set.ts';
import { LedgerTotals, type CurrencyTotals, type DailyCaptured } from './totals.ts';

export interface CheckerResult {
  readonly counts: {
    readonly streams: number;
    readonly events: number;
    /** Events left out by --as-of (recorded after it, or after one that was). */
    readonly eventsAfterAsOf: number;
    readonly orders: Readonly<Record<OrderStatus, number>>;
  };
  /**
   * Idempotency-Key bindings: how many, how many name an effect not (yet) in the log, and how many
   * keyed events were written before bindings existed.
   */
  readonly keys: { readonly bindings: number; readonly pending: number; readonly legacyKeyedEvents: number };
  /**
   * Payments requested through the PSP: how many, how many still pending, and those pending since
   * before `pendingSince` (oldest first, at most maxListedFindings): for an operator to look at,
   * not a finding, since a request is pending until the PSP answers.
   */
  readonly paymentRequests: {
    readonly requested: number;
    readonly pending: number;
    readonly pendingTooLong: readonly PendingPaymentRequest[];
  };
  readonly currencies: Readonly<Record<string, CurrencyTotals>>;
  readonly daily: readonly DailyCaptured[];
  readonly findings: FindingSummary;
  /** SHA-256 over "<stream> <chain>\n" for every stream in stream-name order (see foldEvent). */
  readonly digest: string;
  /** Position of the last event the audit included, as a decimal string. */
  readonly lastPosition: string | undefined;
}

export interface CheckerOptions {
  /** Only each stream's prefix recorded at or before this instant (epoch ms). */
  readonly asOf?: number;
  readonly maxListedFindings?: number;
  /** Requests still pending that were made before this instant (epoch ms) are listed; default: an hour before now. */
  readonly pendingSince?: number;
}

interface OrderTotals {
  /** The client that created the order: a binding to it must be that client's. */
  readonly owner: string;
  readonly currency: string;
  readonly total: number;
  /** Gross captured; net is captured − refunded. */
  captured: number;
  refunded: number;
  /** Open holds: authorized, neither captured nor voided. */
  held: number;
  cancelled: boolean;
  /** Usually one to three ids: an array costs far less memory than a Set per order. */
  readonly payments: string[];
  /** Only for orders that use them, so an order paid by direct capture costs nothing more. */
  authorizations?: Authorization[];
  /** Per captured payment: its amount and what was refunded of it. */
  refunds?: PaymentRefunds[];
  /** Holds plus net captured are above the total (reported once, when first passed). */
  overHeld?: boolean;
  /** Payments requested through the PSP, only for orders that have them. */
  requests?: PaymentRequestFacts[];
  /** The sum of requests still without an outcome: held against the total like an open authorization. */
  pending?: number;
  /** PSP references the order's outcomes recorded: each names one charge. */
  pspReferences?: string[];
}

interface PaymentRequestFacts {
  readonly paymentId: string;
  readonly amount: number;
  /** Epoch ms of the request (metadata.recordedAt). */
  readonly since: number;
  resolved: boolean;
}

/** A payment request still without an outcome at the end of the audit, and since when. */
export interface PendingPaymentRequest {
  readonly orderId: string;
  readonly paymentId: string;
  readonly amount: number;
  readonly requestedAt: string;
}

const holdOf = (order: OrderTotals, paymentId: string) => order.authorizations?.find((a) => a.paymentId === paymentId);

/** A cancellation releases the holds still open (the decider voids them in the same decision). */
function cancel(order: OrderTotals): void {
  order.cancelled = true;
  for (const hold of order.authorizations ?? []) {
    if (hold.state === 'open') hold.state = 'released';
  }
  order.held = 0;
}

interface Authorization {
  readonly paymentId: string;
  readonly amount: number;
  /** released: still open when its order was cancelled, which voids it (its AuthorizationVoided may follow). */
  state: 'open' | 'captured' | 'voided' | 'released';
}

interface PaymentRefunds {
  readonly paymentId: string;
  captured: number;
  refunded: number;
  readonly refundIds: string[];
}

type OrderFacts = Exclude<EventFacts['event'], { type: 'KeyBound' | 'invalid' | 'unreadable' }>;
type BindingFacts = Extract<EventFacts['event'], { type: 'KeyBound' }>;

interface StreamState {
  /** A number, not a bigint: compared and advanced once per event, and no stream nears 2^53 events. */
  nextRevision: number;
  /** The stored hash of the stream's last event; undefined after an unreadable one (the next link cannot be judged). */
  headHash: string | undefined;
  /** The stream's events so far, folded from the hashes recomputed from their content (foldEvent). */
  chain: string;
  order: OrderTotals | undefined;
  /** Already reported as lacking its OrderCreated: said once per stream, not per payment. */
  orphan: boolean;
  /** --as-of: the stream has passed the instant; its later events are not part of that state. */
  closed: boolean;
}

export function createChecker(options: CheckerOptions = {}) {
  const findings = new FindingLog(options.maxListedFindings);
  const streams = new Map<string, StreamState>();
  const ids = new IdSet();
  const totals = new LedgerTotals();
  /** Bindings seen before their effect (the normal order), by the effect's event id; few at a time. */
  const awaiting = new Map<string, { binding: BindingFacts; stream: string }[]>();
  /**
   * The same awaiting bindings by their own stream: a decision of several events (a cancellation
   * and the voids it makes) writes them all under one binding, which names only its outcome, the last.
   */
  const awaitingByBinding = new Map<string, BindingFacts>();
  let bindings = 0;
  let requested = 0;
  let legacyKeyed = 0;
  let events = 0;
  let afterAsOf = 0;
  let lastPosition: bigint | undefined;

  function visit(f: EventFacts): void {
    let state = streams.get(f.stream);
    if (options.asOf !== undefined && (state?.closed || f.time > options.asOf)) {
      afterAsOf += 1;
      if (!state) streams.set(f.stream, (state = newStream()));
      state.closed = true;
      return;
    }
    if (!state) streams.set(f.stream, (state = newStream()));
    events += 1;
    lastPosition = f.position;

    state.chain = foldEvent(state.chain, f);
    if (f.event.type === 'unreadable') {
      findings.add('record-unreadable', at(f), f.event.problem);
      // It holds a place in the stream, most likely the next one; what it linked to is unknown.
      state.nextRevision = typeof f.revision === 'bigint' ? Number(f.revision) + 1 : state.nextRevision + 1;
      state.headHash = undefined;
      return;
    }
    if (!ids.add(f.id)) findings.add('duplicate-event-id', at(f), `event id ${f.id} is used by an earlier event`);
    checkChain(f, state);
    if (f.event.type === 'KeyBound') visitBinding(f, f.event);
    else checkEvent(f, state);
  }

  function visitBinding(f: EventFacts, binding: BindingFacts): void {
    bindings += 1;
    if (!ids.has(binding.effectEventId)) {
      const named = awaiting.get(binding.effectEventId) ?? [];
      awaiting.set(binding.effectEventId, [...named, { binding, stream: f.stream }]);
      awaitingByBinding.set(f.stream, binding);
      return;
    }
    // Bound after its effect (an effect written before keys were bound, or by another request):
    // what the checker still holds of that stream is the order, its owner and its payment ids.
    const order = streams.get(binding.effectStream)?.order;
    const names = order && (binding.paymentId === '' || order.payments.includes(binding.paymentId));
    const inPlace = orderStreamId(binding.orderId) === binding.effectStream;
    if (!order || !names || order.owner !== binding.clientId || !inPlace) {
      const effect = `event ${binding.effectEventId} in ${binding.effectStream}`;
      findings.add('binding-mismatch', at(f), `the binding names ${effect}, which is not its client's effect`);
    }
  }

  /** An order event against the bindings that named it before it was written, and its own key binding. */
  function checkOrigin(f: EventFacts, e: OrderFacts): void {
    if (e.keyed && e.keyBinding === '') legacyKeyed += 1;
    const named = awaiting.get(f.id) ?? [];
    awaiting.delete(f.id);
    for (const { stream } of named) awaitingByBinding.delete(stream);
    for (const { binding } of named) {
      const paymentId = 'paymentId' in e ? e.paymentId : '';
      const same =
        binding.effectStream === f.stream &&
        binding.clientId === e.clientId &&
        binding.effectRequestHash === e.requestHash &&
        binding.orderId === e.orderId &&
        binding.paymentId === paymentId;
      if (!same) findings.add('binding-mismatch', at(f), 'a key binding names this event, not the effect it records');
    }
    const companion = awaitingByBinding.get(e.keyBinding);
    const beforeItsOutcome = companion?.effectStream === f.stream && companion.effectRequestHash === e.requestHash;
    if (e.keyBinding !== '' && !named.some((n) => n.stream === e.keyBinding) && !beforeItsOutcome) {
      findings.add('key-unbound', at(f), `written under key binding ${e.keyBinding}, which no earlier binding matches`);
    }
  }

  function checkChain(f: EventFacts, state: StreamState): void {
    const revision = Number(f.revision);
    const contiguous = revision === state.nextRevision;
    if (!contiguous) {
      findings.add('revision-gap', at(f), `expected revision ${state.nextRevision}, found ${f.revision}`);
    }
    if (!f.hashValid) {
      findings.add(
        'hash-mismatch',
        at(f),
        'the event no longer matches its hash: its content was altered after it was written',
      );
    }
    // Across a gap the link cannot be checked: the event it should point to is missing, and the gap says so.
    // Nor after an unreadable event, which is reported already.
    const expectedPrev = revision === 0 ? '' : state.headHash;
    if (contiguous && expectedPrev !== undefined && f.prevHash !== expectedPrev) {
      findings.add(
        'chain-broken',
        at(f),
        `first broken link: prevHash ${abbreviate(f.prevHash)} is not the hash ${abbreviate(expectedPrev)} of revision ${revision - 1}`,
      );
    }
    state.nextRevision = revision + 1;
    state.headHash = f.hash;
  }

  function checkEvent(f: EventFacts, state: StreamState): void {
    const e = f.event;
    if (e.type === 'invalid' || e.type === 'unreadable') {
      findings.add('schema-invalid', at(f), e.problem);
      return;
    }
    if (e.type === 'KeyBound') return;
    if (orderStreamId(e.orderId) !== f.stream) {
      findings.add('order-id-mismatch', at(f), `orderId ${e.orderId} does not belong in stream ${f.stream}`);
    }
    checkOrigin(f, e);
    if (e.type === 'OrderCreated') {
      if (state.order) {
        findings.add('order-created-again', at(f), 'the order was already created earlier in this stream');
        return;
      }
      if (f.revision !== 0n && !state.orphan) {
        findings.add(
          'stream-not-created',
          at(f),
          `OrderCreated at revision ${f.revision}, not as the stream's first event`,
        );
      }
      if (e.linesTotal !== e.total) {
        const sum = e.linesTotal === undefined ? 'beyond the exact integer range' : String(e.linesTotal);
        findings.add('total-mismatch', at(f), `total ${e.total} is not the sum of the lines (${sum})`);
      }
      state.order = {
        owner: e.clientId,
        currency: e.currency,
        total: e.total,
        captured: 0,
        refunded: 0,
        held: 0,
        cancelled: false,
        payments: [],
      };
      totals.order(e.currency, e.total);
      return;
    }
    // Money events are counted in the sums whatever else is wrong with them, because the log says they happened.
    if (e.type === 'PaymentCaptured') totals.capture(e.currency, e.amount, f.time);
    if (e.type === 'PaymentRefunded') totals.refund(state.order?.currency ?? '', e.amount);
    const order = state.order;
    if (!order) {
      if (!state.orphan) findings.add('stream-not-created', at(f), `the stream's first event is not OrderCreated`);
      state.orphan = true;
      return;
    }
    if (order.cancelled && !(e.type === 'AuthorizationVoided' && holdOf(order, e.paymentId)?.state === 'released')) {
      findings.add('event-after-cancellation', at(f), `${e.type} follows the cancellation of order ${e.orderId}`);
    }
    if (e.type === 'PaymentCaptured') checkCapture(f, e, order);
    else if (e.type === 'PaymentRequested') checkRequest(f, e, order);
    else if (e.type === 'PaymentProcessingStarted') requestOf(f, e, order);
    else if (e.type === 'PaymentDeclined') resolveRequest(f, e, order);
    else if (e.type === 'PaymentAuthorized') checkAuthorization(f, e, order);
    else if (e.type === 'AuthorizationVoided') checkVoid(f, e, order);
    else if (e.type === 'PaymentRefunded') checkRefund(f, e, order);
    else cancel(order);
    checkHolds(f, order);
  }

  function checkRequest(f: EventFacts, e: Extract<OrderFacts, { type: 'PaymentRequested' }>, order: OrderTotals): void {
    if (e.currency !== order.currency) {
      findings.add('currency-mismatch', at(f), `payment request in ${e.currency} on an order in ${order.currency}`);
    }
    if (order.payments.includes(e.paymentId)) {
      findings.add('duplicate-payment', at(f), `payment ${e.paymentId} was already used on order ${e.orderId}`);
      return;
    }
    order.payments.push(e.paymentId);
    (order.requests ??= []).push({ paymentId: e.paymentId, amount: e.amount, since: f.time, resolved: false });
    order.pending = (order.pending ?? 0) + e.amount;
    requested += 1;
  }

  function requestOf(
    f: EventFacts,
    e: { readonly orderId: string; readonly paymentId: string },
    order: OrderTotals,
  ): PaymentRequestFacts | undefined {
    const request = order.requests?.find((r) => r.paymentId === e.paymentId);
    if (!request) {
      findings.add('payment-request-missing', at(f), `no payment ${e.paymentId} was requested on order ${e.orderId}`);
    }
    return request;
  }

  /** A request's outcome: the first and only one, naming a PSP charge no other outcome of the order named. */
  function resolveRequest(
    f: EventFacts,
    e: { readonly orderId: string; readonly paymentId: string; readonly pspReference: string },
    order: OrderTotals,
  ): PaymentRequestFacts | undefined {
    if (e.pspReference !== '') {
      const references = (order.pspReferences ??= []);
      if (references.includes(e.pspReference)) {
        findings.add('psp-reference-twice', at(f), `PSP reference ${e.pspReference} was already recorded`);
      }
      references.push(e.pspReference);
    }
    const request = requestOf(f, e, order);
    if (!request) return undefined;
    if (request.resolved) {
      const message = `payment request ${e.paymentId} already has an outcome on order ${e.orderId}`;
      findings.add('payment-outcome-twice', at(f), message);
      return undefined;
    }
    request.resolved = true;
    order.pending = (order.pending ?? 0) - request.amount;
    return request;
  }

  function checkCapture(f: EventFacts, e: Extract<OrderFacts, { type: 'PaymentCaptured' }>, order: OrderTotals): void {
    if (e.currency !== order.currency) {
      findings.add('currency-mismatch', at(f), `payment in ${e.currency} on an order in ${order.currency}`);
    }
    const hold = holdOf(order, e.paymentId);
    if (e.pspReference !== '') {
      // The outcome of a payment request, which took the paymentId when it was made.
      const request = resolveRequest(f, e, order);
      if (request && request.amount !== e.amount) {
        const message = `captured ${e.amount} for payment request ${e.paymentId} of ${request.amount}`;
        findings.add('capture-differs-from-request', at(f), message);
      }
    } else if (order.requests?.some((r) => r.paymentId === e.paymentId)) {
      findings.add('duplicate-payment', at(f), `payment ${e.paymentId} names a payment request on order ${e.orderId}`);
    } else if (hold) {
      // The capture of an authorization: its paymentId was taken by the authorization.
      if (hold.state === 'voided' || hold.state === 'released') {
        const message = `authorization ${e.paymentId} was voided before this capture`;
        findings.add('voided-authorization-captured', at(f), message);
      } else if (hold.state === 'captured') {
        const message = `authorization ${e.paymentId} was already captured on order ${e.orderId}`;
        findings.add('duplicate-payment', at(f), message);
      }
      if (e.amount > hold.amount) {
        findings.add(
          'capture-exceeds-authorization',
          at(f),
          `captured ${e.amount} of authorization ${e.paymentId}, which holds ${hold.amount}`,
        );
      }
      if (hold.state === 'open') order.held -= hold.amount;
      hold.state = 'captured';
    } else if (order.payments.includes(e.paymentId)) {
      findings.add('duplicate-payment', at(f), `payment ${e.paymentId} was already captured on order ${e.orderId}`);
    } else {
      order.payments.push(e.paymentId);
    }
    const refunds = (order.refunds ??= []);
    const paid = refunds.find((r) => r.paymentId === e.paymentId);
    if (paid) paid.captured += e.amount;
    else refunds.push({ paymentId: e.paymentId, captured: e.amount, refunded: 0, refundIds: [] });
    const before = order.captured - order.refunded;
    // Past the total the running number may leave the exact range; it only has to stay above the total.
    order.captured += e.amount;
    if (order.captured - order.refunded > order.total && before <= order.total) {
      const exact = BigInt(before) + BigInt(e.amount);
      findings.add('over-captured', at(f), `captured ${exact} exceeds the order total ${order.total}`);
    }
  }

  function checkAuthorization(
    f: EventFacts,
    e: Extract<OrderFacts, { type: 'PaymentAuthorized' }>,
    order: OrderTotals,
  ): void {
    if (e.currency !== order.currency) {
      findings.add('currency-mismatch', at(f), `authorization in ${e.currency} on an order in ${order.currency}`);
    }
    const authorizations = (order.authorizations ??= []);
    if (order.payments.includes(e.paymentId) || authorizations.some((a) => a.paymentId === e.paymentId)) {
      findings.add('duplicate-payment', at(f), `payment ${e.paymentId} was already used on order ${e.orderId}`);
      return;
    }
    order.payments.push(e.paymentId);
    authorizations.push({ paymentId: e.paymentId, amount: e.amount, state: 'open' });
    order.held += e.amount;
  }

  function checkVoid(f: EventFacts, e: Extract<OrderFacts, { type: 'AuthorizationVoided' }>, order: OrderTotals): void {
    const hold = holdOf(order, e.paymentId);
    if (!hold) {
      findings.add('authorization-missing', at(f), `no authorization ${e.paymentId} on order ${e.orderId} to void`);
      return;
    }
    if (hold.state === 'captured') {
      findings.add('captured-authorization-voided', at(f), `authorization ${e.paymentId} was already captured`);
      return;
    }
    if (hold.state === 'voided') {
      findings.add('authorization-voided-again', at(f), `authorization ${e.paymentId} was already voided`);
    }
    if (hold.state === 'open') order.held -= hold.amount;
    hold.state = 'voided';
  }

  function checkRefund(f: EventFacts, e: Extract<OrderFacts, { type: 'PaymentRefunded' }>, order: OrderTotals): void {
    const paid = order.refunds?.find((r) => r.paymentId === e.paymentId);
    if (paid?.refundIds.includes(e.refundId)) {
      findings.add('duplicate-refund', at(f), `refund ${e.refundId} of payment ${e.paymentId} was already recorded`);
    }
    const captured = paid?.captured ?? 0;
    const before = paid?.refunded ?? 0;
    const after = before + e.amount;
    if (after > captured && before <= captured) {
      const message = `refunds of payment ${e.paymentId} reach ${after}, above its captured ${captured}`;
      findings.add('over-refunded', at(f), message);
    }
    if (paid) {
      paid.refunded = after;
      paid.refundIds.push(e.refundId);
    }
    order.refunded += e.amount;
  }

  /** Holds and pending requests plus net captured never exceed the total; said at the revision that first passes it. */
  function checkHolds(f: EventFacts, order: OrderTotals): void {
    const net = order.captured - order.refunded;
    const held = order.held + (order.pending ?? 0);
    const exposed = held + net;
    if (held > 0 && exposed > order.total && !order.overHeld) {
      const message = `holds and pending requests ${held} plus net captured ${net} exceed the total ${order.total}`;
      findings.add('holds-exceed-total', at(f), message);
    }
    order.overHeld = exposed > order.total;
  }

  function finish(): CheckerResult {
    const orders: Record<OrderStatus, number> = noOrderCounts();
    const heads: string[] = [];
    const pendingSince = options.pendingSince ?? Date.now() - 3_600_000;
    let pending = 0;
    const tooLong: (PendingPaymentRequest & { since: number })[] = [];
    for (const [stream, state] of streams) {
      if (state.nextRevision === 0) continue; // only seen after --as-of
      heads.push(stream);
      for (const request of state.order?.requests ?? []) {
        if (request.resolved) continue;
        pending += 1;
        if (request.since < pendingSince) {
          const { paymentId, amount, since } = request;
          const orderId = orderIdOfStream(stream) ?? stream;
          tooLong.push({ orderId, paymentId, amount, since, requestedAt: new Date(since).toISOString() });
        }
      }
      // The read model's own rule, so the audit's counts and GET /orders mean the same thing.
      if (state.order) {
        const { total, held, captured, refunded, cancelled } = state.order;
        orders[statusOf({ total, authorized: held, captured, refunded, cancelled })] += 1;
      }
    }
    heads.sort();
    const digest = createHash('sha256');
    for (const stream of heads) digest.update(`${stream} ${streams.get(stream)!.chain}\n`);
    return {
      counts: { streams: heads.length, events, eventsAfterAsOf: afterAsOf, orders },
      // A binding whose effect is not in the log is pending (a crash between reservation and
      // effect): its key's retry writes the effect.
      keys: { bindings, pending: [...awaiting.values()].flat().length, legacyKeyedEvents: legacyKeyed },
      paymentRequests: {
        requested,
        pending,
        pendingTooLong: tooLong
          .sort((a, b) => a.since - b.since)
          .slice(0, options.maxListedFindings ?? 100)
          .map(({ since: _since, ...listed }) => listed),
      },
      currencies: totals.currencies(),
      daily: totals.daily(),
      findings: findings.summary(),
      digest: digest.digest('hex'),
      lastPosition: lastPosition?.toString(),
    };
  }

  return { visit, finish };
}

function newStream(): StreamState {
  return { nextRevision: 0, headHash: '', chain: '', order: undefined, orphan: false, closed: false };
}

/**
 * One more event in a stream's chain for the digest: SHA-256 over the chain so far, the event's
 * id, the hash recomputed from its stored content, and its stored hash. Recomputed, so an edit
 * anywhere in the stream changes the digest even when the stored hashes were left as they were.
 */
function foldEvent(chain: string, f: EventFacts): string {
  // The one-shot hash: half the cost of a Hash object, and this runs once per event on the audit's main thread.
  return hash('sha256', `${chain} ${f.id} ${f.contentHash} ${f.hash}`);
}

function at(f: EventFacts) {
  return { stream: f.stream, revision: f.revision, position: f.position };
}

function abbreviate(hash: string): string {
  return hash === '' ? "''" : `${hash.slice(0, 12)}…`;
}
