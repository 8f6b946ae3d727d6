/** Every projection the ledger runs. Adding one here is all the runner, rebuild and audit need. */
import { customerActivity } from './customer-activity.ts';
import { dailyTotals } from './daily-totals.ts';
import { orderSummary } from './order-summary.ts';
import type { Projection } from './projection.ts';

export const projections: readonly Projection[] = [orderSummary, customerActivity, dailyTotals];
