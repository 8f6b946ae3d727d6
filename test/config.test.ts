/** LEDGER_API_KEYS: roles, secrets a Bearer token can carry, and refusals that name the variable, never a secret. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from '../src/config.ts';

const test = suite('config: API keys');

const A = 'alice-secret-0123456789';
const B = 'bob-secret-0123456789ab';
const AUDIT = 'audit-secret-0123456789xyz';

function refusal(keys: string): string {
  try {
    loadConfig({ LEDGER_API_KEYS: keys });
  } catch (error) {
    assert.instance(error, ConfigError);
    return (error as Error).message;
  }
  throw new Error(`LEDGER_API_KEYS=${keys} was accepted`);
}

test('client and auditor entries', () => {
  const keys = loadConfig({ LEDGER_API_KEYS: `alice:${A}, bob:${B},audit:${AUDIT}:auditor,carol:${A}x:client` })
    .LEDGER_API_KEYS!;
  assert.equal(Object.fromEntries(keys), {
    alice: { secret: A, role: 'client' },
    bob: { secret: B, role: 'client' },
    audit: { secret: AUDIT, role: 'auditor' },
    carol: { secret: `${A}x`, role: 'client' },
  });
});

test('secrets of fewer than 16 printable characters, or with spaces, are refused without being echoed', () => {
  for (const secret of ['short-secret', 'has a space in it 0123', 'tab\tinside-0123456789', 'ünicode-secret-0123456']) {
    const message = refusal(`alice:${secret}`);
    assert.match(message, /LEDGER_API_KEYS/);
    assert.match(message, /alice/);
    assert.not.ok(message.includes(secret), `the secret leaked: ${message}`);
  }
});

test('an unknown role, or a secret holding a colon, is refused at start-up without echoing the secret', () => {
  for (const entry of [
    `alice:${A}:auditer`,
    `alice:${A}:AUDITOR`,
    `alice:${A}:`,
    `alice:${A}:x:auditor`,
    `alice:pre:${A}`,
  ]) {
    const message = refusal(`${entry},bob:${B}`);
    assert.match(message, /LEDGER_API_KEYS/);
    assert.match(message, /alice/);
    assert.not.ok(message.includes(A) || message.includes(B), `the secret leaked: ${message}`);
  }
});

test('the client id anonymous (the client of auth-off mode) is reserved', () => {
  const message = refusal(`anonymous:${A}`);
  assert.match(message, /LEDGER_API_KEYS/);
  assert.match(message, /anonymous is reserved/);
  assert.not.ok(message.includes(A));
});

test('a client id listed twice is refused at start-up, naming LEDGER_API_KEYS and not the secrets', () => {
  const message = refusal(`alice:${A},alice:${AUDIT}:auditor`);
  assert.match(message, /LEDGER_API_KEYS/);
  assert.match(message, /alice is listed twice/);
  assert.not.ok(message.includes(A) || message.includes(AUDIT));
  assert.not.ok(refusal(`alice:${A},bob:${A}`).includes(A), 'a shared secret is refused without quoting it');
});

test.run();

const numbers = suite('config: numbers');

numbers('a blank number (an unset substitution) is refused, naming it, not read as 0 and a limit turned off', () => {
  for (const name of [
    'LEDGER_RATE_LIMIT',
    'LEDGER_STATE_CACHE_ENTRIES',
    'LEDGER_MAX_EVENT_LOOP_DELAY_MS',
    'PORT',
    'STRIPE_TIMEOUT_MS',
  ]) {
    for (const blank of ['', '  ']) {
      const error = (() => {
        try {
          return loadConfig({ [name]: blank });
        } catch (e) {
          return e;
        }
      })();
      assert.instance(error, ConfigError, `${name}=${JSON.stringify(blank)}`);
      assert.match((error as ConfigError).message, `${name}: is empty`);
    }
  }
  // Unset still takes the default, and a number is still a number.
  const config = loadConfig({ LEDGER_RATE_LIMIT: '0' });
  assert.equal([config.LEDGER_RATE_LIMIT, loadConfig({}).LEDGER_RATE_LIMIT], [0, 600]);
});

numbers.run();
