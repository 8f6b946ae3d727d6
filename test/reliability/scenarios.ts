/**
 * The reliability scenarios, shared by the bounded CI run (test/reliability/*.test.ts) and the
 * soak (`npm run soak`). Every scenario drives real server processes on 127.0.0.1 with retrying
 * clients, then checks the log against what the clients were told.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { openStore } from '../../src/eventstore/open-store.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { StoreUrlSchema } from '../../src/eventstore/store-url.ts';
import { fillDisk, mountTmpfs } from '../support/disk.ts';
import { tempDir } from '../support/temp.ts';
import { createHosts, type Host, type Hosts } from './hosts.ts';
import { checkLedger, type RunSummary } from './ledger-check.ts';
import { type ClientRecord, runPaymentClient } from './payment-client.ts';
import { freePort, ServerProcess, sleep } from './server-process.ts';
import { type Forwarder, forwardTcp } from './tcp-forwarder.ts';

export interface CrashOptions {
  readonly dir: string;
  readonly clients: number;
  readonly durationMs: number;
  /** Mean time between SIGKILLs; each kill lands at a random moment around it. */
  readonly killEveryMs: number;
  /** Keep going past the duration until at least this many kills have happened. */
  readonly minKills?: number;
  /** How many of the clients are buggy: they keep the key but regenerate the body on every retry. */
  readonly buggyClients?: number;
  readonly log?: (line: string) => void;
}

export interface ScenarioResult {
  readonly summary: RunSummary;
  readonly storePath: string;
}

/** SIGKILL the server at random moments under load, restart it on the same file each time. */
export async function crashUnderLoad(options: CrashOptions): Promise<ScenarioResult> {
  const storePath = join(options.dir, 'crash.db');
  const server = new ServerProcess({ store: `sqlite:${storePath}`, port: await freePort() });
  await server.start();
  let stop = false;
  const clients = startClients(options.clients, {
    urls: [server.url],
    stop: () => stop,
    resendAfterSuccess: true,
    buggy: options.buggyClients ?? 0,
  });
  const endAt = Date.now() + options.durationMs;
  const more = () => Date.now() < endAt || server.kills < (options.minKills ?? 0);
  while (more()) {
    await sleep(options.killEveryMs * (0.5 + Math.random()));
    if (!more()) break;
    await server.kill();
    options.log?.(`killed server (${server.kills})`);
    await server.start();
  }
  stop = true;
  const records = await clients;
  await server.terminate();
  return { summary: await summarize(storePath, records, server.kills), storePath };
}

/** Two server processes on one SQLite file; every request and its duplicate go to both. */
export async function twoServersOneStore(options: {
  dir: string;
  clients: number;
  ordersPerClient: number;
}): Promise<ScenarioResult> {
  const storePath = join(options.dir, 'two.db');
  const servers = [0, 1].map(async () => new ServerProcess({ store: `sqlite:${storePath}`, port: await freePort() }));
  const [a, b] = await Promise.all(servers);
  await a!.start();
  await b!.start();
  const records = await startClients(
    options.clients,
    { urls: [a!.url, b!.url], resendAfterSuccess: true, alternate: true },
    options.ordersPerClient,
  );
  await Promise.all([a!.terminate(), b!.terminate()]);
  return { summary: await summarize(storePath, records, 0), storePath };
}

export interface ScaleOutOptions {
  readonly dir: string;
  /** The one store every server writes to, as this process reaches it (a postgres:// URL). */
  readonly store: string;
  readonly servers: number;
  /** Each server on a host of its own (a network namespace); false: all on 127.0.0.1. */
  readonly namespaces: boolean;
  readonly clients: number;
  readonly durationMs: number;
  /** Mean time between SIGKILLs (of each server in turn), each restarted at once. */
  readonly killEveryMs: number;
  readonly minKills?: number;
  readonly log?: (line: string) => void;
}

export interface ScaleOutResult {
  readonly summary: RunSummary;
  /** Kills per server: every one of them went down at least once when each count is above 0. */
  readonly killsPerServer: readonly number[];
  /**
   * The read models for the audit's --compare-live: each server's own file, or (undefined) the
   * store's default, for PostgreSQL the one set in its database that every server shares.
   */
  readonly readModels: readonly (string | undefined)[];
  readonly urls: readonly string[];
  /** Acknowledged commands whose attempts and re-sends all reached one server (0 when duplicates span servers). */
  readonly oneServerOnly: number;
}

