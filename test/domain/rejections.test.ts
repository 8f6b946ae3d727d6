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
const command: fc.Arbitrary<OrderCommand> = fc.oneof(create, capture);

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
      assert.ok((listed as readonly string[]).includes(foreignRule(next)), `${next.type}: foreign-order answer not listed`);
    }),
    { numRuns: 2_000 },
  );
});

rejections('every rule REJECTIONS lists for a command is one the decider can refuse it with', () => {
  const reached = new Map<OrderCommand['type'], Set<RejectionRule>>();
  fc.assert(
    fc.property(fc.array(command, { maxLength: 8 }), command, (history, next) => {
      const rule = ruleOf(next, stateAfter(history));
      if (rule === undefined) return;
      const seen = reached.get(next.type) ?? new Set();
      reached.set(next.type, seen.add(rule));
    }),
    { numRuns: 2_000, seed: 11 },
  );
  for (const [type, listed] of Object.entries(REJECTIONS) as [OrderCommand['type'], readonly RejectionRule[]][]) {
    assert.equal([...(reached.get(type) ?? [])].sort(), [...listed].sort(), `${type}: rules listed but never reached`);
  }
});

rejections("the order decider's rejection list is the rules of all its commands, each once", () => {
  const byCommand = Object.values(REJECTIONS).flat();
  assert.equal([...orderDecider.rejections].sort(), [...byCommand].sort());
  assert.is(new Set(byCommand).size, byCommand.length);
});

rejections.run();
