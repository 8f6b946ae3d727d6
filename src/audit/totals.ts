/**
 * The money side of the report: what was ordered and captured per currency, and captured per
 * UTC day. Updated once per event on the audit's busiest thread, so nothing here allocates per
 * event; sums stay exact past 2^53 (a ledger-wide sum can get there) without a bigint per add.
 */

export interface CurrencyTotals {
  /** Decimal strings: a ledger-wide sum can pass 2^53 minor units. */
  readonly ordered: string;
  readonly captured: string;
  readonly refunded: string;
  /** captured − refunded. */
  readonly net: string;
  readonly orders: number;
  readonly payments: number;
  readonly refunds: number;
}

export interface DailyCaptured {
  /** UTC day, YYYY-MM-DD, of metadata.recordedAt. */
  readonly day: string;
  readonly currency: string;
  readonly amount: string;
  readonly payments: number;
}

/** An exact running sum of safe integers: a plain number while that is exact, spilling into a bigint. */
class ExactSum {
  private small = 0;
  private big = 0n;
  count = 0;

  add(amount: number): void {
    if (this.small > Number.MAX_SAFE_INTEGER - amount) {
      this.big += BigInt(this.small);
      this.small = 0;
    }
    this.small += amount;
    this.count += 1;
  }

  get value(): bigint {
    return this.big + BigInt(this.small);
  }
}

const DAY_MS = 86_400_000;

export class LedgerTotals {
  private readonly ordered = new Map<string, ExactSum>();
  private readonly captured = new Map<string, ExactSum>();
  private readonly refunded = new Map<string, ExactSum>();
  /** Day number (epoch ms / day) → currency → captured that day. */
  private readonly days = new Map<number, Map<string, ExactSum>>();

  order(currency: string, total: number): void {
    sumIn(this.ordered, currency).add(total);
  }

  capture(currency: string, amount: number, time: number): void {
    sumIn(this.captured, currency).add(amount);
    const day = Math.floor(time / DAY_MS);
    let currencies = this.days.get(day);
    if (!currencies) this.days.set(day, (currencies = new Map()));
    sumIn(currencies, currency).add(amount);
  }

  /** In its order's currency ('' for an order the log never created). */
  refund(currency: string, amount: number): void {
    sumIn(this.refunded, currency).add(amount);
  }

  currencies(): Record<string, CurrencyTotals> {
    const codes = [...new Set([...this.ordered.keys(), ...this.captured.keys(), ...this.refunded.keys()])].sort();
    return Object.fromEntries(
      codes.map((code) => {
        const o = this.ordered.get(code);
        const c = this.captured.get(code);
        const r = this.refunded.get(code);
        const captured = c?.value ?? 0n;
        const refunded = r?.value ?? 0n;
        const totals: CurrencyTotals = {
          ordered: String(o?.value ?? 0n),
          captured: String(captured),
          refunded: String(refunded),
          net: String(captured - refunded),
          orders: o?.count ?? 0,
          payments: c?.count ?? 0,
          refunds: r?.count ?? 0,
        };
        return [code, totals];
      }),
    );
  }

  daily(): DailyCaptured[] {
    return [...this.days.keys()]
      .sort((a, b) => a - b)
      .flatMap((day) => {
        const iso = new Date(day * DAY_MS).toISOString().slice(0, 10);
        return [...this.days.get(day)!]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([currency, sum]) => ({ day: iso, currency, amount: sum.value.toString(), payments: sum.count }));
      });
  }
}

function sumIn<K>(sums: Map<K, ExactSum>, key: K): ExactSum {
  let sum = sums.get(key);
  if (!sum) sums.set(key, (sum = new ExactSum()));
  return sum;
}
