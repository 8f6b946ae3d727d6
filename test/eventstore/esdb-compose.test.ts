/**
 * docker-compose.yml's EventStoreDB cluster, read as data (no Docker here): every node publishes a
 * port of its own on the host and advertises to clients exactly that address, so the host-side
 * connection string, the one the README gives, reaches each node, whichever is the leader.
 */
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { StoreUrlSchema } from '../../src/eventstore/store-url.ts';

interface Service {
  image?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  network_mode?: string;
}

const root = new URL('../../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const readme = readFileSync(new URL('README.md', root), 'utf8');
const test = suite('docker-compose: the EventStoreDB cluster is reachable from the host');

const nodes = Object.entries(compose.services).filter(
  ([, s]) => s.image?.startsWith('eventstore/') && s.profiles?.includes('cluster'),
);

/** host:port pairs of an esdb:// string, in order. */
function hostsOf(url: string): string[] {
  const location = StoreUrlSchema.parse(url);
  assert.is(location.kind, 'esdb');
  return url
    .replace(/^[a-z+]+:\/\//, '')
    .split('?')[0]!
    .split(',');
}

test('each node publishes its own loopback port and advertises 127.0.0.1 with that port', () => {
  assert.is(nodes.length, 3);
  const published = new Set<string>();
  for (const [name, node] of nodes) {
    const env = node.environment ?? {};
    assert.is(node.ports?.length, 1, name);
    const [, host, hostPort, containerPort] = /^(127\.0\.0\.1):(\d+):(\d+)$/.exec(node.ports![0]!) ?? [];
    assert.is(host, '127.0.0.1', `${name} publishes on the loopback only`);
    assert.is(containerPort, env.EVENTSTORE_NODE_PORT ?? '2113', `${name} publishes its node port`);
    // The v24.10 names (ClusterVNodeOptions: AdvertiseHostToClientAs, AdvertiseNodePortToClientAs).
    assert.is(env.EVENTSTORE_ADVERTISE_HOST_TO_CLIENT_AS, '127.0.0.1', name);
    assert.is(env.EVENTSTORE_ADVERTISE_NODE_PORT_TO_CLIENT_AS, hostPort, `${name} advertises its published port`);
    published.add(`127.0.0.1:${hostPort}`);
  }
  assert.is(published.size, 3, 'three different ports');
  assert.not.ok(published.has('127.0.0.1:2113'), "the single node's port stays free");
});

test('the cluster ledger and the README name exactly the advertised addresses', () => {
  const advertised = nodes.map(([, n]) => `127.0.0.1:${n.environment!.EVENTSTORE_ADVERTISE_NODE_PORT_TO_CLIENT_AS}`);
  const ledger = compose.services['ledger-cluster']!;
  assert.is(ledger.network_mode, 'host', 'inside the compose network 127.0.0.1 would be the container itself');
  assert.equal(hostsOf(ledger.environment!.LEDGER_STORE!), advertised);
  const inReadme = [...readme.matchAll(/esdb:\/\/[^\s`'"]*nodePreference=leader/g)].map((m) => m[0]);
  assert.ok(inReadme.length > 0, 'the README gives the cluster string');
  for (const url of inReadme) assert.equal(hostsOf(url), advertised, url);
});

test.run();
