/** Per customer: how many orders, and per currency how much was ordered and captured. */
import { addMinorUnits } from '../src/domain/money.ts';
import { collection, defineProjection, recordedAtUtc } from './projection.ts';

export interface CurrencyTotals {
  readonly currency: string;
  readonly ordered: number;
  readonly captured: number;
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

/** PaymentCaptured does not name the customer; this private lookup does. */
interface OrderOwner {
  readonly customerId: string;
}

export const customers = collection<CustomerActivity>('customers');
const owners = collection<OrderOwner>('order-owners');

function addTo(
  currencies: readonly CurrencyTotals[],
  currency: string,
  add: { ordered: number; captured: number },
): CurrencyTotals[] {
  const at = currencies.findIndex((c) => c.currency === currency);
  const current = currencies[at] ?? { currency, ordered: 0, captured: 0 };
  const next = {
    currency,
    ordered: addMinorUnits(current.ordered, add.ordered),
    captured: addMinorUnits(current.captured, add.captured),
  };
  if (at >= 0) return currencies.map((c, i) => (i === at ? next : c));
  return [...currencies, next].sort((a, b) => (a.currency < b.currency ? -1 : 1));
}

export const customerActivity = defineProjection({
  name: 'customer-activity',
  version: 1,
  on: {
    OrderCreated: (e) => {
      const { orderId, customerId, currency, total } = e.event.data;
      const at = recordedAtUtc(e);
      const position = e.position.toString();
      return [
        owners.put(orderId, { customerId }),
        customers.change(customerId, (customer) => ({
          customerId,
          orders: (customer?.orders ?? 0) + 1,
          currencies: addTo(customer?.currencies ?? [], currency, { ordered: total, captured: 0 }),
          firstOrderAt: customer?.firstOrderAt ?? at,
          lastActivityAt: at,
          position,
        })),
      ];
    },
    PaymentCaptured: (e, docs) => {
      const { orderId, amount, currency } = e.event.data;
      const owner = owners.get(docs, orderId);
      if (!owner) throw new Error(`PaymentCaptured for order ${orderId}, which was never created`);
      return [
        customers.change(owner.customerId, (customer) => {
          if (!customer) throw new Error(`customer ${owner.customerId} of order ${orderId} has no activity document`);
          return {
            ...customer,
            currencies: addTo(customer.currencies, currency, { ordered: 0, captured: amount }),
            lastActivityAt: recordedAtUtc(e),
            position: e.position.toString(),
          };
        }),
      ];
    },
  },
});
