/**
 * The ledger server as production runs it: `npm start`'s entry in its own OS process, so a
 * SIGKILL is a real crash (no flush, no shutdown hook) and a restart reopens the same file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';

export interface ServerProcessOptions {
  readonly store: string;
  readonly port: number;
  readonly env?: Record<string, string>;
  /** The server's entry (default `npm start`'s, src/main.ts); crash tests use test/support/crash-server.ts. */
  readonly entry?: string;
  /** Run inside this network namespace (`ip netns exec`, which execs: the pid is the server's own). */
  readonly namespace?: string;
  /** The address it listens on and is reached at (default 127.0.0.1). */
  readonly host?: string;
  /** Node's own flags before the entry (a benchmark's --cpu-prof). */
  readonly nodeFlags?: readonly string[];
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  private output = '';
  kills = 0;
  readonly url: string;

  constructor(private readonly options: ServerProcessOptions) {
    this.url = `http://${options.host ?? '127.0.0.1'}:${options.port}`;
  }

  /** Starts the process and waits until /health answers. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.output = '';
    const node = [
      process.execPath,
      ...(this.options.nodeFlags ?? []),
      '--import',
      'tsx',
      this.options.entry ?? 'src/main.ts',
    ];
    const { namespace } = this.options;
    const [command, ...args] = namespace ? ['ip', 'netns', 'exec', namespace, ...node] : node;
    const child = spawn(command!, args, {
      env: {
        ...process.env,
        LEDGER_STORE: this.options.store,
        PORT: String(this.options.port),
        HOST: this.options.host ?? '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...this.options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`server exited with ${child.exitCode} during start-up:\n${this.output}`);
      try {
        const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`server did not become healthy in ${timeoutMs} ms:\n${this.output}`);
  }

  /** Resolves when the process has exited by itself (a crash seam that killed it). */
  async exited(timeoutMs = 10_000): Promise<NodeJS.Signals | number | null> {
    const child = this.child;
    if (!child) return null;
    if (child.exitCode === null && child.signalCode === null) {
      await Promise.race([once(child, 'exit'), sleep(timeoutMs)]);
    }
    return child.signalCode ?? child.exitCode;
  }

  /** A crash: no shutdown hook runs, in-flight requests are cut. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    this.kills += 1;
  }

  /** A graceful stop; resolves with the exit code and how long it took. */
  async terminate(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return { code: child?.exitCode ?? null, signal: null, ms: 0 };
    const started = Date.now();
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const [code, signal] = await exited;
    clearTimeout(timer);
    return { code, signal, ms: Date.now() - started };
  }

  /** The running process's id (undefined before start). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
