/** The caller's If-Match named a revision the stream has moved past (or not reached). */
export class RevisionMismatchError extends Error {
  override readonly name = 'RevisionMismatchError';
  constructor(
    readonly streamId: string,
    readonly expected: bigint,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream ${streamId} is at revision ${String(actual)}, not ${expected}`);
  }
}

/** Every bounded retry lost its race: the stream is too contended right now. Retryable. */
export class ConcurrencyExhaustedError extends Error {
  override readonly name = 'ConcurrencyExhaustedError';
  constructor(
    readonly streamId: string,
    readonly attempts: number,
  ) {
    super(`stream ${streamId} kept changing under ${attempts} attempts`);
  }
}

/** The key's binding stream already holds a binding (another request won the key): re-read it. */
export class KeyBindingTakenError extends Error {
  override readonly name = 'KeyBindingTakenError';
  constructor(readonly streamId: string) {
    super(`key binding ${streamId} is already taken`);
  }
}
