/**
 * given events → when command → then events | rejection | nothing, over any pure decider.
 */
import * as assert from 'uvu/assert';
import type { Decider } from '../../src/domain/decider.ts';
import { DomainRejection, type RejectionRule } from '../../src/domain/rejection.ts';

/** A rejection's rule, when the decider lists the rules it may refuse under, must be one of them. */
interface Rejecting {
  readonly rejections?: readonly RejectionRule[];
}

export function deciderSpec<Command, Event, State>(decider: Decider<Command, Event, State> & Rejecting) {
  return function given(...history: Event[]) {
    const state = history.reduce(decider.evolve, decider.initialState());
    return {
      when(command: Command) {
        const outcome = (): Event[] => decider.decide(command, state);
        return {
          then(...expected: Event[]): void {
            assert.equal(outcome(), expected);
          },
          thenNothing(): void {
            assert.equal(outcome(), []);
          },
          thenRejected(rule: RejectionRule): void {
            thenThrows((error) => {
              assert.instance(error, DomainRejection);
              assert.is((error as DomainRejection).rule, rule);
              const listed = decider.rejections?.includes(rule) ?? true;
              assert.ok(listed, `${rule} is not among the rules the decider lists`);
            });
          },
          thenThrows,
        };

        /** For a decider whose refusals are not DomainRejections: `check` asserts what was thrown. */
        function thenThrows(check: (error: unknown) => void): void {
          let thrown: { error: unknown } | undefined;
          try {
            outcome();
          } catch (error) {
            thrown = { error };
          }
          if (!thrown) assert.unreachable('expected the command to be refused');
          else check(thrown.error);
        }
      },
    };
  };
}