const START_TIMEOUT_MS = 90_000;

/**
 * Several servers on one shared store, each (when namespaces can be made) on a host of its own
 * that reaches the store over its link: retrying clients send each attempt, and each re-send
 * after success, to the next server, so every duplicate reaches a different server than the
 * request before it; meanwhile servers are SIGKILLed at random and restarted.
 */
export async function scaleOut(options: ScaleOutOptions): Promise<ScaleOutResult> {
  const hosts: Hosts | undefined = options.namespaces ? createHosts(options.servers) : undefined;
  const forwarders: Forwarder[] = [];
  const servers: ServerProcess[] = [];
  try {
    for (let n = 0; n < options.servers; n++) {
      const host = hosts?.hosts[n];
      const store = host ? await reachedFrom(host, options.store, forwarders) : options.store;
      servers.push(
        new ServerProcess({
          store,
          port: host ? 8080 : await freePort(),
          namespace: host?.namespace,
          host: host?.address,
          // Off the loopback the server insists on authentication; the clients here send no API key
          // (the link is private to the run, as behind a gateway that authenticates). The gateway also
          // owns rate limiting there: the retrying clients are one address each, far past 600 a minute.
          env: {
            LEDGER_READ_MODELS: join(options.dir, `read-models-${n}.db`),
            LEDGER_AUTH: 'off',
            LEDGER_RATE_LIMIT: '0',
          },
        }),
      );
    }
    // Together, as a deployment starts them: the schema is created once, whoever comes first.
    // On a shared 2-core machine a start can take many seconds; the bound only catches a hang.
    await Promise.all(servers.map((s) => s.start(START_TIMEOUT_MS)));
    const urls = servers.map((s) => s.url);
    let stop = false;
    const clients = startClients(options.clients, { urls, stop: () => stop, resendAfterSuccess: true, rotate: true });
    const endAt = Date.now() + options.durationMs;
    const kills = () => servers.reduce((n, s) => n + s.kills, 0);
    const more = () => Date.now() < endAt || kills() < (options.minKills ?? 0);
    // A restart runs while the load and the next kills go on; a server is killed again only once it is back.
    const restarts = servers.map(() => Promise.resolve());
    while (more()) {
      await sleep(options.killEveryMs * (0.5 + Math.random()));
      if (!more()) break;
      // Each in turn, at random moments: every server goes down once the kills outnumber them.
      const n = kills() % servers.length;
      await restarts[n];
      await servers[n]!.kill();
      options.log?.(`killed ${servers[n]!.url} (${kills()})`);
      restarts[n] = servers[n]!.start(START_TIMEOUT_MS);
      restarts[n].catch(() => {}); // awaited before the next kill of this server, and at the end
    }
    await Promise.all(restarts);
    stop = true;
    const records = await clients;
    await Promise.all(servers.map((s) => s.terminate()));
    return {
      summary: await summarizeStore(options.store, records, kills()),
      killsPerServer: servers.map((s) => s.kills),
      readModels: /^postgres(ql)?:/.test(options.store)
        ? [undefined]
        : servers.map((_, n) => join(options.dir, `read-models-${n}.db`)),
      urls,
      oneServerOnly: records
        .flatMap((r) => r.commands)
        .filter((c) => c.status !== undefined && c.status >= 200 && c.status < 300 && (c.sentTo?.size ?? 0) < 2).length,
    };
  } finally {
    // Processes first: a namespace with a process still in it outlives its deletion.
    await Promise.all(servers.map((s) => s.kill()));
    await Promise.all(forwarders.map((f) => f.close()));
    hosts?.remove();
  }
}

/** The store's URL as a namespaced host reaches it: a PostgreSQL server on loopback via a relay on the link. */
async function reachedFrom(host: Host, store: string, forwarders: Forwarder[]): Promise<string> {
  const url = new URL(store);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return store;
  const forwarder = await forwardTcp({ host: host.gateway }, { host: url.hostname, port: Number(url.port || 5432) });
  forwarders.push(forwarder);
  url.hostname = forwarder.host;
  url.port = String(forwarder.port);
  return url.toString();
}

