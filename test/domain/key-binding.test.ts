/** The key-binding decider: an unbound key binds, the same request is a no-op, any other is refused and says what differs. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decideKeyBinding,
  evolveKeyBinding,
  IdempotencyKeyReused,
  type KeyedRequest,
  unboundKey,
} from '../../src/domain/key-binding.ts';

const test = suite('key-binding decider');

const hex = (c: string) => c.repeat(64);
const request: KeyedRequest = {
  clientId: 'alice',
  idempotencyKey: 'k',
  method: 'PUT',
  route: '/orders/:orderId',
  params: { orderId: 'b' },
  bodyHash: hex('1'),
  fingerprint: hex('2'),
};
const effect = { streamId: 'order-b', eventId: '6f1c2a9e-3b7d-5c4e-8f00-0123456789ab', requestHash: hex('2') };

test('an unbound key is bound to the request and the resource it produced', () => {
  const [bound] = decideKeyBinding({ request, orderId: 'b', effect }, unboundKey());
  assert.equal(bound, { type: 'IdempotencyKeyBound', data: { ...request, orderId: 'b', effect } });
});

test('the same request again decides nothing; every other is refused with what differs', () => {
  const [bound] = decideKeyBinding({ request, orderId: 'b', effect }, unboundKey());
  const state = evolveKeyBinding(unboundKey(), bound!);
  assert.equal(decideKeyBinding({ request, orderId: 'b', effect }, state), []);
  const cases: Array<[Partial<KeyedRequest>, string]> = [
    [{ method: 'POST' }, 'route'],
    [{ route: '/orders' }, 'route'],
    [{ params: { orderId: 'c' }, fingerprint: hex('3') }, 'resource'],
    [{ bodyHash: hex('4'), fingerprint: hex('5') }, 'body'],
  ];
  for (const [change, differs] of cases) {
    try {
      decideKeyBinding({ request: { ...request, ...change }, orderId: 'c', effect }, state);
      assert.unreachable(differs);
    } catch (error) {
      assert.instance(error, IdempotencyKeyReused);
      assert.is((error as IdempotencyKeyReused).differs, differs);
    }
  }
});

test('once bound, a later binding event cannot rebind the key', () => {
  const [first] = decideKeyBinding({ request, orderId: 'b', effect }, unboundKey());
  const [second] = decideKeyBinding({ request: { ...request, params: { orderId: 'z' } }, orderId: 'z', effect }, unboundKey());
  const state = evolveKeyBinding(evolveKeyBinding(unboundKey(), first!), second!);
  assert.is(state.status === 'bound' && state.binding.orderId, 'b');
});

test.run();
