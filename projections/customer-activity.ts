/**
 * Per customer: how many orders (and how many cancelled), and per currency how much was ordered,
 * captured, refunded, net of refunds, and cancelled; once over every client's orders, and once
 * per owner (the client whose orders name the customer).
 */
import { addToSum, subtractSums, type MinorUnitSum } from '../src/domain/money.ts';
import { collection, defineProjection, ownerKey, recordedAtUtc } from './projection.ts';
import type { DocumentReader, EventOf } from './projection.ts';

export interface CurrencyTotals {
  readonly currency: string;
  /** Sums across orders: decimal strings, exact at any size. */
  readonly ordered: MinorUnitSum;
  readonly captured: MinorUnitSum;
  readonly refunded: MinorUnitSum;
  /** captured − refunded. */
  readonly net: MinorUnitSum;
  /** The totals of cancelled orders. */
  readonly cancelled: MinorUnitSum;
}

export interface CustomerActivity {
  readonly customerId: string;
  readonly orders: number;
  readonly cancelledOrders: number;
  /** Sorted by currency code, so the document is the same whatever order currencies appeared in. */
  readonly currencies: readonly CurrencyTotals[];
  readonly firstOrderAt: string;
  readonly lastActivityAt: string;
  readonly position: string;
}

/** Later events do not name the customer nor the owner (nor the total); this private lookup does. */
interface OrderOwner {
  readonly customerId: string;
  readonly clientId: string;
  readonly currency: string;
  readonly total: number;
}

type Delta = { readonly [K in 'ordered' | 'captured' | 'refunded' | 'cancelled']?: number };

/** Every client's orders that name the customer, keyed by customerId. */
export const customers = collection<CustomerActivity>('customers');
/** One owner's orders that name the customer, keyed by customerOwnerKey. */
export const clientCustomers = collection<CustomerActivity>('client-customers');
const owners = collection<OrderOwner>('order-owners');

/** "<owner>|<customerId>": customer ids cannot hold '|', and ownerKey never does. */
export const customerOwnerKey = (clientId: string, customerId: string): string => `${ownerKey(clientId)}|${customerId}`;

function addTo(currencies: readonly CurrencyTotals[], currency: string, add: Delta): CurrencyTotals[] {
  const at = currencies.findIndex((c) => c.currency === currency);
  const current = currencies[at] ?? { currency, ordered: '0', captured: '0', refunded: '0', net: '0', cancelled: '0' };
  const captured = addToSum(current.captured, add.captured ?? 0);
  const refunded = addToSum(current.refunded, add.refunded ?? 0);
  const next = {
    currency,
    ordered: addToSum(current.ordered, add.ordered ?? 0),
    captured,
    refunded,
    net: subtractSums(captured, refunded),
    cancelled: addToSum(current.cancelled, add.cancelled ?? 0),
  };
  if (at >= 0) return currencies.map((c, i) => (i === at ? next : c));
  return [...currencies, next].sort((a, b) => (a.currency < b.currency ? -1 : 1));
}

function ordered(e: EventOf<'OrderCreated'>) {
  const { customerId, currency, total } = e.event.data;
  const at = recordedAtUtc(e);
  return (customer: CustomerActivity | undefined): CustomerActivity => ({
    customerId,
    orders: (customer?.orders ?? 0) + 1,
    cancelledOrders: customer?.cancelledOrders ?? 0,
    currencies: addTo(customer?.currencies ?? [], currency, { ordered: total }),
    firstOrderAt: customer?.firstOrderAt ?? at,
    lastActivityAt: at,
    position: e.position.toString(),
  });
}

type MoneyEvent = EventOf<'PaymentCaptured' | 'PaymentRefunded' | 'OrderCancelled'>;

/** A later event of the order: its sums added in the currency it names (or the order's). */
function changed(e: MoneyEvent, owner: OrderOwner, currency: string, delta: Delta, cancelledOrders = 0) {
  const { orderId } = e.event.data;
  return (customer: CustomerActivity | undefined): CustomerActivity => {
    if (!customer) throw new Error(`customer ${owner.customerId} of order ${orderId} has no activity document`);
    return {
      ...customer,
      cancelledOrders: customer.cancelledOrders + cancelledOrders,
      currencies: addTo(customer.currencies, currency, delta),
      lastActivityAt: recordedAtUtc(e),
      position: e.position.toString(),
    };
  };
}

function onOrder(e: MoneyEvent, docs: DocumentReader, update: (owner: OrderOwner) => ReturnType<typeof changed>) {
  const { orderId } = e.event.data;
  const owner = owners.get(docs, orderId);
  if (!owner) throw new Error(`${e.event.type} for order ${orderId}, which was never created`);
  const change = update(owner);
  return [
    customers.change(owner.customerId, change),
    clientCustomers.change(customerOwnerKey(owner.clientId, owner.customerId), change),
  ];
}

export const customerActivity = defineProjection({
  name: 'customer-activity',
  // 2: sums are decimal strings; activity is also kept per owner (client-customers).
  // 3: refunds, net and cancellations.
  version: 3,
  on: {
    OrderCreated: (e) => {
      const { orderId, customerId, currency, total } = e.event.data;
      const { clientId } = e.metadata;
      const update = ordered(e);
      return [
        owners.put(orderId, { customerId, clientId, currency, total }),
        customers.change(customerId, update),
        clientCustomers.change(customerOwnerKey(clientId, customerId), update),
      ];
    },
    PaymentCaptured: (e, docs) =>
      onOrder(e, docs, (owner) => changed(e, owner, e.event.data.currency, { captured: e.event.data.amount })),
    PaymentRefunded: (e, docs) =>
      onOrder(e, docs, (owner) => changed(e, owner, owner.currency, { refunded: e.event.data.amount })),
    OrderCancelled: (e, docs) =>
      onOrder(e, docs, (owner) => changed(e, owner, owner.currency, { cancelled: owner.total }, 1)),
  },
});
