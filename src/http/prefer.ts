/**
 * The Prefer request header (RFC 7240): comma-separated preferences, each a token with an optional
 * `=value` and `;`-parameters, possibly over several header lines. Tokens are case-insensitive,
 * and a preference the server does not know is ignored, so `respond-async` may come among others.
 */
import type { FastifyRequest } from 'fastify';
import { headerOccurrences } from './headers.ts';

/** The preference tokens of a request, lower-cased, in order. */
export function preferenceTokens(request: FastifyRequest): string[] {
  return headerOccurrences(request, 'prefer').flatMap(splitPreferences);
}

export function prefersRespondAsync(request: FastifyRequest): boolean {
  return preferenceTokens(request).includes('respond-async');
}

/** Splits one header value at commas outside quoted strings and keeps each preference's token. */
export function splitPreferences(value: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === '\\') {
      current += c + (value[i + 1] ?? '');
      i += 1;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (c === ',' && !quoted) {
      tokens.push(current);
      current = '';
    } else current += c;
  }
  tokens.push(current);
  return tokens.map((p) => p.split(/[=;]/, 1)[0]!.trim().toLowerCase()).filter((t) => t !== '');
}
