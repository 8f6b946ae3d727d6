/** Request and response header conventions shared by the routes. */
import type { FastifyRequest } from 'fastify';
import { parseIdempotencyKey } from '../commands/idempotency-key.ts';
import { Problem } from './problem.ts';

/** A strong ETag of a stream revision; the same number whatever store is behind the API. */
export const etagOf = (revision: bigint): string => `"${revision}"`;

const IF_MATCH = /^(?:W\/)?"(\d{1,20})"$/;

/** If-Match: one ETag as this API sends it (weak form accepted). Lists and `*` are refused, not guessed at. */
export function parseIfMatch(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  const match = IF_MATCH.exec(value.trim());
  if (!match) {
    const message = 'must be one ETag as returned by this API, e.g. "3" (W/"3" is accepted)';
    throw new Problem('validation-failed', `If-Match ${message}`, { errors: [{ path: 'headers.if-match', message }] });
  }
  return BigInt(match[1]!);
}

/** Every occurrence of a header, unjoined (Node joins repeated unknown headers with ", ", and keeps only the first of some). */
export function headerOccurrences(request: FastifyRequest, name: string): string[] {
  const raw = request.raw.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) values.push(raw[i + 1]!);
  return values;
}

/** The request's Idempotency-Key, or undefined; 400 idempotency-key-invalid when malformed. */
export function optionalIdempotencyKey(request: FastifyRequest): string | undefined {
  const parsed = parseIdempotencyKey(headerOccurrences(request, 'idempotency-key'));
  if (parsed.kind === 'invalid') throw new Problem('idempotency-key-invalid', `Idempotency-Key: ${parsed.reason}`);
  return parsed.kind === 'key' ? parsed.key : undefined;
}

/** The key where the resource id is derived from it; 400 idempotency-key-missing without one. */
export function requiredIdempotencyKey(request: FastifyRequest, why: string): string {
  const key = optionalIdempotencyKey(request);
  if (key === undefined) throw new Problem('idempotency-key-missing', `Idempotency-Key is required: ${why}`);
  return key;
}
