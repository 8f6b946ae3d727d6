/**
 * The order decider: pure, no I/O. Idempotency lives here: a command whose effect is already
 * in the stream decides no events, so retries, duplicates and replays are no-ops by construction.
 * The state's maps are persistent (immutable.js): folding one more event into an order of ten
 * thousand payments shares the rest instead of copying it, so a cached order evolves at constant cost.
 */
import { Map as ImmutableMap, Set as ImmutableSet } from 'immutable';
import {
  type AuthorizePayment,
  type CancelOrder,
  type CaptureAuthorization,
  type CapturePayment,
  type CreateOrder,
  OrderCommand,
  orderTotal,
  type PaymentOutcome,
  type RecordPaymentOutcome,
  type RefundPayment,
  type ReportedCharge,
  type RequestPayment,
  type StartPaymentProcessing,
  type VoidAuthorization,
} from './commands.ts';
import type { CommandDecider } from './decider.ts';
import {
  type AuthorizationVoided,
  type OrderCreated,
  OrderEvent,
  type OrderLine,
  type PaymentAuthorized,
  type PaymentCaptured,
  type PaymentDeclined,
  type PaymentProcessingStarted,
  type PaymentRefunded,
  type PaymentRequested,
} from './events.ts';
import { orderStreamId } from './ids.ts';
import { addMinorUnits } from './money.ts';
import { DomainRejection, ORDER_REJECTIONS } from './rejection.ts';

export interface Refund {
  readonly paymentId: string;
  readonly amount: number;
}

export interface CapturedPayment {
  readonly amount: number;
  readonly currency: string;
  /** Whether it captured an authorization (then paymentId is the authorization's) rather than directly. */
  readonly ofAuthorization: boolean;
  readonly refunded: number;
}

export interface Authorization {
  readonly amount: number;
  readonly currency: string;
  readonly state: 'open' | 'captured' | 'voided';
}

/** The processor's claim on a request: who holds it since when, and when the first claim was made. */
export interface PaymentClaim {
  readonly processorId: string;
  readonly attempt: number;
  readonly at: string;
  readonly leaseMs: number;
  readonly firstAt: string;
}

/** A capture to make through the PSP: pending until it has an outcome. */
export interface PaymentRequest {
  readonly amount: number;
  readonly currency: string;
  readonly paymentMethod: string;
  readonly claim: PaymentClaim | undefined;
  /** Every claim made, as `processorId|at`: the same claim again is a replay, whatever happened since. */
  readonly claims: ImmutableSet<string>;
  readonly outcome: PaymentOutcome | undefined;
}

export interface OpenOrder {
  readonly status: 'open';
  readonly orderId: string;
  readonly customerId: string;
  readonly currency: string;
  readonly lines: readonly OrderLine[];
  readonly total: number;
  /** Gross captured; net is captured − refunded. */
  readonly captured: number;
  readonly refunded: number;
  /** The sum of open authorizations. */
  readonly held: number;
  readonly payments: ImmutableMap<string, CapturedPayment>;
  readonly authorizations: ImmutableMap<string, Authorization>;
  /** By refundId: refund ids are unique within an order. */
  readonly refunds: ImmutableMap<string, Refund>;
  /** Payments requested through the PSP, by paymentId, with or without their outcome. */
  readonly requests: ImmutableMap<string, PaymentRequest>;
  /** The sum of requests without an outcome: held against the total like an open authorization. */
  readonly pending: number;
  /** Every PSP reference an outcome recorded: each names one charge, so one request. */
  readonly pspReferences: ImmutableSet<string>;
  readonly cancelled: { readonly reason: string } | undefined;
}

export type OrderState = { readonly status: 'absent' } | OpenOrder;

const initialState = (): OrderState => ({ status: 'absent' });

/** What may still be held, requested or captured: the total less open holds, pending requests and net captured. */
export const outstandingOf = (order: OpenOrder): number =>
  order.total - order.held - order.pending - (order.captured - order.refunded);

function evolve(state: OrderState, event: OrderEvent): OrderState {
  if (event.type === 'OrderCreated') {
    const { orderId, customerId, currency, lines, total } = event.data;
    return {
      status: 'open',
      ...{ orderId, customerId, currency, lines, total },
      ...{ captured: 0, refunded: 0, held: 0, pending: 0, cancelled: undefined },
      ...{ payments: ImmutableMap(), authorizations: ImmutableMap(), refunds: ImmutableMap() },
      ...{ requests: ImmutableMap(), pspReferences: ImmutableSet<string>() },
    };
  }
  return state.status === 'open' ? evolveOpen(state, event) : state;
}

