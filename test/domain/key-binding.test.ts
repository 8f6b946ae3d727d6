/** The key-binding decider: an unbound key binds, the same request is a no-op, any other is refused and says what differs. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type IdempotencyKeyBound,
  IdempotencyKeyReused,
  type KeyedRequest,
  keyBindingDecider,
} from '../../src/domain/key-binding.ts';
import { deciderSpec } from '../support/decider-spec.ts';

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

const given = deciderSpec(keyBindingDecider);
const bound = (orderId: string, bound: KeyedRequest = request): IdempotencyKeyBound => ({
  type: 'IdempotencyKeyBound',
  data: { ...bound, orderId, effect },
});

test('an unbound key is bound to the request and the resource it produced', () => {
  given()
    .when({ request, orderId: 'b', effect })
    .then({ type: 'IdempotencyKeyBound', data: { ...request, orderId: 'b', effect } });
});

test('the same request again decides nothing; every other is refused with what differs', () => {
  given(bound('b')).when({ request, orderId: 'b', effect }).thenNothing();
  const cases: Array<[Partial<KeyedRequest>, string]> = [
    [{ method: 'POST' }, 'route'],
    [{ route: '/orders' }, 'route'],
    [{ params: { orderId: 'c' }, fingerprint: hex('3') }, 'resource'],
    [{ bodyHash: hex('4'), fingerprint: hex('5') }, 'body'],
  ];
  for (const [change, differs] of cases) {
    given(bound('b'))
      .when({ request: { ...request, ...change }, orderId: 'c', effect })
      .thenThrows((error) => {
        assert.instance(error, IdempotencyKeyReused);
        assert.is((error as IdempotencyKeyReused).differs, differs);
      });
  }
});

test('once bound, a later binding event cannot rebind the key', () => {
  const { evolve, initialState } = keyBindingDecider;
  const state = evolve(evolve(initialState(), bound('b')), bound('z', { ...request, params: { orderId: 'z' } }));
  assert.is(state.status === 'bound' && state.binding.orderId, 'b');
});

test.run();
