import { z } from 'zod';

// The ICU currency list shipped with Node is the ISO 4217 active set; no hand-kept table to drift.
const isoCurrencies = new Set(Intl.supportedValuesOf('currency'));

export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be a three-letter upper-case ISO 4217 code')
  .refine((code) => isoCurrencies.has(code), 'is not an ISO 4217 currency');
export type Currency = z.infer<typeof Currency>;

/** Integer minor units (cents, yen…). Safe integers only: sums must stay exact. */
export const MinorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const PositiveMinorUnits = MinorUnits.min(1, 'must be at least 1 minor unit');

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
