/**
 * Real servers for HTTP tests: listening on 127.0.0.1 (port 0) over a SQLite file in a temp
 * directory, plus a small client that sends exactly what a test says (raw headers included).
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { type Config, ConfigSchema } from '../../src/config.ts';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.ts';
import { type BuildAppOptions, buildApp } from '../../src/http/app.ts';
import { type StartServerOptions, startServer } from '../../src/server.ts';
import { tempDir } from './temp.ts';

export interface TestServer {
  readonly url: string;
  readonly store: EventStore;
  readonly dbPath: string;
  close(): Promise<void>;
}

let files = 0;

/** A fresh temp SQLite file unless `dbPath` names one (a restart reopens the same file). */
export function testConfig(
  env: Record<string, string> = {},
  dbPath = join(tempDir('http'), `ledger-${++files}.db`),
): Config {
  return ConfigSchema.parse({
    LEDGER_STORE: `sqlite:${dbPath}`,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    // NORMAL: tests need the store's rules, not its power-loss durability; FULL is the default in production.
    LEDGER_SYNCHRONOUS: 'NORMAL',
    ...env,
  });
}

/** The production path: startServer with a config, as `npm start` runs it. */
export async function startTestServer(
  options: { env?: Record<string, string>; dbPath?: string } & StartServerOptions = {},
): Promise<TestServer> {
  const { env, dbPath, ...serverOptions } = options;
  const config = testConfig(env, dbPath);
  const server = await startServer(config, serverOptions);
  const file = config.LEDGER_STORE.kind === 'sqlite' ? config.LEDGER_STORE.path : '';
  return { url: server.url, store: server.store, dbPath: file, close: server.close };
}

/** An app over a store the test controls (fault injection), listening on 127.0.0.1. */
export async function listenApp(
  store: EventStore,
  options: Omit<BuildAppOptions, 'store' | 'config'> & { env?: Record<string, string> } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const { env, ...appOptions } = options;
  const app = await buildApp({ ...appOptions, store, config: testConfig(env) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
}

export async function allEvents(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

export interface Sent {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary JSON
  readonly json: any;
}

export interface SendOptions {
  readonly body?: unknown;
  /** Sent as is, instead of JSON.stringify(body). */
  readonly rawBody?: string | Buffer;
  /** An array value sends the header once per element. */
  readonly headers?: OutgoingHttpHeaders;
}

/** One request on its own connection, bytes as given: what fetch would normalise, this does not. */
export function send(baseUrl: string, method: string, path: string, options: SendOptions = {}): Promise<Sent> {
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: OutgoingHttpHeaders = {
    ...(options.body !== undefined && options.rawBody === undefined && { 'content-type': 'application/json' }),
    ...(payload !== undefined && { 'content-length': Buffer.byteLength(payload) }),
    connection: 'close',
    ...options.headers,
  };
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    });
    request.on('error', reject);
    request.end(payload);
  });
}

export const orderBody = (overrides: Record<string, unknown> = {}) => ({
  customerId: 'cust-1',
  currency: 'EUR',
  lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1_000 }],
  ...overrides,
});
