/**
 * `ledger replay`'s engine: stream the log once, derive each event's facts (in worker threads
 * when the log is large and the store can be opened by each of them), check them in position
 * order, and report. Memory is bounded by the checker's per-stream state and the id set.
 */
import { createChecker, type CheckerResult } from './checker.ts';
import { factsOf, type EventFacts } from './facts.ts';
import { parallelFacts } from './parallel-facts.ts';
import { describeSource, entriesOf, scopeEnd, type LogScope, type LogSource, type ProgressListener } from './source.ts';

export interface AuditOptions {
  readonly source: LogSource;
  readonly scope?: LogScope;
  /** Worker threads for decoding and hashing; 0 checks everything on this thread. */
  readonly workers?: number;
  readonly onProgress?: ProgressListener;
  readonly maxListedFindings?: number;
  /** Payment requests still pending that are older than this are listed (default one hour). */
  readonly pendingLongerThanMs?: number;
  /** Below this many events, starting workers (~1.2 s each to load) costs more than it saves (default 150,000). */
  readonly minEventsForWorkers?: number;
}

export interface AuditReport extends CheckerResult {
  readonly source: string;
  readonly scope: { readonly toPosition?: string; readonly asOf?: string };
  readonly timing: { readonly startedAt: string; readonly seconds: number; readonly eventsPerSecond: number };
}

const INLINE_BATCH = 1_000;
export const DEFAULT_PENDING_LONGER_THAN_MS = 3_600_000;

export async function audit(options: AuditOptions): Promise<AuditReport> {
  const scope = options.scope ?? {};
  const startedAt = new Date();
  const started = performance.now();
  const checker = createChecker({
    ...(scope.asOf && { asOf: scope.asOf.getTime() }),
    ...(options.maxListedFindings !== undefined && { maxListedFindings: options.maxListedFindings }),
    pendingSince:
      (scope.asOf?.getTime() ?? Date.now()) - (options.pendingLongerThanMs ?? DEFAULT_PENDING_LONGER_THAN_MS),
  });
  const workers = { count: options.workers ?? 0, minEvents: BigInt(options.minEventsForWorkers ?? 150_000) };
  for await (const batch of factBatches(options.source, scope, workers, options.onProgress)) {
    for (const facts of batch) checker.visit(facts);
  }
  const result = checker.finish();
  const seconds = (performance.now() - started) / 1000;
  return {
    source: describeSource(options.source),
    scope: {
      ...(scope.toPosition !== undefined && { toPosition: scope.toPosition.toString() }),
      ...(scope.asOf && { asOf: scope.asOf.toISOString() }),
    },
    ...result,
    timing: {
      startedAt: startedAt.toISOString(),
      seconds,
      eventsPerSecond: seconds > 0 ? Math.round((result.counts.events + result.counts.eventsAfterAsOf) / seconds) : 0,
    },
  };
}

export function isClean(report: Pick<AuditReport, 'findings'>): boolean {
  return report.findings.total === 0;
}

async function* factBatches(
  source: LogSource,
  scope: LogScope,
  workers: { count: number; minEvents: bigint },
  onProgress?: ProgressListener,
): AsyncGenerator<readonly EventFacts[]> {
  if (source.kind === 'store') {
    // Fixed once: events appended while the audit runs are not part of it, whichever path reads.
    const end = await scopeEnd(source, scope);
    scope = { ...scope, toPosition: end };
    // Workers only on SQLite: its positions are dense (chunks by position are even) and each worker can open the file.
    if (source.store.kind === 'sqlite' && workers.count > 0 && end >= workers.minEvents) {
      const chunks = parallelFacts({ location: source.location, after: 0n, upTo: end, workers: workers.count });
      for await (const batch of chunks) {
        const last = batch[batch.length - 1];
        if (last) onProgress?.(Number(last.position), Number(end));
        yield batch;
      }
      return;
    }
  }
  let batch: EventFacts[] = [];
  for await (const entry of entriesOf(source, scope, onProgress)) {
    batch.push(factsOf(entry));
    if (batch.length === INLINE_BATCH) {
      yield batch;
      batch = [];
    }
  }
  yield batch;
}
