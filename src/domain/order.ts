/**
 * The order decider: pure, no I/O. Idempotency lives here: a command whose effect is already
 * in the stream decides no events, so retries, duplicates and replays are no-ops by construction.
 * The state's maps are persistent (immutable.js): folding one more event into an order of ten
 * thousand payments shares the rest instead of copying it, so a cached order evolves at constant cost.
 */
import { Map as ImmutableMap } from 'immutable';
import {
  type AuthorizePayment,
  type CancelOrder,
  type CaptureAuthorization,
  type CapturePayment,
  type CreateOrder,
  OrderCommand,
  orderTotal,
  type RefundPayment,
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
  type PaymentRefunded,
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
  readonly cancelled: { readonly reason: string } | undefined;
}

export type OrderState = { readonly status: 'absent' } | OpenOrder;

const initialState = (): OrderState => ({ status: 'absent' });

/** What may still be held or captured: the total less open holds and net captured. */
export const outstandingOf = (order: OpenOrder): number => order.total - order.held - (order.captured - order.refunded);

function evolve(state: OrderState, event: OrderEvent): OrderState {
  if (event.type === 'OrderCreated') {
    const { orderId, customerId, currency, lines, total } = event.data;
    return {
      status: 'open',
      ...{ orderId, customerId, currency, lines, total },
      ...{ captured: 0, refunded: 0, held: 0, cancelled: undefined },
      ...{ payments: ImmutableMap(), authorizations: ImmutableMap(), refunds: ImmutableMap() },
    };
  }
  return state.status === 'open' ? evolveOpen(state, event) : state;
}

function evolveOpen(state: OpenOrder, event: Exclude<OrderEvent, OrderCreated>): OpenOrder {
  switch (event.type) {
    case 'PaymentCaptured': {
      const { paymentId, amount, currency, authorizationId } = event.data;
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
  }
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

function decideCapture(command: CapturePayment, state: OpenOrder): PaymentCaptured[] {
  const previous = state.payments.get(command.paymentId);
  if (previous && !previous.ofAuthorization) {
    if (previous.amount === command.amount && previous.currency === command.currency) return [];
    throw new DomainRejection(
      'payment-already-captured',
      `payment ${command.paymentId} was already captured on order ${command.orderId} with a different amount or currency`,
    );
  }
  refuseIfCancelled(state);
  if (state.authorizations.has(command.paymentId)) throw paymentIdInUse(command.paymentId, 'an authorization');
  checkCurrency(state, command.currency);
  const outstanding = outstandingOf(state);
  if (command.amount > outstanding) {
    throw new DomainRejection(
      'capture-exceeds-outstanding',
      `capturing ${command.amount} exceeds the ${outstanding} outstanding on order ${state.orderId}`,
    );
  }
  const { orderId, paymentId, amount, currency } = command;
  return [{ type: 'PaymentCaptured', data: { orderId, paymentId, amount, currency } }];
}

function decideAuthorize(command: AuthorizePayment, state: OpenOrder): PaymentAuthorized[] {
  const previous = state.authorizations.get(command.paymentId);
  if (previous) {
    if (previous.amount === command.amount && previous.currency === command.currency) return [];
    throw paymentIdInUse(command.paymentId, 'an authorization with a different amount or currency');
  }
  refuseIfCancelled(state);
  if (state.payments.has(command.paymentId)) throw paymentIdInUse(command.paymentId, 'a direct capture');
  checkCurrency(state, command.currency);
  const outstanding = outstandingOf(state);
  if (command.amount > outstanding) {
    throw new DomainRejection(
      'authorization-exceeds-outstanding',
      `authorizing ${command.amount} exceeds the ${outstanding} outstanding on order ${state.orderId}`,
    );
  }
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
  const { orderId, reason } = command;
  const voids: OrderEvent[] = [...state.authorizations]
    .filter(([, authorization]) => authorization.state === 'open')
    .map(([paymentId]) => ({ type: 'AuthorizationVoided', data: { orderId, paymentId } }));
  return [...voids, { type: 'OrderCancelled', data: { orderId, reason } }];
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
