/**
 * A TCP relay in the root namespace: listens on an address a namespaced host can reach and passes
 * every connection on to a target only the root namespace reaches (PostgreSQL on 127.0.0.1), so
 * the server's own configuration (listen_addresses, pg_hba) stays as it is. Either side closing or
 * failing closes the other, as a dropped network link would.
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface Forwarder {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function forwardTcp(
  listen: { host: string; port?: number },
  target: { host: string; port: number },
): Promise<Forwarder> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    // An error is followed by close; closing one side destroys the other.
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      socket.on('error', () => {});
      socket.once('close', () => other.destroy());
    }
  });
  server.listen(listen.port ?? 0, listen.host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('forwarder has no port');
  return {
    host: listen.host,
    port: address.port,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
