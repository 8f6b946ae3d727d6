/**
 * The EventStoreDB client as the adapter holds it: the calls it makes, and a release that really
 * lets go of the network. The narrow type lets a test stand a fake in for the transport.
 */
import { EventStoreDBClient } from '@eventstore/db-client';

export type EsdbClient = Pick<EventStoreDBClient, 'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll'>;

export interface EsdbConnection {
  readonly client: EsdbClient;
  /** Cancels every call still open, then closes the gRPC channels, so no socket outlives the store. */
  release(): Promise<void>;
}

interface Closable {
  close(): void;
}

/**
 * 6.x `dispose()` only cancels the streaming calls; the channel (the HTTP/2 connection, and in a
 * cluster the one to the leader) stays open and keeps the process alive. The client makes every
 * channel through its `getChannel`, so we note each one it hands out and close them on release.
 */
export function connectEsdb(connectionString: string): EsdbConnection {
  const client = EventStoreDBClient.connectionString(connectionString);
  const source = client as unknown as { getChannel: () => Promise<Closable> };
  const makeChannel = source.getChannel;
  const channels = new Set<Closable>();
  // Another client version may make channels elsewhere: then only dispose() runs (the close test shows it).
  if (typeof makeChannel === 'function') {
    source.getChannel = async () => {
      const channel = await makeChannel();
      channels.add(channel);
      return channel;
    };
  }
  return {
    client,
    async release() {
      await client.dispose();
      for (const channel of channels) channel.close();
      channels.clear();
    },
  };
}