function evolveOpen(state: OpenOrder, event: Exclude<OrderEvent, OrderCreated>): OpenOrder {
  switch (event.type) {
    case 'PaymentCaptured': {
      const { paymentId, amount, currency, authorizationId, pspReference } = event.data;
      if (pspReference !== undefined) state = resolved(state, paymentId, { kind: 'captured', pspReference });
      const payments = state.payments.set(paymentId, {
        amount,
        currency,
        ofAuthorization: authorizationId !== undefined,
        refunded: 0,
      });
      const captured = addMinorUnits(state.captured, amount);
      const authorization = authorizationId === undefined ? undefined : state.authorizations.get(authorizationId);
      if (authorizationId === undefined || !authorization) return { ...state, captured, payments };
      // A capture consumes its authorization whole: a partial capture releases the rest of the hold.
      const held = authorization.state === 'open' ? state.held - authorization.amount : state.held;
      return { ...state, captured, payments, held, authorizations: withState(state, authorizationId, 'captured') };
    }
    case 'PaymentAuthorized': {
      const { paymentId, amount, currency } = event.data;
      const authorizations = state.authorizations.set(paymentId, { amount, currency, state: 'open' });
      return { ...state, held: addMinorUnits(state.held, amount), authorizations };
    }
    case 'AuthorizationVoided': {
      const authorization = state.authorizations.get(event.data.paymentId);
      if (!authorization) return state;
      const held = authorization.state === 'open' ? state.held - authorization.amount : state.held;
      return { ...state, held, authorizations: withState(state, event.data.paymentId, 'voided') };
    }
    case 'PaymentRefunded': {
      const { paymentId, refundId, amount } = event.data;
      const payment = state.payments.get(paymentId);
      const payments = payment
        ? state.payments.set(paymentId, { ...payment, refunded: addMinorUnits(payment.refunded, amount) })
        : state.payments;
      const refunds = state.refunds.set(refundId, { paymentId, amount });
      return { ...state, refunded: addMinorUnits(state.refunded, amount), payments, refunds };
    }
    case 'OrderCancelled':
      return { ...state, cancelled: { reason: event.data.reason } };
    case 'PaymentRequested': {
      const { paymentId, amount, currency, paymentMethod } = event.data;
      const fresh = { claim: undefined, claims: ImmutableSet<string>(), outcome: undefined };
      const requests = state.requests.set(paymentId, { amount, currency, paymentMethod, ...fresh });
      return { ...state, requests, pending: addMinorUnits(state.pending, amount) };
    }
    case 'PaymentProcessingStarted': {
      const { paymentId, processorId, attempt, at, leaseMs } = event.data;
      const request = state.requests.get(paymentId);
      if (!request) return state;
      const claim = { processorId, attempt, at, leaseMs, firstAt: request.claim?.firstAt ?? at };
      const claims = request.claims.add(claimKey(processorId, at));
      const requests = state.requests.set(paymentId, { ...request, claim, claims });
      return { ...state, requests };
    }
    case 'PaymentDeclined': {
      const { paymentId, code, message, pspReference } = event.data;
      const outcome = { kind: 'declined' as const, code, message, ...(pspReference !== undefined && { pspReference }) };
      return resolved(state, paymentId, outcome);
    }
  }
}

/** A request gets its outcome: it no longer counts as pending, and its PSP reference is taken. */
function resolved(state: OpenOrder, paymentId: string, outcome: PaymentOutcome): OpenOrder {
  const request = state.requests.get(paymentId);
  const pspReferences =
    outcome.pspReference === undefined ? state.pspReferences : state.pspReferences.add(outcome.pspReference);
  if (!request || request.outcome) return { ...state, pspReferences };
  const requests = state.requests.set(paymentId, { ...request, outcome });
  return { ...state, requests, pspReferences, pending: state.pending - request.amount };
}

function withState(
  state: OpenOrder,
  paymentId: string,
  next: Authorization['state'],
): ImmutableMap<string, Authorization> {
  const authorization = state.authorizations.get(paymentId);
  return authorization ? state.authorizations.set(paymentId, { ...authorization, state: next }) : state.authorizations;
}

