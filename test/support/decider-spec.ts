/**
 * given events → when command → then events | rejection | nothing, over the pure decider.
 */
import * as assert from 'uvu/assert';
import type { OrderCommand } from '../../src/domain/commands.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import { decide, evolve, initialState } from '../../src/domain/order.ts';
import { DomainRejection, type RejectionRule } from '../../src/domain/rejection.ts';

export function given(...history: OrderEvent[]) {
  const state = history.reduce(evolve, initialState());
  return {
    when(command: OrderCommand) {
      const outcome = (): OrderEvent[] => decide(command, state);
      return {
        then(...expected: OrderEvent[]): void {
          assert.equal(outcome(), expected);
        },
        thenNothing(): void {
          assert.equal(outcome(), []);
        },
        thenRejected(rule: RejectionRule): void {
          try {
            outcome();
          } catch (error) {
            assert.instance(error, DomainRejection);
            assert.is((error as DomainRejection).rule, rule);
            return;
          }
          assert.unreachable(`expected rejection ${rule}`);
        },
      };
    },
  };
}
