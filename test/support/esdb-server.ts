/**
 * Where the EventStoreDB contract suite finds a server: the one ESDB_CONNECTION_STRING names, or,
 * when a Docker engine is reachable, a throwaway single node started with Testcontainers. Without
 * either it says why, and the suite is skipped (ESDB_REQUIRED=1 makes that a failure).
 *
 * Finding out costs next to nothing when there is no Docker: the engine's usual addresses (the ones
 * Testcontainers' runtime strategies try) are checked on disk first, and Testcontainers, slow to
 * load, is imported only if one of them exists.
 */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

export const ESDB_IMAGE = 'eventstore/eventstore:24.10';

export type EsdbServer =
  | { readonly connectionString: string; readonly source: string; stop(): Promise<void> }
  | { readonly skipped: string };

/** Where a Docker engine may answer, or undefined when none of its usual addresses exists. */
export function dockerEngineHint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.DOCKER_HOST) return `DOCKER_HOST=${env.DOCKER_HOST}`;
  if (process.platform === 'win32') return 'the Docker named pipe';
  const properties = join(homedir(), '.testcontainers.properties');
  if (existsSync(properties)) return properties;
  const sockets = [
    '/var/run/docker.sock',
    env.XDG_RUNTIME_DIR && join(env.XDG_RUNTIME_DIR, 'docker.sock'),
    join(homedir(), '.docker', 'run', 'docker.sock'),
    join(homedir(), '.docker', 'desktop', 'docker.sock'),
    join('/run', 'user', String(userInfo().uid), 'docker.sock'),
  ];
  return sockets.find((socket): socket is string => typeof socket === 'string' && existsSync(socket));
}

export async function findEsdbServer(env: NodeJS.ProcessEnv = process.env): Promise<EsdbServer> {
  const given = env.ESDB_CONNECTION_STRING;
  if (given) return { connectionString: given, source: 'ESDB_CONNECTION_STRING', stop: async () => undefined };
  const hint = dockerEngineHint(env);
  if (!hint) {
    return {
      skipped: 'ESDB_CONNECTION_STRING is not set and no Docker engine is reachable (no DOCKER_HOST, no docker.sock)',
    };
  }
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch (error) {
    return {
      skipped: `ESDB_CONNECTION_STRING is not set and the Docker engine (${hint}) did not answer: ${reason(error)}`,
    };
  }
  try {
    const container = await new GenericContainer(ESDB_IMAGE)
      .withEnvironment({
        EVENTSTORE_INSECURE: 'true',
        EVENTSTORE_CLUSTER_SIZE: '1',
        EVENTSTORE_MEM_DB: 'true',
        EVENTSTORE_RUN_PROJECTIONS: 'None',
      })
      .withExposedPorts(2113)
      .withWaitStrategy(Wait.forHttp('/health/live', 2113).forStatusCode(204))
      .withStartupTimeout(120_000)
      .start();
    return {
      connectionString: `esdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`,
      source: `${ESDB_IMAGE} in Docker (Testcontainers)`,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    return { skipped: `Docker is reachable (${hint}) but ${ESDB_IMAGE} did not start: ${reason(error)}` };
  }
}

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