function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  if (command.type === 'CreateOrder') return decideCreate(command, state);
  if (state.status !== 'open') throw orderNotFound(command.orderId);
  switch (command.type) {
    case 'CapturePayment':
      return decideCapture(command, state);
    case 'AuthorizePayment':
      return decideAuthorize(command, state);
    case 'CaptureAuthorization':
      return decideCaptureAuthorization(command, state);
    case 'VoidAuthorization':
      return decideVoid(command, state);
    case 'RefundPayment':
      return decideRefund(command, state);
    case 'CancelOrder':
      return decideCancel(command, state);
    case 'RequestPayment':
      return decideRequest(command, state);
    case 'StartPaymentProcessing':
      return decideClaim(command, state);
    case 'RecordPaymentOutcome':
      return decideOutcome(command, state);
  }
}

function decideCreate(command: CreateOrder, state: OrderState): OrderCreated[] {
  if (state.status === 'open') {
    if (sameOrder(command, state)) return [];
    throw orderAlreadyExists(command.orderId);
  }
  const { orderId, customerId, currency, lines } = command;
  return [{ type: 'OrderCreated', data: { orderId, customerId, currency, lines, total: orderTotal(lines) } }];
}

/*
 * Every money command checks in one order: a replay of what is already in the stream succeeds
 * whatever happened since; then a cancelled order refuses; then the command's own rules.
 */

/** Where a payment id can already be in use, and how a refusal names it. */
const PAYMENT_ID_USES = {
  payments: 'a direct capture',
  authorizations: 'an authorization',
  requests: 'a payment request',
} as const;

/**
 * The rules every new payment of an open order meets, in this order: the order is not cancelled,
 * its id is not used by another kind of payment, its currency is the order's, and the amount fits
 * in what is outstanding.
 */
function admitNewPayment(
  state: OpenOrder,
  command: { readonly paymentId: string; readonly amount: number; readonly currency: string },
  kind: keyof typeof PAYMENT_ID_USES,
  exceeds: 'capture-exceeds-outstanding' | 'authorization-exceeds-outstanding',
  verb: string,
): void {
  refuseIfCancelled(state);
  for (const [other, what] of Object.entries(PAYMENT_ID_USES) as [keyof typeof PAYMENT_ID_USES, string][]) {
    if (other !== kind && state[other].has(command.paymentId)) throw paymentIdInUse(command.paymentId, what);
  }
  checkCurrency(state, command.currency);
  const outstanding = outstandingOf(state);
  if (command.amount > outstanding) {
    throw new DomainRejection(
      exceeds,
      `${verb} ${command.amount} exceeds the ${outstanding} outstanding on order ${state.orderId}`,
    );
  }
}

function decideCapture(command: CapturePayment, state: OpenOrder): PaymentCaptured[] {
  // Before the replay check: a request's capture, made through the PSP, is no direct capture to replay.
  if (state.requests.has(command.paymentId)) throw paymentIdInUse(command.paymentId, 'a payment request');
  const previous = state.payments.get(command.paymentId);
  if (previous && !previous.ofAuthorization) {
    if (previous.amount === command.amount && previous.currency === command.currency) return [];
    throw new DomainRejection(
      'payment-already-captured',
      `payment ${command.paymentId} was already captured on order ${command.orderId} with a different amount or currency`,
    );
  }
  admitNewPayment(state, command, 'payments', 'capture-exceeds-outstanding', 'capturing');
  const { orderId, paymentId, amount, currency } = command;
  return [{ type: 'PaymentCaptured', data: { orderId, paymentId, amount, currency } }];
}

function decideAuthorize(command: AuthorizePayment, state: OpenOrder): PaymentAuthorized[] {
  const previous = state.authorizations.get(command.paymentId);
  if (previous) {
    if (previous.amount === command.amount && previous.currency === command.currency) return [];
    throw paymentIdInUse(command.paymentId, 'an authorization with a different amount or currency');
  }
  admitNewPayment(state, command, 'authorizations', 'authorization-exceeds-outstanding', 'authorizing');
  const { orderId, paymentId, amount, currency } = command;
  return [{ type: 'PaymentAuthorized', data: { orderId, paymentId, amount, currency } }];
}

function decideCaptureAuthorization(command: CaptureAuthorization, state: OpenOrder): PaymentCaptured[] {
  const authorization = authorizationOf(state, command.paymentId);
  const amount = command.amount ?? authorization.amount;
  if (authorization.state === 'captured') {
    if (state.payments.get(command.paymentId)?.amount === amount) return [];
    throw alreadyCaptured(command.paymentId);
  }
  refuseIfCancelled(state);
  if (authorization.state === 'voided') {
    throw new DomainRejection('authorization-voided', `authorization ${command.paymentId} was voided`);
  }
  if (amount > authorization.amount) {
    throw new DomainRejection(
      'capture-exceeds-authorization',
      `capturing ${amount} exceeds the ${authorization.amount} authorized by ${command.paymentId}`,
    );
  }
  const { orderId, paymentId } = command;
  const data = { orderId, paymentId, amount, currency: authorization.currency, authorizationId: paymentId };
  return [{ type: 'PaymentCaptured', data }];
}

