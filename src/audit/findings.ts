/**
 * What an audit can find. Every code names one broken rule, so a test, a script or an auditor
 * can match on it; the message says the specifics in words.
 */
import type { StoredRevision } from '../eventstore/errors.ts';

export type FindingCode =
  // The log's shape
  | 'record-unreadable' // the stored row cannot be read at all (not JSON, wrong column types, a bad time or revision)
  | 'schema-invalid' // the stored event fails its schema (type, data or metadata)
  | 'revision-gap' // a stream's revisions are not 0, 1, 2, … (an event removed, or out of place)
  | 'stream-not-created' // a stream whose first event is not OrderCreated
  | 'order-created-again' // a second OrderCreated in a stream
  | 'order-id-mismatch' // the event's orderId is not the stream's
  | 'duplicate-event-id'
  // Tamper evidence
  | 'hash-mismatch' // the event's content no longer matches its own hash: altered at rest
  | 'chain-broken' // prevHash is not the previous event's hash: an event rewritten, inserted or reordered
  // Idempotency-Key bindings
  | 'key-unbound' // an event written under a key binding that does not exist before it or does not name it
  | 'binding-mismatch' // a key binding whose effect exists but is not what it says (stream, client, request, ids)
  // Money
  | 'duplicate-payment' // a paymentId captured twice in one order
  | 'over-captured' // captured more than the order's total
  | 'currency-mismatch' // a payment in another currency than its order
  | 'total-mismatch' // OrderCreated.total is not the sum of its lines
  | 'over-refunded' // a payment's refunds exceed what it captured
  | 'duplicate-refund' // a refundId recorded twice for one payment
  | 'capture-exceeds-authorization' // an authorization captured for more than it holds
  | 'voided-authorization-captured' // a capture of an authorization that was voided
  | 'captured-authorization-voided' // a void of an authorization that was already captured
  | 'authorization-missing' // a void naming no authorization of the order
  | 'authorization-voided-again' // a second AuthorizationVoided of one authorization
  | 'holds-exceed-total' // open holds plus net captured exceed the order's total
  | 'event-after-cancellation' // anything recorded in an order after its OrderCancelled
  // Payments through the PSP
  | 'payment-request-missing' // a claim or an outcome naming no payment request of the order
  | 'payment-outcome-twice' // a second outcome (capture or decline) of one payment request
  | 'psp-reference-twice' // one PSP charge recorded as the outcome of two payments of an order
  | 'capture-differs-from-request' // a request captured for another amount than it asked for
  // Replayed commands (ledger replay-commands)
  | 'command-unrebuildable' // the event cannot be turned back into its command
  | 'command-rejected' // the command, decided again where it stood, is refused
  | 'command-decided-differently' // decided again, it produces other events than the stored ones
  | 'command-wrote-events'; // replaying it wrote to the log: it was not a no-op

export interface Finding {
  readonly code: FindingCode;
  readonly stream: string;
  /** Decimal strings: revisions and positions are bigints. */
  readonly revision: string;
  readonly position: string;
  readonly message: string;
}

/** Where a finding is: the record's stream, revision (as stored, for an unreadable one) and position. */
export interface FindingPlace {
  readonly stream: string;
  readonly revision: StoredRevision;
  readonly position: bigint;
}

export interface FindingSummary {
  readonly total: number;
  readonly byCode: Readonly<Partial<Record<FindingCode, number>>>;
  /** The first `limit` findings in log order; the counts above cover all of them. */
  readonly listed: readonly Finding[];
  readonly truncated: boolean;
}

/**
 * Collects findings with a cap on how many are kept: a log tampered wholesale could otherwise
 * hold one finding per event and make the audit's memory grow with the log.
 */
export class FindingLog {
  private readonly listed: Finding[] = [];
  private readonly byCode: Partial<Record<FindingCode, number>> = {};
  private total = 0;

  constructor(private readonly limit = 10_000) {}

  add(code: FindingCode, at: FindingPlace, message: string): void {
    this.total += 1;
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    if (this.listed.length < this.limit) {
      this.listed.push({
        code,
        stream: at.stream,
        revision: at.revision.toString(),
        position: at.position.toString(),
        message,
      });
    }
  }

  summary(): FindingSummary {
    return {
      total: this.total,
      byCode: { ...this.byCode },
      listed: [...this.listed],
      truncated: this.total > this.listed.length,
    };
  }
}
