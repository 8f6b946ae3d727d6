/**
 * The read endpoints, answered from the projections' read models. Every read accepts
 * `minPosition` (query) or `X-Min-Position` (header): it first waits, bounded, until each
 * projection it reads has applied the log up to that position, so a client reads its own write;
 * past the bound it answers 503 projection-lagging with Retry-After. A read shows the caller's
 * own orders only (request.readsAll: every client's), and a projection stopped by a failing
 * handler answers 503 projection-failed instead of stale data.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { customerActivity } from '../../../projections/customer-activity.ts';
import { dailyTotals } from '../../../projections/daily-totals.ts';
import { ORDER_STATUSES } from '../../../projections/order-status.ts';
import { orderSummary, type OrderPayment, type OrderSummary } from '../../../projections/order-summary.ts';
import { EntityId } from '../../domain/ids.ts';
import { addToSum, Currency, subtractSums } from '../../domain/money.ts';
import {
  InvalidCursorError,
  ProjectionFailedError,
  ProjectionNotServingError,
  type Owner,
  type ReadModelQueries,
} from '../../projections/queries.ts';
import type { GenerationStatus, ProjectionStatus } from '../../projections/status.ts';
import type { WaitForPosition } from '../../projections/wait.ts';
import { etagOf } from '../headers.ts';
import { Problem } from '../problem.ts';
import { answer, DecimalString, OrderIdParams, problemResponses } from '../schemas.ts';

export interface ReadRoutesDeps {
  readonly queries: ReadModelQueries;
  readonly waitForPosition: WaitForPosition;
  readonly status: () => Promise<ProjectionStatus[]>;
  /** How long a read waits for minPosition when the client does not say (default 2000 ms). */
  readonly defaultWaitMs?: number;
}

const MAX_WAIT_MS = 10_000;
const MAX_REPORT_DAYS = 366;

const ConsistencyQuery = z.object({
  minPosition: DecimalString.optional().describe(
    "wait until the read model has applied the log up to this position (a command response's `position`)",
  ),
  waitMs: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_MS)
    .optional()
    .describe('how long to wait for minPosition, in ms (default 2000, at most 10000)'),
});
const ConsistencyHeaders = z.looseObject({
  'x-min-position': DecimalString.optional().describe('the same as the minPosition query parameter'),
});

const Money = z.number().int().describe('integer minor units of one order (exact)');
const MoneySum = DecimalString.describe(
  'integer minor units summed across orders, as a decimal string: exact at any size',
);
const OrderStatus = z.enum(ORDER_STATUSES).describe('see the README for what each status means');