async function startClients(
  count: number,
  options: Parameters<typeof runPaymentClient>[0] & { alternate?: boolean; rotate?: boolean; buggy?: number },
  ordersPerClient = Number.MAX_SAFE_INTEGER,
): Promise<ClientRecord[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      // Alternate (or rotate) which server a client starts on, so the duplicates span every server.
      const shift = options.rotate ? i % options.urls.length : options.alternate && i % 2 === 1 ? 1 : 0;
      const urls = [...options.urls.slice(shift), ...options.urls.slice(0, shift)];
      return runPaymentClient({ ...options, urls, regenerateOnRetry: i < (options.buggy ?? 0) }, ordersPerClient);
    }),
  );
}

export async function summarize(
  storePath: string,
  records: readonly ClientRecord[],
  kills: number,
): Promise<RunSummary> {
  return summarizeStore(`sqlite:${storePath}`, records, kills);
}

/** What the clients were told, checked against the log of any store a URL names. */
export async function summarizeStore(
  url: string,
  records: readonly ClientRecord[],
  kills: number,
): Promise<RunSummary> {
  const store = await openStore(StoreUrlSchema.parse(url));
  try {
    return await checkLedger(store, records, kills);
  } finally {
    await store.close();
  }
}

export { sleep };

/**
 * A real full disk: the store lives on a small tmpfs; mid-run a filler file takes the rest of
 * it, commands must answer 503 + Retry-After and write nothing partial; once the filler is gone
 * the retrying clients finish and the usual checks hold.
 */
export async function storeFull(options: {
  dir: string;
  clients: number;
  loadMs: number;
  fullMs: number;
}): Promise<ScenarioResult & { unavailable: number; withoutRetryAfter: number }> {
  const disk = join(options.dir, 'small-disk');
  mkdirSync(disk, { recursive: true });
  const unmount = mountTmpfs(disk, '48m');
  try {
    const storePath = join(disk, 'full.db');
    const server = new ServerProcess({ store: `sqlite:${storePath}`, port: await freePort() });
    await server.start();
    let stop = false;
    const clients = startClients(options.clients, { urls: [server.url], stop: () => stop, giveUpAfterMs: 120_000 });
    await sleep(options.loadMs);
    const filler = join(disk, 'filler');
    fillDisk(filler);
    await sleep(options.fullMs);
    rmSync(filler);
    await sleep(options.loadMs);
    stop = true;
    const records = await clients;
    await server.terminate();
    // The small disk goes away with the scenario; the audit reads a copy on the ordinary one.
    const kept = join(options.dir, 'full.db');
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(storePath + suffix)) copyFileSync(storePath + suffix, kept + suffix);
    }
    const summary = await summarize(kept, records, 0);
    return {
      summary,
      storePath: kept,
      unavailable: records.reduce((n, r) => n + r.unavailable, 0),
      withoutRetryAfter: records.reduce((n, r) => n + r.unavailableWithoutRetryAfter, 0),
    };
  } finally {
    unmount();
  }
}

export interface ShutdownResult {
  readonly exitCode: number | null;
  readonly exitMs: number;
  readonly answered: number;
  readonly refused: number;
  /** Requests sent on an open connection that got no answer (the server had not read them yet). */
  readonly cut: number;
  /** Of those, how many had nevertheless taken effect: an accepted request left unanswered. */
  readonly cutWithEffect: number;
  /** After a restart, the cut and refused requests retried with their keys, then everything checked. */
  readonly summary: RunSummary;
}

const GRACEFUL_ORDER = { customerId: 'c-1', currency: 'EUR', lines: [{ sku: 'S', quantity: 1, unitPrice: 100 }] };

/**
 * SIGTERM under load: what the server accepted is answered, it exits 0, nothing acknowledged is
 * lost. Requests it never read (still in a socket buffer or the accept queue when it stopped
 * listening) are cut; they must have no effect, and their retries against the restarted server
 * must each take effect exactly once.
 */
