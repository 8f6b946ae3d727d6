/**
 * A payment processor in its own OS process over a SQLite file, charging the test's fake PSP over
 * HTTP (FAKE_PSP_URL): what `ledger process-payments` runs, with the gateway swapped. Prints
 * "ready" once started; stops on SIGTERM.
 */
import { ConfigSchema } from '../../src/config.ts';
import { openStore } from '../../src/eventstore/open-store.ts';
import { silentLogger } from '../../src/projections/engine.ts';
import { startStandaloneProcessor } from '../../src/payments/standalone.ts';
import { httpFakeGateway } from './fake-gateway.ts';

const config = ConfigSchema.parse(process.env);
const location = config.LEDGER_STORE;
const store = await openStore(location);
const processor = await startStandaloneProcessor({
  store,
  location,
  config,
  gateway: httpFakeGateway(process.env.FAKE_PSP_URL ?? ''),
  logger: silentLogger,
  processor: { pollMs: 50, backoff: { attempts: 4, baseMs: 5, maxMs: 50 } },
});
process.stdout.write('ready\n');
process.once('SIGTERM', async () => {
  await processor.close();
  await store.close();
  process.exit(0);
});