const OrderSummaryResponse = z.object({
  orderId: z.string(),
  customerId: z.string(),
  currency: z.string(),
  total: Money,
  authorized: Money.describe('open holds: authorized, neither captured nor voided'),
  captured: Money,
  refunded: Money,
  net: Money.describe('captured − refunded'),
  outstanding: Money.describe('total − net; 0 once cancelled'),
  status: OrderStatus,
  payments: z.array(
    z.object({
      paymentId: z.string(),
      authorization: z.enum(['none', 'open', 'captured', 'voided']).describe('none: captured directly, without a hold'),
      authorized: Money.describe('the amount the authorization held (0 for a direct capture)'),
      amount: Money.describe('captured'),
      refunded: Money,
      refunds: z.array(
        z.object({ refundId: z.string(), amount: Money, position: DecimalString, refundedAt: z.string() }),
      ),
      position: DecimalString.describe("global position of the payment's first event"),
      authorizedAt: z.string().optional(),
      capturedAt: z.string().optional(),
      voidedAt: z.string().optional(),
      request: z
        .enum(['pending', 'captured', 'declined'])
        .optional()
        .describe('only on a payment requested through the PSP (Prefer: respond-async)'),
      requested: Money.optional().describe('the amount requested through the PSP'),
      requestedAt: z.string().optional(),
      pspReference: z.string().optional(),
      declineCode: z.string().optional(),
    }),
  ),
  pending: Money.optional().describe('only on an order with PSP requests: the sum of those still pending'),
  cancelledAt: z.string().optional(),
  cancelReason: z.string().optional(),
  revision: DecimalString.describe('stream revision of the last event applied (the ETag)'),
  position: DecimalString.describe('global position of the last event applied to this order'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const OrderListQuery = ConsistencyQuery.extend({
  customerId: EntityId.optional(),
  status: OrderStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional().describe('nextCursor of the previous page'),
});

const CustomerResponse = z.object({
  customerId: z.string(),
  orders: z.number().int(),
  cancelledOrders: z.number().int(),
  currencies: z.array(
    z.object({
      currency: z.string(),
      ordered: MoneySum,
      captured: MoneySum,
      refunded: MoneySum,
      net: MoneySum.describe('captured − refunded'),
      cancelled: MoneySum.describe('the totals of cancelled orders'),
      outstanding: MoneySum.describe('ordered − cancelled − net'),
    }),
  ),
  firstOrderAt: z.string(),
  lastActivityAt: z.string(),
});

const Day = z.iso.date().describe('YYYY-MM-DD (UTC)');
const DailyQuery = ConsistencyQuery.extend({
  from: Day.describe('the first day, YYYY-MM-DD (UTC)').meta({ examples: ['2026-01-01'] }),
  to: Day.describe('the last day, YYYY-MM-DD (UTC), at most 366 days after from').meta({ examples: ['2026-01-31'] }),
  currency: Currency.optional().describe('only this ISO 4217 currency'),
});
const DayTotals = z.object({
  ordersCreated: z.number().int(),
  amountOrdered: MoneySum,
  paymentsCaptured: z.number().int(),
  amountCaptured: MoneySum,
  refunds: z.number().int(),
  amountRefunded: MoneySum,
  amountNet: MoneySum.describe('amountCaptured − amountRefunded (negative on a day that refunded more)'),
  ordersCancelled: z.number().int(),
  amountCancelled: MoneySum.describe('the totals of the orders cancelled'),
});
const DailyResponse = z.object({
  from: z.string(),
  to: z.string(),
  days: z.array(DayTotals.extend({ day: z.string(), currency: z.string() })),
  totals: z.array(DayTotals.extend({ currency: z.string() })).describe('per currency over the whole range'),
});

const Generation = z.object({
  generation: z.number().int(),
  version: z.number().int(),
  checkpoint: DecimalString.nullable().describe('position of the last event applied; null before the first'),
  lag: z.object({ events: z.number().int(), ms: z.number().int() }),
  failure: z
    .object({
      streamId: z.string().optional(),
      revision: z
        .string()
        .optional()
        .describe('a decimal string; for a row whose revision is no integer, the value stored'),
      position: DecimalString,
      message: z.string().optional(),
    })
    .optional()
    .describe('where the projection stopped; its stream, revision and message only for a key that reads every client'),
});
const ProjectionsResponse = z.object({
  projections: z.array(
    z.object({
      name: z.string(),
      codeVersion: z.number().int(),
      state: z.enum(['running', 'rebuilding', 'failed']),
      serving: Generation.nullable().describe('the generation reads are answered from'),
      rebuilding: Generation.nullable().describe(
        'a generation being built beside it (after a version change or `ledger projections rebuild`)',
      ),
      detail: z.string().optional(),
    }),
  ),
});

// projection-lagging and projection-failed share 503: one OpenAPI entry documents both.
const READ_PROBLEMS = [
  'validation-failed',
  'unauthorized',
  'bad-request',
  'projection-lagging',
  'projection-failed',
] as const;

function readsOf(services: { readonly reads?: ReadRoutesDeps }): ReadRoutesDeps {
  if (services.reads === undefined) throw new Error('the read routes need the read models: pass `reads` to buildApp');
  return services.reads;
}

/** Reads answered from the read models that buildApp was given (`app.ledger.reads`). */
export const readRoutes: FastifyPluginAsyncZod = async (app) => {
  const deps = readsOf(app.ledger);
  const defaultWaitMs = deps.defaultWaitMs ?? 2_000;

  /** Waits for minPosition (if any), then runs the query. */
  async function consistentRead<T>(
    request: FastifyRequest,
    projections: readonly string[],
    query: () => T | Promise<T>,
  ): Promise<T> {
    const { minPosition, waitMs } = request.query as z.infer<typeof ConsistencyQuery>;
    const header = (request.headers as z.infer<typeof ConsistencyHeaders>)['x-min-position'];
    const wanted = [minPosition, header].filter((p) => p !== undefined).map((p) => BigInt(p));
    if (wanted.length > 0) {
      // A stopped projection will never reach the position: say so now rather than after the wait.
      await rethrowAsProblem(request, () => deps.queries.checkNotFailed(projections));
      const position = wanted.reduce((a, b) => (a > b ? a : b));
      const timeoutMs = waitMs ?? defaultWaitMs;
      if (!(await deps.waitForPosition(position, projections, { timeoutMs }))) {
        throw new Problem(
          'projection-lagging',
          `${projections.join(', ')} did not reach position ${position} within ${timeoutMs} ms`,
          {
            retryAfterSeconds: 1,
            minPosition: position.toString(),
          },
        );
      }
    }
    return rethrowAsProblem(request, query);
  }

  app.get(
    '/orders/:orderId',
    {
      schema: {
        summary:
          'An order from the order-summary read model: totals, captured, outstanding, status, payments, revision',
        description:
          "Answers from the read model. Pass minPosition (a command answer's position) to read your own write; " +
          'If-None-Match with the ETag answers 304 while the order is unchanged.',
        tags: ['orders'],
        operationId: 'getOrder',
        params: OrderIdParams,
        querystring: ConsistencyQuery,
        headers: ConsistencyHeaders.extend({
          'if-none-match': z.string().optional().describe('an ETag from this API: 304 while the order is at it'),
        }),
        response: {
          200: answer(OrderSummaryResponse, 'The order', ['etag']),
          304: answer(z.null(), 'Not modified: If-None-Match matched the ETag (no body)', ['etag']),
          ...problemResponses(...READ_PROBLEMS, 'order-not-found'),
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const owner = ownerOf(request);
      const order = await consistentRead(request, [orderSummary.name], () => deps.queries.order(orderId, owner));
      if (!order)
        throw new Problem(
          'order-not-found',
          `order ${orderId} does not exist (or the read model has not seen it yet: pass minPosition)`,
        );
      const etag = etagOf(BigInt(order.revision));
      reply.header('etag', etag);
      // No body at all: not even the serialized null.
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(undefined as never);
      return orderView(order);
    },
  );

  app.get(
    '/orders',
    {
      schema: {
        summary: 'Orders, oldest first by (createdAt, orderId), filtered by customer and/or status; keyset-paginated',
        description: 'Pages of at most `limit` orders; pass `nextCursor` as `cursor` for the next page.',
        tags: ['orders'],
        operationId: 'listOrders',
        querystring: OrderListQuery,
        headers: ConsistencyHeaders,
        response: {
          200: answer(
            z.object({ items: z.array(OrderSummaryResponse), nextCursor: z.string().optional() }),
            'A page of orders; nextCursor is absent on the last page',
          ),
          ...problemResponses(...READ_PROBLEMS),
        },
      },
    },
    async (request) => {
      const { customerId, status, limit, cursor } = request.query;
      const page = await consistentRead(request, [orderSummary.name], () =>
        deps.queries.orders({
          owner: ownerOf(request),
          limit,
          ...(customerId !== undefined && { customerId }),
          ...(status !== undefined && { status }),
          ...(cursor !== undefined && { cursor }),
        }),
      );
      return { ...page, items: page.items.map(orderView) };
    },
  );

  app.get(
    '/customers/:customerId',
    {
      schema: {
        summary:
          "A customer's activity in your orders (an auditor's: in every client's, summed): " +
          'orders placed, and per currency the amounts ordered, captured and outstanding',
        description: 'Answers 404 customer-not-found until one of your orders names the customer.',
        tags: ['reports'],
        operationId: 'getCustomer',
        params: z.object({
          customerId: EntityId.describe('the customerId of an order').meta({ examples: ['cust-42'] }),
        }),
        querystring: ConsistencyQuery,
        headers: ConsistencyHeaders,
        response: {
          200: answer(CustomerResponse, "The customer's activity"),
          ...problemResponses(...READ_PROBLEMS, 'customer-not-found'),
        },
      },
    },
    async (request) => {
      const { customerId } = request.params;
      const owner = ownerOf(request);
      const customer = await consistentRead(request, [customerActivity.name], () =>
        deps.queries.customer(customerId, owner),
      );
      if (!customer) throw new Problem('customer-not-found', `no order names customer ${customerId}`);
      return {
        ...customer,
        cancelledOrders: customer.cancelledOrders ?? 0,
        currencies: customer.currencies.map((c) => ({
          currency: c.currency,
          // Generations built before sums became strings hold numbers (exact: each was a safe integer).
          ordered: String(c.ordered),
          captured: String(c.captured),
          refunded: String(c.refunded ?? 0),
          net: String(c.net ?? subtractSums(c.captured, c.refunded ?? 0)),
          cancelled: String(c.cancelled ?? 0),
          outstanding: subtractSums(subtractSums(c.ordered, c.cancelled ?? 0), c.net ?? c.captured),
        })),
      };
    },
  );

  app.get(
    '/reports/daily',
    {
      schema: {
        summary:
          "Per UTC day and currency, over your orders (an auditor: every client's): orders created and " +
          'payments captured, counted and summed (days without activity are left out)',
        description: 'Amounts are decimal strings of minor units: exact at any size. At most 366 days per request.',
        tags: ['reports'],
        operationId: 'getDailyReport',
        querystring: DailyQuery,
        headers: ConsistencyHeaders,
        response: {
          200: answer(DailyResponse, 'The days with activity, and totals per currency'),
          ...problemResponses(...READ_PROBLEMS),
        },
      },
    },
    async (request) => {
      const { from, to, currency } = request.query;
      const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
      if (span < 0 || span >= MAX_REPORT_DAYS) {
        const message = `to must be on or after from, at most ${MAX_REPORT_DAYS} days in all`;
        throw new Problem('validation-failed', message, { errors: [{ path: 'query.to', message }] });
      }
      const owner = ownerOf(request);
      const rows = await consistentRead(request, [dailyTotals.name], () =>
        deps.queries.daily(from, to, currency, owner),
      );
      const days = rows.map((row) => ({ ...dayTotals(row), day: row.day }));
      return { from, to, days, totals: totalsByCurrency(days) };
    },
  );

  app.get(
    '/projections',
    {
      schema: {
        summary:
          'Each projection: the version and checkpoint it serves, its lag, and whether it is running, rebuilding or failed',
        description: 'A failure names its stream and message only to a key that reads every client (an auditor).',
        tags: ['reports'],
        operationId: 'listProjections',
        response: {
          200: answer(ProjectionsResponse, 'Every projection'),
          ...problemResponses('unauthorized', 'bad-request'),
        },
      },
    },
    async (request) => ({
      projections: (await deps.status()).map((s) => ({
        name: s.name,
        codeVersion: s.codeVersion,
        state: s.state,
        serving: generationJson(s.serving, request.readsAll),
        rebuilding: generationJson(s.rebuilding, request.readsAll),
        ...(s.detail !== undefined && request.readsAll && { detail: s.detail }),
      })),
    }),
  );
};

/** A failure's stream and message may name another client's order: only readsAll sees them. */
function generationJson(generation: GenerationStatus | undefined, readsAll: boolean) {
  if (!generation) return null;
  const { failure } = generation;
  return {
    generation: generation.generation,
    version: generation.version,
    checkpoint: generation.checkpoint === undefined ? null : generation.checkpoint.toString(),
    lag: { events: generation.lag.events, ms: Math.round(generation.lag.ms) },
    ...(failure && {
      failure: readsAll
        ? {
            streamId: failure.streamId,
            revision: failure.revision.toString(),
            position: failure.position.toString(),
            message: failure.message,
          }
        : { position: failure.position.toString() },
    }),
  };
}

/** Runs a read-model query; the read model's own errors become problems. */
async function rethrowAsProblem<T>(request: FastifyRequest, query: () => T | Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (error instanceof ProjectionNotServingError) {
      throw new Problem('projection-lagging', error.message, { retryAfterSeconds: 1 });
    }
    if (error instanceof ProjectionFailedError) throw projectionFailed(error, request.readsAll);
    if (error instanceof InvalidCursorError) {
      const errors = [{ path: 'query.cursor', message: error.message }];
      throw new Problem('validation-failed', error.message, { errors });
    }
    throw error;
  }
}

/** Whose orders the caller may read: its own, or with readsAll (an auditor, or auth off) every client's. */
const ownerOf = (request: FastifyRequest): Owner => (request.readsAll ? undefined : request.clientId);

/**
 * A failed projection answers with where it stopped; the event's stream and the handler's message
 * may name another client's order, so only a caller who reads every client's data gets them.
 */
function projectionFailed(error: ProjectionFailedError, readsAll: boolean): Problem {
  const { projection, failure } = error;
  const detail = readsAll
    ? error.message
    : `${projection} stopped at position ${failure.position}: ` +
      'its handler failed on an event (operators: GET /projections)';
  return new Problem('projection-failed', detail, { projection, position: failure.position.toString() });
}

/**
 * An order as the response shows it. A generation built before holds, refunds and cancellation
 * existed is served until its successor is swapped in; its documents lack those fields, and an
 * order of that log never had any of them.
 */
function orderView(order: OrderSummary): OrderSummary {
  const stored: Partial<OrderSummary> = order;
  const legacyPayment = { authorization: 'none', authorized: 0, refunded: 0, refunds: [] } as const;
  return {
    ...order,
    authorized: stored.authorized ?? 0,
    refunded: stored.refunded ?? 0,
    net: stored.net ?? order.captured,
    payments: order.payments.map((p: Partial<OrderPayment>) => ({ ...legacyPayment, ...p }) as OrderPayment),
  };
}

type Totals = z.infer<typeof DayTotals> & { currency: string };
type Counted = 'ordersCreated' | 'paymentsCaptured' | 'refunds' | 'ordersCancelled';
const COUNTED: readonly Counted[] = ['ordersCreated', 'paymentsCaptured', 'refunds', 'ordersCancelled'];
type Summed = 'amountOrdered' | 'amountCaptured' | 'amountRefunded' | 'amountNet' | 'amountCancelled';
const SUMMED: readonly Summed[] = ['amountOrdered', 'amountCaptured', 'amountRefunded', 'amountNet', 'amountCancelled'];

/**
 * A day's document as the response shows it. Generations from before sums were strings hold
 * numbers; those from before refunds and cancellations lack them (and net is then what was captured).
 */
type StoredDay = Partial<Record<Counted, number> & Record<Summed, string | number>> & { currency: string };

function dayTotals(row: StoredDay): Totals {
  const counted = Object.fromEntries(COUNTED.map((k) => [k, row[k] ?? 0])) as Record<Counted, number>;
  const summed = Object.fromEntries(SUMMED.map((k) => [k, String(row[k] ?? 0)])) as Record<Summed, string>;
  if (row.amountNet === undefined) summed.amountNet = summed.amountCaptured;
  return { currency: row.currency, ...counted, ...summed };
}

function totalsByCurrency(rows: readonly Totals[]): Totals[] {
  const sums = new Map<string, Totals>();
  for (const row of rows) {
    const sum = sums.get(row.currency) ?? dayTotals({ currency: row.currency });
    const counted = Object.fromEntries(COUNTED.map((k) => [k, sum[k] + row[k]]));
    const summed = Object.fromEntries(SUMMED.map((k) => [k, addToSum(sum[k], row[k])]));
    sums.set(row.currency, { currency: row.currency, ...counted, ...summed } as Totals);
  }
  return [...sums.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1));
}
