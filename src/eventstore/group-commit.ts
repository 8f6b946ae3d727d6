/**
 * Group commit, for the SQL adapters: appends that arrive while a batch is being prepared share
 * one transaction and one commit (one fsync), and each is acknowledged only once that commit is
 * durable. The policy, whatever the driver: a unit's own expectation failure fails that unit
 * only (its neighbours commit); anything else is a storage fault that fails the whole batch, so
 * no append of a failed batch is acknowledged and none of it is written.
 *
 * The queue takes any commit function, synchronous (better-sqlite3) or asynchronous (a network
 * driver sending a batch in one round trip); one batch is in flight at a time.
 */
import { StoreUnavailableError, WrongExpectedVersionError } from './errors.ts';
import type { AppendResult, StreamWrite } from './port.ts';

/** One unit of a group commit: a single append, or the writes of one atomic multi-stream append. */
export type CommitUnit = readonly StreamWrite[];

/** What became of one unit of a committed batch: its results (in the order of its writes), or its own failure. */
export type UnitOutcome =
  | { readonly ok: true; readonly results: AppendResult[] }
  | { readonly ok: false; readonly error: WrongExpectedVersionError };

/**
 * Commits one batch and answers one outcome per unit, in order, once the commit is durable; throws
 * or rejects when the batch as a whole failed (nothing of it may then be written). A synchronous
 * function keeps the whole transaction in one turn of the event loop, so no read on the same
 * connection can see the batch half-written.
 */
export type CommitBatch = (units: readonly CommitUnit[]) => UnitOutcome[] | Promise<UnitOutcome[]>;

export interface GroupCommitOptions {
  readonly commitBatch: CommitBatch;
  /** The adapter's error mapping: what every unit of a failed batch is rejected with. */
  readonly toStoreError: (error: unknown) => Error;
  /** Most units committed in one transaction. */
  readonly maxBatch: number;
  /** Called after each committed batch (local subscriptions wake on it). */
  readonly onCommitted?: () => void;
}

export interface GroupCommit {
  /** Queues a unit for the next batch; resolves with its results once its batch is committed. */
  commit(unit: CommitUnit): Promise<AppendResult[]>;
  /** Refuses new units and resolves once every queued one is settled. */
  close(): Promise<void>;
}

interface Pending {
  readonly unit: CommitUnit;
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

export function groupCommit(options: GroupCommitOptions): GroupCommit {
  const pending: Pending[] = [];
  let scheduled = false;
  let inFlight = false;
  let closed = false;
  let idle: Promise<void> = Promise.resolve();
  let markIdle: () => void = () => {};

  function schedule(): void {
    if (scheduled || inFlight) return;
    scheduled = true;
    // setImmediate lets every append issued in this turn of the event loop join the batch.
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    const batch = pending.splice(0, options.maxBatch);
    if (batch.length === 0) {
      settleIfIdle();
      return;
    }
    inFlight = true;
    let outcomes: UnitOutcome[] | Promise<UnitOutcome[]>;
    try {
      outcomes = options.commitBatch(batch.map((p) => p.unit));
    } catch (error) {
      failed(batch, error);
      return;
    }
    if (outcomes instanceof Promise)
      outcomes.then(
        (done) => committed(batch, done),
        (error) => failed(batch, error),
      );
    else committed(batch, outcomes);
  }

  function committed(batch: readonly Pending[], outcomes: readonly UnitOutcome[]): void {
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) p.resolve(outcome.results);
      else p.reject(outcome.error);
    });
    options.onCommitted?.();
    finished();
  }

  function failed(batch: readonly Pending[], error: unknown): void {
    const failure = options.toStoreError(error);
    for (const p of batch) p.reject(failure);
    finished();
  }

  function finished(): void {
    inFlight = false;
    if (pending.length > 0) schedule();
    settleIfIdle();
  }

  function settleIfIdle(): void {
    if (pending.length === 0 && !scheduled && !inFlight) markIdle();
  }

  return {
    commit(unit) {
      if (closed) return Promise.reject(new StoreUnavailableError('the event store is closed', 'closed'));
      if (pending.length === 0 && !scheduled && !inFlight) idle = new Promise((resolve) => (markIdle = resolve));
      return new Promise<AppendResult[]>((resolve, reject) => {
        pending.push({ unit, resolve, reject });
        schedule();
      });
    },
    close() {
      closed = true;
      return idle;
    },
  };
}

/** The transaction statements of a driver that answers synchronously. */
export interface BatchTransaction {
  begin(): void;
  commit(): void;
  /** Undoes the open transaction, if the driver has not already rolled it back. */
  rollback(): void;
  savepoint(): void;
  release(): void;
  rollbackToSavepoint(): void;
}

/**
 * The expectation is checked before any insert, and a failed single insert undoes itself; only a
 * unit of several events can leave a partial write to undo, so only it pays for a savepoint.
 */
export const needsSavepoint = (unit: CommitUnit): boolean => unit.length > 1 || unit[0]!.events.length > 1;

/**
 * One batch in one transaction, each unit under its own savepoint where it needs one. `write`
 * writes one stream's part; it throws WrongExpectedVersionError, before writing, when the
 * stream is not where the write expects it, and any other error is a fault.
 */
export function commitInSavepoints(
  units: readonly CommitUnit[],
  transaction: BatchTransaction,
  write: (write: StreamWrite) => AppendResult,
): UnitOutcome[] {
  const outcomes: UnitOutcome[] = [];
  try {
    transaction.begin();
    for (const unit of units) {
      const savepoint = needsSavepoint(unit);
      if (savepoint) transaction.savepoint();
      try {
        outcomes.push({ ok: true, results: unit.map(write) });
        if (savepoint) transaction.release();
      } catch (error) {
        // A storage fault fails the batch (and the driver may already have rolled it back, savepoints included).
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (savepoint) {
          transaction.rollbackToSavepoint();
          transaction.release();
        }
        outcomes.push({ ok: false, error });
      }
    }
    transaction.commit();
  } catch (error) {
    transaction.rollback();
    throw error;
  }
  return outcomes;
}
