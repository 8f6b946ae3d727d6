/**
 * Where the CLI writes. Results go to stdout (JSON with --json, words otherwise); progress and
 * diagnostics go to stderr, and the progress bar appears only when a person is watching it:
 * stderr is a terminal and the output is not meant for a machine.
 */
import { SingleBar } from 'cli-progress';

export interface Stream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: Stream;
  readonly stderr: Stream;
  readonly env: NodeJS.ProcessEnv;
}

export interface Progress {
  /** Sets how far along the work is, in the unit `total` was given in (positions, bytes…). */
  update(done: number, total: number): void;
  stop(): void;
}

export interface Output {
  readonly json: boolean;
  /** The command's result: `value` as JSON with --json, `human()` otherwise. */
  result(value: unknown, human: () => string): void;
  /** A note for people (stderr), silent with --json. */
  note(text: string): void;
  progress(label: string): Progress;
}

const noProgress: Progress = { update() {}, stop() {} };

export function createOutput(io: CliIo, json: boolean): Output {
  return {
    json,
    result(value, human) {
      io.stdout.write(json ? `${toJson(value)}\n` : `${human()}\n`);
    },
    note(text) {
      if (!json) io.stderr.write(`${text}\n`);
    },
    progress(label) {
      if (json || !io.stderr.isTTY) return noProgress;
      return barOn(io.stderr, label);
    },
  };
}

function barOn(stream: Stream, label: string): Progress {
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {duration_formatted} elapsed | ETA {eta_formatted}`,
    stream: stream as NodeJS.WritableStream,
    hideCursor: true,
    clearOnComplete: true,
    fps: 5,
  });
  let started = false;
  let shown = 0;
  return {
    update(done, total) {
      // Callers may report once per event: pass on at most ten updates a second (the bar draws at five).
      const now = performance.now();
      if (started && now - shown < 100 && done < total) return;
      shown = now;
      if (!started) {
        bar.start(Math.max(total, 1), 0);
        started = true;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** JSON that survives bigints (as decimal strings, the ledger's convention for positions). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}
