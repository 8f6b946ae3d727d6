/**
 * The order decider: pure, no I/O. Idempotency lives here: a command whose effect is already
 * in the stream decides no events, so retries, duplicates and replays are no-ops by construction.
 */
import { type CapturePayment, type CreateOrder, OrderCommand, orderTotal } from './commands.ts';
import type { CommandDecider } from './decider.ts';
import { type OrderCreated, OrderEvent, type OrderLine, type PaymentCaptured } from './events.ts';
import { orderStreamId } from './ids.ts';
import { addMinorUnits } from './money.ts';
import { DomainRejection, ORDER_REJECTIONS } from './rejection.ts';

export interface CapturedPayment {
  readonly amount: number;
  readonly currency: string;
}

export type OrderState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'open';
      readonly orderId: string;
      readonly customerId: string;
      readonly currency: string;
      readonly lines: readonly OrderLine[];
      readonly total: number;
      readonly captured: number;
      readonly payments: ReadonlyMap<string, CapturedPayment>;
    };

const initialState = (): OrderState => ({ status: 'absent' });

function evolve(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case 'OrderCreated': {
      const { orderId, customerId, currency, lines, total } = event.data;
      return { status: 'open', orderId, customerId, currency, lines, total, captured: 0, payments: new Map() };
    }
    case 'PaymentCaptured': {
      if (state.status !== 'open') return state;
      const payments = new Map(state.payments);
      payments.set(event.data.paymentId, { amount: event.data.amount, currency: event.data.currency });
      return { ...state, captured: addMinorUnits(state.captured, event.data.amount), payments };
    }
    case 'PaymentAuthorized':
    case 'AuthorizationVoided':
    case 'PaymentRefunded':
    case 'OrderCancelled':
      return state;
  }
}

function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  switch (command.type) {
    case 'CreateOrder':
      return decideCreate(command, state);
    case 'CapturePayment':
      return decideCapture(command, state);
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

function decideCapture(command: CapturePayment, state: OrderState): PaymentCaptured[] {
  if (state.status !== 'open') throw orderNotFound(command.orderId);
  const previous = state.payments.get(command.paymentId);
  if (previous) {
    if (previous.amount === command.amount && previous.currency === command.currency) return [];
    throw new DomainRejection(
      'payment-already-captured',
      `payment ${command.paymentId} was already captured on order ${command.orderId} with a different amount or currency`,
    );
  }
  if (command.currency !== state.currency) {
    throw new DomainRejection('currency-mismatch', `order ${state.orderId} is in ${state.currency}, not ${command.currency}`);
  }
  const outstanding = state.total - state.captured;
  if (command.amount > outstanding) {
    throw new DomainRejection(
      'capture-exceeds-outstanding',
      `capturing ${command.amount} exceeds the ${outstanding} outstanding on order ${state.orderId}`,
    );
  }
  const { orderId, paymentId, amount, currency } = command;
  return [{ type: 'PaymentCaptured', data: { orderId, paymentId, amount, currency } }];
}

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
function sameOrder(command: CreateOrder, state: Extract<OrderState, { status: 'open' }>): boolean {
  return (
    command.customerId === state.customerId &&
    command.currency === state.currency &&
    command.lines.length === state.lines.length &&
    command.lines.every((line, i) => {
      const stored = state.lines[i];
      return stored !== undefined && line.sku === stored.sku && line.quantity === stored.quantity && line.unitPrice === stored.unitPrice;
    })
  );
}

function isOutcomeOf(command: OrderCommand, event: OrderEvent): boolean {
  switch (command.type) {
    case 'CreateOrder':
      return event.type === 'OrderCreated';
    case 'CapturePayment':
      return event.type === 'PaymentCaptured' && event.data.paymentId === command.paymentId;
  }
}

function idempotencyScope(command: OrderCommand): string {
  switch (command.type) {
    case 'CreateOrder':
      return 'create';
    case 'CapturePayment':
      return `payment:${command.paymentId}`;
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