function decideVoid(command: VoidAuthorization, state: OpenOrder): AuthorizationVoided[] {
  const authorization = authorizationOf(state, command.paymentId);
  if (authorization.state === 'voided') return [];
  if (authorization.state === 'captured') throw alreadyCaptured(command.paymentId);
  refuseIfCancelled(state);
  return [{ type: 'AuthorizationVoided', data: { orderId: command.orderId, paymentId: command.paymentId } }];
}

function decideRefund(command: RefundPayment, state: OpenOrder): PaymentRefunded[] {
  const previous = state.refunds.get(command.refundId);
  if (previous) {
    if (previous.paymentId === command.paymentId && previous.amount === command.amount) return [];
    throw new DomainRejection(
      'refund-already-recorded',
      `refund ${command.refundId} was already recorded on order ${command.orderId} for a different payment or amount`,
    );
  }
  refuseIfCancelled(state);
  const payment = state.payments.get(command.paymentId);
  if (!payment) {
    const what = `no payment ${command.paymentId} was captured on order ${command.orderId}`;
    throw new DomainRejection('payment-not-found', what);
  }
  const refundable = payment.amount - payment.refunded;
  if (command.amount > refundable) {
    throw new DomainRejection(
      'refund-exceeds-captured',
      `refunding ${command.amount} exceeds the ${refundable} of payment ${command.paymentId} not yet refunded`,
    );
  }
  const { orderId, paymentId, refundId, amount } = command;
  return [{ type: 'PaymentRefunded', data: { orderId, paymentId, refundId, amount, currency: payment.currency } }];
}

/** Cancelling voids every open authorization in the same decision, so no hold outlives the order. */
function decideCancel(command: CancelOrder, state: OpenOrder): OrderEvent[] {
  if (state.cancelled) return [];
  const net = state.captured - state.refunded;
  if (net !== 0) {
    throw new DomainRejection(
      'order-has-net-captured',
      `order ${state.orderId} has ${net} captured net of refunds: refund it before cancelling`,
    );
  }
  const pending = [...state.requests].filter(([, request]) => !request.outcome).map(([paymentId]) => paymentId);
  if (pending.length > 0) {
    throw new DomainRejection(
      'order-has-pending-payments',
      `order ${state.orderId} has payment requests without an outcome yet: ${pending.join(', ')}`,
    );
  }
  const { orderId, reason } = command;
  const voids: OrderEvent[] = [...state.authorizations]
    .filter(([, authorization]) => authorization.state === 'open')
    .map(([paymentId]) => ({ type: 'AuthorizationVoided', data: { orderId, paymentId } }));
  return [...voids, { type: 'OrderCancelled', data: { orderId, reason } }];
}

/** The decider's rules apply when the request is made; pending, it holds its amount against the total. */
function decideRequest(command: RequestPayment, state: OpenOrder): PaymentRequested[] {
  const previous = state.requests.get(command.paymentId);
  if (previous) {
    const same =
      previous.amount === command.amount &&
      previous.currency === command.currency &&
      previous.paymentMethod === command.paymentMethod;
    if (same) return [];
    throw paymentIdInUse(command.paymentId, 'a payment request with a different amount, currency or payment method');
  }
  admitNewPayment(state, command, 'requests', 'capture-exceeds-outstanding', 'requesting');
  const { orderId, paymentId, amount, currency, paymentMethod } = command;
  return [{ type: 'PaymentRequested', data: { orderId, paymentId, amount, currency, paymentMethod } }];
}

/**
 * The fence before a PSP call: appended at the revision read, so of two processors one wins.
 * The very same claim again (same processor, same time) is a replay; a newer one by the holder
 * renews it; another processor's is refused until the lease of the current one has run out.
 */
