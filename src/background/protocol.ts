/** The envelope between a background job's host (the main thread) and the job (its worker thread). */

export type LogLevel = 'info' | 'warn' | 'error';

/** Host → job. */
export type ToJob<In> = { readonly bg: 'message'; readonly body: In } | { readonly bg: 'stop' };

/** Job → host. */
export type FromJob<Out> =
  | { readonly bg: 'ready' }
  /** The job could not start: the host's start fails with this message. */
  | { readonly bg: 'start-failed'; readonly error: string }
  | { readonly bg: 'message'; readonly body: Out }
  | { readonly bg: 'log'; readonly level: LogLevel; readonly obj: object; readonly msg: string }
  | { readonly bg: 'stopped' };

export const messageOf = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
