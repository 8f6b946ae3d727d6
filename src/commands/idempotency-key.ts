/**
 * The Idempotency-Key header (IETF httpapi draft: a structured-field string) and the request
 * fingerprint that tells an honest retry from a different request sent under the same key.
 */
import { canonicalJson, sha256Hex } from '../events/canonical.ts';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export type ParsedIdempotencyKey =
  | { readonly kind: 'absent' }
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * `occurrences` are the header's raw values, one per header line: two lines are refused rather
 * than joined, because a key that names two operations names none.
 */
export function parseIdempotencyKey(occurrences: readonly string[]): ParsedIdempotencyKey {
  if (occurrences.length === 0) return { kind: 'absent' };
  if (occurrences.length > 1) return invalid('send exactly one Idempotency-Key header');
  const raw = occurrences[0]!.replace(/^[ \t]+|[ \t]+$/g, '');
  const key = raw.startsWith('"') ? unquoteSfString(raw) : raw;
  if (typeof key !== 'string') return key;
  if (key.length === 0) return invalid('the key is empty');
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    return invalid(`the key is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  if (!PRINTABLE_ASCII.test(key)) return invalid('the key must be printable ASCII (0x20-0x7E)');
  return { kind: 'key', key };
}

/** RFC 8941 §4.2.5 sf-string, without parameters: `"` … `"` with only `\"` and `\\` as escapes. */
function unquoteSfString(text: string): string | ParsedIdempotencyKey {
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\') {
      const next = text[++i];
      if (next !== '"' && next !== '\\') return invalid('a quoted key may only escape " and \\');
      value += next;
    } else if (char === '"') {
      return i === text.length - 1 ? value : invalid('nothing may follow the closing quote');
    } else {
      value += char;
    }
  }
  return invalid('the quoted key has no closing quote');
}

const invalid = (reason: string): ParsedIdempotencyKey => ({ kind: 'invalid', reason });

export interface FingerprintInput {
  readonly method: string;
  /** The route template (`/orders/:orderId/payments`), so one key cannot mean two different routes. */
  readonly route: string;
  /** The path parameters, so one key cannot mean two resources of one route. */
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** A request as its key binds it: each part hashed apart, so a mismatch can say which part differs. */
export interface RequestFingerprint {
  readonly method: string;
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly bodyHash: string;
  /** SHA-256 of the canonical JSON (RFC 8785) of method, route, params and body: key order and spacing don't count. */
  readonly fingerprint: string;
}

export function requestFingerprint(input: FingerprintInput): RequestFingerprint {
  const method = input.method.toUpperCase();
  const body = input.body ?? null;
  return {
    method,
    route: input.route,
    params: { ...input.params },
    bodyHash: sha256Hex(canonicalJson(body)),
    fingerprint: sha256Hex(canonicalJson({ method, route: input.route, params: input.params, body })),
  };
}

/**
 * The request hash the release before key bindings recorded (method, route and body, without the
 * path parameters): how an effect it wrote under a key is recognised as this same request.
 */
export function legacyRequestHash(input: Omit<FingerprintInput, 'params'>): string {
  return sha256Hex(canonicalJson({ method: input.method.toUpperCase(), route: input.route, body: input.body ?? null }));
}
