import * as assert from 'uvu/assert';
import type { EventStore } from '../../src/eventstore/port.ts';
import type { Sent } from './http.ts';

/** The RFC 9457 shape every error response has, and nothing that leaks internals. */
export function assertProblem(response: Sent, status: number, slug: string): void {
  assert.is(response.status, status, `expected ${status} ${slug}, got ${response.status}: ${response.text}`);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json;
  assert.ok(body && typeof body === 'object', 'problem body is JSON');
  assert.ok(String(body.type).endsWith(`/problems/${slug}`), `type ${body.type} ends in /problems/${slug}`);
  assert.type(body.title, 'string');
  assert.is(body.status, status);
  assert.type(body.detail, 'string');
  assert.not.match(response.text, /\n\s+at /, 'no stack trace');
  assert.not.ok('stack' in body, 'no stack member');
}

/** Runs `act` and asserts the log did not grow: a rejected request writes nothing. */
export async function assertNothingWritten(store: EventStore, act: () => Promise<unknown>): Promise<void> {
  const before = await store.headPosition();
  await act();
  assert.is(await store.headPosition(), before, 'no event was written');
}
