import { z } from 'zod';

// The ICU currency list shipped with Node is the ISO 4217 active set; no hand-kept table to drift.
const isoCurrencies = new Set(Intl.supportedValuesOf('currency'));

export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be a three-letter upper-case ISO 4217 code')
  .refine((code) => isoCurrencies.has(code), 'is not an ISO 4217 currency');
export type Currency = z.infer<typeof Currency>;

/**
 * Integer minor units (cents, yen…) as stored in events. Safe integers only: a stored amount is
 * exact. Earlier versions accepted amounts up to 2^53 − 1, so this stays the decoding range.
 */
export const MinorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const PositiveMinorUnits = MinorUnits.min(1, 'must be at least 1 minor unit');

/**
 * The largest single amount a new command may carry (a line total, an order total, a capture):
 * 10^15 minor units, ten trillion euros in cents. Far above any real order, and below 2^50, where
 * a double still holds eighths: an accepted value is an exact integer, a plain fraction such as
 * 12.5 fails `.int()` instead of being rounded, and the numbers JSON.parse rounds to an integer
 * (4503599627370497.5 becomes …498) lie above the cap and are refused.
 */
export const MAX_AMOUNT = 1_000_000_000_000_000;
const overCap = `must be at most ${MAX_AMOUNT} minor units`;

/** A money value in a new command: an integer from 0 to MAX_AMOUNT. */
export const RequestedMinorUnits = z.number().int().min(0).max(MAX_AMOUNT, overCap);
export const RequestedPositiveMinorUnits = RequestedMinorUnits.min(1, 'must be at least 1 minor unit');

/** Sums minor units, refusing to leave the range where JavaScript numbers are exact. */
export function addMinorUnits(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new RangeError('amount exceeds the exact integer range');
  return sum;
}

export function multiplyMinorUnits(unitPrice: number, quantity: number): number {
  const product = unitPrice * quantity;
  if (!Number.isSafeInteger(product)) throw new RangeError('amount exceeds the exact integer range');
  return product;
}

/**
 * A sum across orders (a customer's, a day's, the ledger's): unbounded, so a decimal string in
 * documents and JSON, added as bigints. Accepts the plain numbers earlier read models stored.
 */
export type MinorUnitSum = string;

export function addToSum(sum: MinorUnitSum | number | undefined, amount: MinorUnitSum | number): MinorUnitSum {
  return (BigInt(sum ?? 0) + BigInt(amount)).toString();
}

export function subtractSums(a: MinorUnitSum | number, b: MinorUnitSum | number): MinorUnitSum {
  return (BigInt(a) - BigInt(b)).toString();
}
