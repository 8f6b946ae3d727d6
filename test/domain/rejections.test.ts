/**
 * REJECTIONS is what the HTTP routes document, so it must be exactly what the decider can refuse
 * each command with: nothing thrown outside it (checked over random histories and commands), and
 * nothing listed that no command can reach.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { OrderCommand } from '../../src/domain/commands.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import { type OrderState, orderDecider } from '../../src/domain/order.ts';
import { DomainRejection, REJECTIONS, type RejectionRule } from '../../src/domain/rejection.ts';

const currency = fc.constantFrom('EUR', 'USD');
const paymentId = fc.constantFrom('pay-1', 'pay-2', 'pay-3');
const lines = fc.array(
  fc.record({
    sku: fc.constantFrom('A', 'B'),
    quantity: fc.integer({ min: 1, max: 3 }),
    unitPrice: fc.integer({ min: 0, max: 500 }),
  }),
  { minLength: 1, maxLength: 2 },
);
const create = fc.record({
  type: fc.constant('CreateOrder' as const),
  orderId: fc.constant('o-1'),
  customerId: fc.constantFrom('c-1', 'c-2'),
  currency,
  lines,
});
const capture = fc.record({
  type: fc.constant('CapturePayment' as const),
  orderId: fc.constant('o-1'),
  paymentId,
  amount: fc.integer({ min: 1, max: 2_000 }),
  currency,
});
const amount = fc.integer({ min: 1, max: 2_000 });
const authorize = fc.record({
  type: fc.constant('AuthorizePayment' as const),
  orderId: fc.constant('o-1'),
  paymentId,
  amount,
  currency,
});
const captureAuthorization = fc.record(
  // Small amounts, so that a capture often fits its hold and a second, different one can follow.
  {
    type: fc.constant('CaptureAuthorization' as const),
    orderId: fc.constant('o-1'),
    paymentId,
    amount: fc.integer({ min: 1, max: 60 }),
  },
  { requiredKeys: ['type', 'orderId', 'paymentId'] },
);
const voidAuthorization = fc.record({
  type: fc.constant('VoidAuthorization' as const),
  orderId: fc.constant('o-1'),
  paymentId,
});
const refund = fc.record({
  type: fc.constant('RefundPayment' as const),
  orderId: fc.constant('o-1'),
  paymentId,
  refundId: fc.constantFrom('r-1', 'r-2'),
  amount,
});
const cancel = fc.record({
  type: fc.constant('CancelOrder' as const),
  orderId: fc.constant('o-1'),
  reason: fc.constantFrom('a', 'b'),
});
const requestPayment = fc.record({
  type: fc.constant('RequestPayment' as const),
  orderId: fc.constant('o-1'),
  paymentId,
  // Small, so that requests often fit the order and claims on them follow.
  amount: fc.integer({ min: 1, max: 100 }),
  currency,
  paymentMethod: fc.constantFrom('pm_card_visa', 'pm_card_chargeDeclined'),
});
// Three instants a lease (20 s) and a key window (45 s) apart, so every claim rule can be reached.
const claimAt = fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:30.000Z', '2026-01-01T00:01:00.000Z');
const startProcessing = fc.record(
  {
    type: fc.constant('StartPaymentProcessing' as const),
    orderId: fc.constant('o-1'),
    paymentId,
    processorId: fc.constantFrom('proc-a', 'proc-b'),
    at: claimAt,
    leaseMs: fc.constant(20_000),
    keyWindowMs: fc.constant(45_000),
  },
  { requiredKeys: ['type', 'orderId', 'paymentId', 'processorId', 'at', 'leaseMs'] },
);
const recordOutcome = fc.record({
  type: fc.constant('RecordPaymentOutcome' as const),
  orderId: fc.constant('o-1'),
  paymentId,
  outcome: fc.oneof(
    fc.record({ kind: fc.constant('captured' as const), pspReference: fc.constantFrom('pi_1', 'pi_2') }),
    fc.record({
      kind: fc.constant('declined' as const),
      code: fc.constantFrom('card_declined', 'expired_card'),
      message: fc.constant('declined'),
    }),
  ),
  source: fc.constantFrom('processor' as const, 'webhook' as const),
});
/** An outcome whose report says what the charge was for (as a webhook's intent does), that money or other. */
const reportedOutcome = recordOutcome.chain((outcome) =>
  fc
    .record({ amount: fc.integer({ min: 1, max: 100 }), currency })
    .map((charged): OrderCommand => ({ ...outcome, charged })),
);
const classic: fc.Arbitrary<OrderCommand> = fc.oneof(
  { arbitrary: create, weight: 2 },
  { arbitrary: capture, weight: 2 },
  { arbitrary: authorize, weight: 2 },
  { arbitrary: captureAuthorization, weight: 3 },
  voidAuthorization,
  { arbitrary: refund, weight: 2 },
  cancel,
);
/** Payments through the PSP beside the commands they interact with, weighted so every claim rule is reached. */
const buffered: fc.Arbitrary<OrderCommand> = fc.oneof(
  create,
  { arbitrary: requestPayment, weight: 3 },
  { arbitrary: startProcessing, weight: 3 },
  { arbitrary: recordOutcome, weight: 3 },
  capture,
  authorize,
  cancel,
);
/** Outcomes reported with their money, on requests of that order. */
const reported: fc.Arbitrary<OrderCommand> = fc.oneof(create, requestPayment, reportedOutcome);
const command: fc.Arbitrary<OrderCommand> = fc.oneof({ arbitrary: classic, weight: 3 }, buffered, reported);

