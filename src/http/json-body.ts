/**
 * The one body parser: UTF-8 JSON, uncompressed, read so that the server and anything in
 * front of it cannot disagree about what was sent. JSON.parse keeps the last of two equal
 * keys and silently rounds numbers it cannot hold, while a gateway may keep the first key or
 * the exact decimal; both are therefore refused here, as are `__proto__` and
 * `constructor.prototype` keys (prototype pollution). JSON.parse validates the syntax first,
 * so the key scan below only ever walks well-formed text.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { headerOccurrences } from './headers.ts';
import { Problem } from './problem.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function registerJsonBodyParser(app: FastifyInstance): void {
  // JSON only: any other body, text/plain included, is a 415 rather than a validation puzzle.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    try {
      assertPlainUtf8(request);
      done(null, parseJsonBody(decodeUtf8(body)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/** Content-Encoding other than identity, or a charset other than UTF-8: 415, before any byte is read as JSON. */
function assertPlainUtf8(request: FastifyRequest): void {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined) {
    const codings = encoding
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean);
    if (codings.some((c) => c !== 'identity')) {
      const detail = 'bodies must not be compressed or otherwise encoded: send them without Content-Encoding';
      throw new Problem('unsupported-media-type', detail);
    }
  }
  // Node keeps the first of two Content-Types, and a later charset parameter could mean another
  // decoding to whoever reads the header after us: either is ambiguous, so neither is accepted.
  if (headerOccurrences(request, 'content-type').length > 1) {
    throw new Problem('unsupported-media-type', 'send exactly one Content-Type header');
  }
  const charsets = [...(request.headers['content-type'] ?? '').matchAll(/;\s*charset\s*=\s*"?([^";\s]*)"?/gi)];
  if (charsets.length > 1) throw new Problem('unsupported-media-type', 'send at most one charset parameter');
  const charset = charsets[0]?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new Problem('unsupported-media-type', 'JSON bodies are UTF-8: send charset=utf-8 or no charset at all');
  }
}

function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new Problem('malformed-json', 'the body is not valid UTF-8');
  }
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new Problem('malformed-json', 'the body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Problem('malformed-json', 'the body is not valid JSON');
  }
  const refusal = scanKeysAndNumbers(text);
  if (refusal?.kind === 'pollution') {
    const detail = `keys named __proto__, or constructor.prototype, are not accepted (${refusal.path})`;
    throw new Problem('malformed-json', detail);
  }
  if (refusal !== undefined) {
    const { path, message } = refusal;
    throw new Problem('validation-failed', `${path}: ${message}`, { errors: [{ path, message }] });
  }
  return value;
}

interface Refusal {
  readonly kind: 'duplicate' | 'pollution' | 'inexact';
  readonly path: string;
  readonly message: string;
}

interface Frame {
  /** Keys seen so far in this object; undefined for an array. */
  readonly keys: Set<string> | undefined;
  /** The current key (object) or index (array), for error paths. */
  at: string | number;
}

const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Walks well-formed JSON once: the first duplicate key, polluting key or inexact number, if any. */
function scanKeysAndNumbers(text: string): Refusal | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), at: '' });
      expectKey = true;
      i += 1;
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: undefined, at: 0 });
      expectKey = false;
      i += 1;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
      i += 1;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]!;
      if (top.keys === undefined) top.at = (top.at as number) + 1;
      else expectKey = true;
      i += 1;
    } else if (c === 0x22 /* " */) {
      const end = endOfString(text, i);
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const top = stack[stack.length - 1]!;
        top.at = key;
        const parent = stack[stack.length - 2];
        if (key === '__proto__' || (key === 'prototype' && parent?.at === 'constructor')) {
          return { kind: 'pollution', path: pathOf(stack), message: 'is a reserved key' };
        }
        if (top.keys!.has(key)) {
          return { kind: 'duplicate', path: pathOf(stack), message: 'appears twice in one object; send each key once' };
        }
        top.keys!.add(key);
        expectKey = false;
      }
      i = end + 1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const token = NUMBER.exec(text)![0];
      if (!isExact(token)) {
        const limit = Number.MAX_SAFE_INTEGER;
        const message = `${token.slice(0, 40)} cannot be held exactly (integers up to ±${limit}, no rounding)`;
        return { kind: 'inexact', path: pathOf(stack), message };
      }
      i += token.length;
    } else {
      i += 1; // whitespace, ':', and the letters of true/false/null
    }
  }
  return undefined;
}

/** The closing quote: the next `"` not escaped by an odd run of backslashes. */
function endOfString(text: string, start: number): number {
  for (let quote = text.indexOf('"', start + 1); ; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
  }
}

/**
 * A number is refused when parsing it changes what it says in a way a schema cannot see: an
 * integer beyond 2^53−1 (it comes out as a neighbouring integer), or a decimal with a fraction
 * that rounds to an integer (4503599627370497.5 → …498). Other fractions stay fractions, which
 * the schemas refuse where an integer is required.
 */
function isExact(token: string): boolean {
  if (token.length < 16 && !/[.eE]/.test(token)) return true; // at most 15 digits: always exact
  const value = Number(token);
  if (!Number.isInteger(value)) return true;
  if (!Number.isSafeInteger(value)) return false;
  if (!/[.eE]/.test(token)) return true;
  const [, whole = '', fraction = '', exponent = '0'] = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token)!;
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  return /^0*$/.test(digits.slice(Math.max(point, 0)));
}

/** `body.lines[0].unitPrice`, as the validation errors name fields. */
function pathOf(stack: readonly Frame[]): string {
  let path = 'body';
  for (const frame of stack) path += typeof frame.at === 'number' ? `[${frame.at}]` : `.${frame.at}`;
  return path;
}
