/**
 * Per customer: how many orders, and per currency how much was ordered and captured; once over
 * every client's orders, and once per owner (the client whose orders name the customer).
 */
import { addToSum, type MinorUnitSum } from '../src/domain/money.ts';
import { collection, defineProjection, ownerKey, recordedAtUtc } from './projection.ts';
import type { EventOf } from './projection.ts';

export interface CurrencyTotals {
  readonly currency: string;
  /** Sums across orders: decimal strings, exact at any size. */
  readonly ordered: MinorUnitSum;
  readonly captured: MinorUnitSum;
}

export interface CustomerActivity {
  readonly customerId: string;
  readonly orders: number;
  /** Sorted by currency code, so the document is the same whatever order currencies appeared in. */
  readonly currencies: readonly CurrencyTotals[];
  readonly firstOrderAt: string;
  readonly lastActivityAt: string;
  readonly position: string;
}

/** PaymentCaptured does not name the customer nor the owner; this private lookup does. */
interface OrderOwner {
  readonly customerId: string;
  readonly clientId: string;
}

/** Every client's orders that name the customer, keyed by customerId. */
export const customers = collection<CustomerActivity>('customers');
/** One owner's orders that name the customer, keyed by customerOwnerKey. */
export const clientCustomers = collection<CustomerActivity>('client-customers');
const owners = collection<OrderOwner>('order-owners');

/** "<owner>|<customerId>": customer ids cannot hold '|', and ownerKey never does. */
export const customerOwnerKey = (clientId: string, customerId: string): string => `${ownerKey(clientId)}|${customerId}`;

function addTo(
  currencies: readonly CurrencyTotals[],
  currency: string,
  add: { ordered: number; captured: number },
): CurrencyTotals[] {
  const at = currencies.findIndex((c) => c.currency === currency);
  const current = currencies[at] ?? { currency, ordered: '0', captured: '0' };
  const next = {
    currency,
    ordered: addToSum(current.ordered, add.ordered),
    captured: addToSum(current.captured, add.captured),
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
    currencies: addTo(customer?.currencies ?? [], currency, { ordered: total, captured: 0 }),
    firstOrderAt: customer?.firstOrderAt ?? at,
    lastActivityAt: at,
    position: e.position.toString(),
  });
}

function captured(e: EventOf<'PaymentCaptured'>, owner: OrderOwner) {
  const { orderId, amount, currency } = e.event.data;
  return (customer: CustomerActivity | undefined): CustomerActivity => {
    if (!customer) throw new Error(`customer ${owner.customerId} of order ${orderId} has no activity document`);
    return {
      ...customer,
      currencies: addTo(customer.currencies, currency, { ordered: 0, captured: amount }),
      lastActivityAt: recordedAtUtc(e),
      position: e.position.toString(),
    };
  };
}

export const customerActivity = defineProjection({
  name: 'customer-activity',
  // 2: sums are decimal strings; activity is also kept per owner (client-customers).
  version: 2,
  on: {
    OrderCreated: (e) => {
      const { orderId, customerId } = e.event.data;
      const { clientId } = e.metadata;
      const update = ordered(e);
      return [
        owners.put(orderId, { customerId, clientId }),
        customers.change(customerId, update),
        clientCustomers.change(customerOwnerKey(clientId, customerId), update),
      ];
    },
    PaymentCaptured: (e, docs) => {
      const { orderId } = e.event.data;
      const owner = owners.get(docs, orderId);
      if (!owner) throw new Error(`PaymentCaptured for order ${orderId}, which was never created`);
      const update = captured(e, owner);
      return [
        customers.change(owner.customerId, update),
        clientCustomers.change(customerOwnerKey(owner.clientId, owner.customerId), update),
      ];
    },
  },
});