function decideClaim(command: StartPaymentProcessing, state: OpenOrder): PaymentProcessingStarted[] {
  const request = requestOf(state, command.paymentId);
  if (request.claims.has(claimKey(command.processorId, command.at))) return [];
  if (request.outcome) {
    throw new DomainRejection('payment-request-resolved', `payment ${command.paymentId} already has its outcome`);
  }
  const { claim } = request;
  const at = Date.parse(command.at);
  if (claim && claim.processorId !== command.processorId && at < Date.parse(claim.at) + claim.leaseMs) {
    throw new DomainRejection(
      'payment-claimed',
      `payment ${command.paymentId} is claimed by processor ${claim.processorId} since ${claim.at}`,
    );
  }
  if (claim && command.keyWindowMs !== undefined && at > Date.parse(claim.firstAt) + command.keyWindowMs) {
    throw new DomainRejection(
      'payment-key-window-expired',
      `payment ${command.paymentId} was first sent to the PSP at ${claim.firstAt}, longer ago than it keeps keys`,
    );
  }
  const { orderId, paymentId, processorId, leaseMs, keyWindowMs } = command;
  const attempt = (claim?.attempt ?? 0) + 1;
  const data = { orderId, paymentId, processorId, attempt, at: command.at, leaseMs };
  return [{ type: 'PaymentProcessingStarted', data: { ...data, ...(keyWindowMs !== undefined && { keyWindowMs }) } }];
}

/**
 * One outcome per request, whoever reports it (the processor's call, the PSP's webhook): the same
 * outcome again is a replay, a different one is refused and never recorded. A capture reported for
 * other money than the request's is refused before anything else, replay included: recorded at the
 * requested amount it would hide what was charged, and recorded at the reported one it would break
 * the order's sums (another currency, more than was held). The request stays pending, for an
 * operator to settle with the PSP, as the processor leaves a charge of other money.
 */
function decideOutcome(command: RecordPaymentOutcome, state: OpenOrder): (PaymentCaptured | PaymentDeclined)[] {
  const request = requestOf(state, command.paymentId);
  const { outcome, charged } = command;
  if (outcome.kind === 'captured' && charged && !sameMoney(charged, request)) {
    throw new DomainRejection(
      'payment-outcome-amount-mismatch',
      `the PSP reports ${charged.amount} ${charged.currency} captured for payment ${command.paymentId}, which ` +
        `requested ${request.amount} ${request.currency}; not recorded`,
    );
  }
  if (request.outcome) {
    if (sameOutcome(request.outcome, outcome)) return [];
    throw new DomainRejection(
      'payment-outcome-conflict',
      `payment ${command.paymentId} was already ${request.outcome.kind}; a ${outcome.kind} outcome is not recorded`,
    );
  }
  if (outcome.pspReference !== undefined && state.pspReferences.has(outcome.pspReference)) {
    throw new DomainRejection(
      'psp-reference-in-use',
      `PSP reference ${outcome.pspReference} already names another payment of order ${state.orderId}`,
    );
  }
  const { orderId, paymentId, source, pspEventId } = command;
  const reported = { source, ...(pspEventId !== undefined && { pspEventId }) };
  if (outcome.kind === 'captured') {
    const { amount, currency } = request;
    const data = { orderId, paymentId, amount, currency, pspReference: outcome.pspReference, ...reported };
    return [{ type: 'PaymentCaptured', data }];
  }
  const { code, message, pspReference } = outcome;
  const data = { orderId, paymentId, code, message, ...(pspReference !== undefined && { pspReference }), ...reported };
  return [{ type: 'PaymentDeclined', data }];
}

const sameMoney = (charged: ReportedCharge, request: PaymentRequest) =>
  charged.amount === request.amount && charged.currency === request.currency;

/** Two reports of one outcome: the same kind, and the same charge or decline code. */
function sameOutcome(recorded: PaymentOutcome, reported: PaymentOutcome): boolean {
  if (recorded.kind === 'captured')
    return reported.kind === 'captured' && reported.pspReference === recorded.pspReference;
  return reported.kind === 'declined' && reported.code === recorded.code;
}

const claimKey = (processorId: string, at: string) => `${processorId}|${at}`;

function requestOf(state: OpenOrder, paymentId: string): PaymentRequest {
  const request = state.requests.get(paymentId);
  if (!request) {
    throw new DomainRejection(
      'payment-request-not-found',
      `order ${state.orderId} has no payment request ${paymentId}`,
    );
  }
  return request;
}

function refuseIfCancelled(state: OpenOrder): void {
  if (state.cancelled) throw new DomainRejection('order-cancelled', `order ${state.orderId} is cancelled`);
}

function checkCurrency(state: OpenOrder, currency: string): void {
  if (currency !== state.currency) {
    throw new DomainRejection('currency-mismatch', `order ${state.orderId} is in ${state.currency}, not ${currency}`);
  }
}

