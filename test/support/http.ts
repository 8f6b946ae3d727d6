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
import { type Answer, conformanceChecker, type OpenApiDocument } from './openapi-conformance.ts';
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
    // Many servers share one test process on a busy machine: its event-loop lag is the machine's, not a server's.
    // The load-shedding test turns it on.
    LEDGER_MAX_EVENT_LOOP_DELAY_MS: '0',
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
  checkers.delete(server.url);
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
  checkers.delete(url);
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

/**
 * One request on its own connection, bytes as given: what fetch would normalise, this does not. The
 * answer is checked against the server's OpenAPI document: one that drifts from it fails the test.
 */
export async function send(baseUrl: string, method: string, path: string, options: SendOptions = {}): Promise<Sent> {
  const check = await conformanceOf(baseUrl);
  const sent = await exchange(baseUrl, method, path, options);
  const problems = check?.({ method, path, status: sent.status, headers: sent.headers, text: sent.text }) ?? [];
  if (problems.length > 0)
    throw new Error(`the answer does not conform to the OpenAPI document:\n${problems.join('\n')}`);
  return sent;
}

/** By server URL; a server started here drops its URL's entry, as a reused port may serve another app. */
const checkers = new Map<string, Promise<((answer: Answer) => string[]) | undefined>>();

/** The document of the server at baseUrl, fetched once; none when the server does not serve one (yet). */
function conformanceOf(baseUrl: string): Promise<((answer: Answer) => string[]) | undefined> {
  let checker = checkers.get(baseUrl);
  if (!checker) {
    checker = exchange(baseUrl, 'GET', '/openapi.json').then(
      (answer) => (answer.status === 200 ? conformanceChecker(answer.json as OpenApiDocument) : undefined),
      () => undefined,
    );
    checkers.set(baseUrl, checker);
    void checker.then((found) => found === undefined && checkers.delete(baseUrl));
  }
  return checker;
}

function exchange(baseUrl: string, method: string, path: string, options: SendOptions = {}): Promise<Sent> {
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
