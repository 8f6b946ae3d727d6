/**
 * Writes the OpenAPI document the server serves at /openapi.json to a file (or stdout), for the
 * linters: a server over a scratch SQLite file, built as `npm start` builds it with every optional route on, never listening
 * beyond loopback and closed at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema } from '../src/config.ts';
import { startServer } from '../src/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'ledger-openapi-'));
try {
  const config = ConfigSchema.parse({
    LEDGER_STORE: `sqlite:${join(dir, 'ledger.db')}`,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    // Every route the server can serve is in the document, the Stripe webhook's included; the
    // processor is off and the PSP address unreachable, so nothing is ever charged.
    LEDGER_PSP: 'stripe',
    LEDGER_PAYMENT_PROCESSOR: 'off',
    STRIPE_API_KEY: 'sk_test_documentonly',
    STRIPE_API_BASE: 'http://127.0.0.1:9',
    STRIPE_WEBHOOK_SECRET: 'whsec_documentonly',
  });
  const server = await startServer(config);
  const document = `${JSON.stringify(server.app.swagger(), null, 2)}\n`;
  await server.close();
  const out = process.argv[2];
  if (out) writeFileSync(out, document);
  else process.stdout.write(document);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