export async function gracefulShutdown(options: { dir: string; requests: number }): Promise<ShutdownResult> {
  const storePath = join(options.dir, 'graceful.db');
  const server = new ServerProcess({ store: `sqlite:${storePath}`, port: await freePort() });
  await server.start();
  const record: ClientRecord = {
    commands: [],
    retries: 0,
    keyReused: 0,
    regeneratedWrong: 0,
    unavailable: 0,
    unavailableWithoutRetryAfter: 0,
  };
  // Connections are opened (and accepted) before the load, so the requests race only the server's reads.
  const agent = new Agent({ keepAlive: true, maxSockets: options.requests });
  await Promise.all(Array.from({ length: options.requests }, () => getOnce(agent, `${server.url}/health`)));
  let firstAnswer: () => void = () => {};
  const answered = new Promise<void>((resolve) => (firstAnswer = resolve));
  const commands = Array.from({ length: options.requests }, (_, i): ClientRecord['commands'][number] => ({
    kind: 'create',
    key: `graceful-${i}`,
    attempts: 1,
    replayedSeen: false,
  }));
  record.commands.push(...commands);
  const outcomes = commands.map(async (command) => {
    const result = await postOnce(agent, server.url, '/orders', command.key, GRACEFUL_ORDER);
    firstAnswer();
    if (typeof result === 'number') command.status = result;
    return result;
  });
  await answered;
  const exit = await server.terminate();
  const results = await Promise.all(outcomes);
  agent.destroy();

  const unanswered = commands.filter((_, i) => results[i] === 'cut');
  const effects = await summarizeKeys(storePath);
  const cutWithEffect = unanswered.filter((c) => effects.has(c.key)).length;

  // What a retrying client does next: the same requests, same keys, to the restarted server.
  await server.start();
  for (const command of commands.filter((c) => c.status === undefined)) {
    const status = await postOnce(undefined, server.url, '/orders', command.key, GRACEFUL_ORDER);
    if (typeof status === 'number') command.status = status;
    record.retries += 1;
  }
  await server.terminate();
  return {
    exitCode: exit.code,
    exitMs: exit.ms,
    answered: results.filter((r) => typeof r === 'number').length,
    refused: results.filter((r) => r === 'refused').length,
    cut: unanswered.length,
    cutWithEffect,
    summary: await summarize(storePath, [record], 0),
  };
}

async function summarizeKeys(storePath: string): Promise<Set<string>> {
  const store = openSqliteStore(storePath);
  try {
    const keys = new Set<string>();
    for await (const event of store.readAll()) {
      const key = event.metadata.idempotencyKey;
      if (typeof key === 'string') keys.add(key);
    }
    return keys;
  } finally {
    await store.close();
  }
}

function getOnce(agent: Agent, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent }, (response) => {
      response.resume();
      response.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });
}

/** One request on an accepted connection: its status, 'refused' (no connection) or 'cut' (sent, unanswered). */
function postOnce(
  agent: Agent | undefined,
  base: string,
  path: string,
  key: string,
  body: unknown,
): Promise<number | 'refused' | 'cut'> {
  return new Promise((resolve) => {
    const request = httpRequest(
      `${base}${path}`,
      {
        method: 'POST',
        agent: agent ?? false,
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', () => resolve('cut'));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : 'cut'));
    request.end(JSON.stringify(body));
  });
}

/** No EventStoreDB at the configured address: start-up and /ready say so, commands answer 503 within a bound. */
export async function esdbUnavailable(): Promise<{
  ready: number;
  readyBody: string;
  commandStatus: number;
  commandMs: number;
  retryAfter: string | null;
  log: string;
}> {
  // The read models of an esdb: store default to ./data: a test writes only under the temp dir.
  const env = { LEDGER_READ_MODELS: join(tempDir('esdb-unavailable'), 'read-models.db') };
  const server = new ServerProcess({
    store: `esdb://127.0.0.1:${await freePort()}?tls=false`,
    port: await freePort(),
    env,
  });
  await server.start();
  try {
    const ready = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(15_000) });
    const readyBody = await ready.text();
    const started = Date.now();
    const command = await fetch(`${server.url}/orders/esdb-down`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'c-1', currency: 'EUR', lines: [{ sku: 'S', quantity: 1, unitPrice: 100 }] }),
      signal: AbortSignal.timeout(30_000),
    });
    await command.text();
    return {
      ready: ready.status,
      readyBody,
      commandStatus: command.status,
      commandMs: Date.now() - started,
      retryAfter: command.headers.get('retry-after'),
      log: server.log,
    };
  } finally {
    await server.terminate();
  }
}