const { decide, evolve, initialState } = orderDecider;

function foreignRule(command: OrderCommand): string {
  const rejection = orderDecider.foreignRejection(command);
  return rejection instanceof DomainRejection ? rejection.rule : `not a DomainRejection: ${rejection.message}`;
}

/** Where a sequence of commands leaves the order: accepted ones' events evolve the state, refusals change nothing. */
function stateAfter(commands: readonly OrderCommand[]): OrderState {
  let state = initialState();
  for (const earlier of commands) {
    let events: OrderEvent[] = [];
    try {
      events = decide(earlier, state);
    } catch (error) {
      if (!(error instanceof DomainRejection)) throw error;
    }
    state = events.reduce(evolve, state);
  }
  return state;
}

function ruleOf(command: OrderCommand, state: OrderState): RejectionRule | undefined {
  try {
    decide(command, state);
    return undefined;
  } catch (error) {
    if (error instanceof DomainRejection) return error.rule;
    throw error;
  }
}

const rejections = suite('rejections each command can get');

rejections('the decider refuses a command only with a rule REJECTIONS lists for it', () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 8 }), command, (history, next) => {
      const rule = ruleOf(next, stateAfter(history));
      const listed: readonly RejectionRule[] = REJECTIONS[next.type];
      if (rule !== undefined) assert.ok(listed.includes(rule), `${next.type} refused with ${rule}, not in REJECTIONS`);
      assert.ok(
        (listed as readonly string[]).includes(foreignRule(next)),
        `${next.type}: foreign-order answer not listed`,
      );
    }),
    { numRuns: 2_000 },
  );
});

rejections('every rule REJECTIONS lists for a command is one the decider can refuse it with', () => {
  const reached = new Map<OrderCommand['type'], Set<RejectionRule>>();
  const explore = (commands: fc.Arbitrary<OrderCommand>, numRuns: number, minLength = 0) =>
    fc.assert(
      fc.property(fc.array(commands, { minLength, maxLength: 12 }), commands, (history, next) => {
        const rule = ruleOf(next, stateAfter(history));
        if (rule === undefined) return;
        const seen = reached.get(next.type) ?? new Set();
        reached.set(next.type, seen.add(rule));
      }),
      { numRuns, seed: 11 },
    );
  explore(classic, 20_000);
  explore(buffered, 10_000, 4);
  explore(reported, 2_000, 2);
  for (const [type, listed] of Object.entries(REJECTIONS) as [OrderCommand['type'], readonly RejectionRule[]][]) {
    assert.equal([...(reached.get(type) ?? [])].sort(), [...listed].sort(), `${type}: rules listed but never reached`);
  }
});

rejections("the order decider's rejection list is the rules of all its commands, each once", () => {
  const byCommand = new Set(Object.values(REJECTIONS).flat());
  assert.equal([...orderDecider.rejections].sort(), [...byCommand].sort());
  assert.is(new Set(orderDecider.rejections).size, orderDecider.rejections.length);
  for (const listed of Object.values(REJECTIONS)) assert.is(new Set(listed).size, listed.length);
});

rejections.run();
