import { z } from 'zod';

/**
 * A number from the environment. Coercion alone reads a blank `VAR=` (an unset substitution in a
 * compose file) as 0, which for several settings turns a limit, a timeout or the cache off without a word.
 */
export const envNumber = <T extends z.ZodType>(inner: T) =>
  z.preprocess((value, ctx) => {
    if (typeof value !== 'string' || value.trim() !== '') return value;
    ctx.addIssue({ code: 'custom', message: 'is empty: unset it or give a number' });
    return z.NEVER;
  }, inner);