function authorizationOf(state: OpenOrder, paymentId: string): Authorization {
  const authorization = state.authorizations.get(paymentId);
  if (!authorization) {
    throw new DomainRejection('authorization-not-found', `order ${state.orderId} has no authorization ${paymentId}`);
  }
  return authorization;
}

const alreadyCaptured = (paymentId: string) =>
  new DomainRejection('authorization-already-captured', `authorization ${paymentId} was already captured`);

const paymentIdInUse = (paymentId: string, what: string) =>
  new DomainRejection('payment-id-in-use', `payment id ${paymentId} already names ${what}`);

const orderNotFound = (orderId: string) => new DomainRejection('order-not-found', `order ${orderId} does not exist`);

const orderAlreadyExists = (orderId: string) =>
  new DomainRejection('order-already-exists', `order ${orderId} already exists with different details`);

/**
 * A command on an order another client owns gets exactly the answer it would get if the order
 * were absent, word for word, so the answer does not tell that it exists. Creating it is the one
 * exception: order ids are global, so the id is taken, and the answer is the one its own client
 * gets for different details, which reveals nothing of the order.
 */
function foreignOrderRejection(command: OrderCommand): DomainRejection {
  return command.type === 'CreateOrder' ? orderAlreadyExists(command.orderId) : orderNotFound(command.orderId);
}

/** The same request, judged by what it asks for; this is what the request hash fingerprints. */
function sameOrder(command: CreateOrder, state: OpenOrder): boolean {
  return (
    command.customerId === state.customerId &&
    command.currency === state.currency &&
    command.lines.length === state.lines.length &&
    command.lines.every((line, i) => {
      const stored = state.lines[i];
      return (
        stored !== undefined &&
        line.sku === stored.sku &&
        line.quantity === stored.quantity &&
        line.unitPrice === stored.unitPrice
      );
    })
  );
}

function isOutcomeOf(command: OrderCommand, event: OrderEvent): boolean {
  switch (command.type) {
    case 'CreateOrder':
      return event.type === 'OrderCreated';
    case 'CapturePayment':
    case 'CaptureAuthorization':
      return event.type === 'PaymentCaptured' && event.data.paymentId === command.paymentId;
    case 'AuthorizePayment':
      return event.type === 'PaymentAuthorized' && event.data.paymentId === command.paymentId;
    case 'VoidAuthorization':
      return event.type === 'AuthorizationVoided' && event.data.paymentId === command.paymentId;
    case 'RefundPayment':
      return event.type === 'PaymentRefunded' && event.data.refundId === command.refundId;
    case 'CancelOrder':
      return event.type === 'OrderCancelled';
    case 'RequestPayment':
      return event.type === 'PaymentRequested' && event.data.paymentId === command.paymentId;
    case 'StartPaymentProcessing':
      return (
        event.type === 'PaymentProcessingStarted' &&
        event.data.paymentId === command.paymentId &&
        event.data.processorId === command.processorId &&
        event.data.at === command.at
      );
    case 'RecordPaymentOutcome':
      return (
        (event.type === 'PaymentCaptured' || event.type === 'PaymentDeclined') &&
        event.data.paymentId === command.paymentId
      );
  }
}

function idempotencyScope(command: OrderCommand): string {
  switch (command.type) {
    case 'CreateOrder':
      return 'create';
    case 'CapturePayment':
      return `payment:${command.paymentId}`;
    case 'AuthorizePayment':
      return `authorization:${command.paymentId}`;
    case 'CaptureAuthorization':
      return `capture:${command.paymentId}`;
    case 'VoidAuthorization':
      return `void:${command.paymentId}`;
    case 'RefundPayment':
      return `refund:${command.refundId}`;
    case 'CancelOrder':
      return 'cancel';
    case 'RequestPayment':
      return `request:${command.paymentId}`;
    case 'StartPaymentProcessing':
      return `claim:${command.paymentId}:${command.processorId}:${command.at}`;
    case 'RecordPaymentOutcome':
      return `outcome:${command.paymentId}`;
  }
}

export const orderDecider: CommandDecider<OrderCommand, OrderEvent, OrderState> = {
  initialState,
  evolve,
  decide,
  commandSchema: OrderCommand,
  eventSchema: OrderEvent,
  streamIdOf: (command) => orderStreamId(command.orderId),
  isOutcomeOf,
  idempotencyScope,
  foreignRejection: foreignOrderRejection,
  rejections: ORDER_REJECTIONS,
};
