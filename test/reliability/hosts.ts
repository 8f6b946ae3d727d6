/**
 * Separate hosts on one machine: each is a network namespace of its own, joined to the root
 * namespace by a veth pair on a /30 the run picks for itself. Inside, a process sees only its own
 * loopback and its veth address, so a ledger server there reaches PostgreSQL and is reached by its
 * clients only over the "network", as on another machine. Namespaces need CAP_NET_ADMIN; without
 * it the caller falls back to processes on 127.0.0.1 and says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Host {
  /** The namespace's name (`ip netns exec <name> …`). */
  readonly namespace: string;
  /** The host's own address, inside its namespace. */
  readonly address: string;
  /** The root namespace's end of the link: what the host reaches the rest of the machine on. */
  readonly gateway: string;
}

export interface Hosts {
  readonly hosts: readonly Host[];
  /** Deletes the namespaces and links; safe to call twice. */
  remove(): void;
}

const PREFIX = 'ledgerh';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' }).toString();

let probe: string | undefined | null = null;

/** Why namespaces cannot be made here (undefined when they can), found by making and deleting one. */
export function namespacesUnavailable(): string | undefined {
  if (probe !== null) return probe;
  const name = `${PREFIX}p${process.pid}`;
  try {
    ip('netns', 'add', name);
    ip('netns', 'delete', name);
    probe = undefined;
  } catch (error) {
    probe = `ip netns add failed (${firstLine(error)}): needs the ip tool and CAP_NET_ADMIN`;
  }
  return probe;
}

/** Namespaces a killed earlier run left behind (its pid is gone): removed before a new run. */
function removeLeftovers(): void {
  const names = ip('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(PREFIX));
  for (const name of names) {
    const [, pid, n] = /^ledgerh(\d+)n(\d+)$/.exec(name) ?? [];
    if (pid !== undefined && !existsSync(`/proc/${pid}`)) deleteNamespace(name, `lh${pid}o${n}`);
  }
}

function deleteNamespace(name: string, link?: string): void {
  // A namespace outlives its name while a process still runs in it, and its link with it: the
  // link is deleted first (that deletes both ends), then the name.
  for (const args of [link ? ['link', 'delete', link] : undefined, ['netns', 'delete', name]]) {
    try {
      if (args) ip(...args);
    } catch {
      // already gone
    }
  }
}

function addressInUse(prefix: string): boolean {
  return ip('-4', '-o', 'addr', 'show').includes(` ${prefix}.`);
}

/** Creates `count` hosts; the caller must call `remove()` (it also runs if the process exits). */
export function createHosts(count: number): Hosts {
  removeLeftovers();
  // One /24 per run, chosen from the pid and moved on while taken (another run, another user).
  let third = process.pid % 250;
  while (addressInUse(`10.231.${third}`)) third = (third + 1) % 250;
  const created: { namespace: string; link: string }[] = [];
  const remove = () => {
    for (const { namespace, link } of created.splice(0)) deleteNamespace(namespace, link);
  };
  process.once('exit', remove);
  try {
    const hosts = Array.from({ length: count }, (_, n): Host => {
      const namespace = `${PREFIX}${process.pid}n${n}`;
      const [outside, inside] = [`lh${process.pid}o${n}`, `lh${process.pid}i${n}`];
      const gateway = `10.231.${third}.${n * 4 + 1}`;
      const address = `10.231.${third}.${n * 4 + 2}`;
      ip('netns', 'add', namespace);
      created.push({ namespace, link: outside });
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', inside, 'netns', namespace);
      ip('addr', 'add', `${gateway}/30`, 'dev', outside);
      ip('link', 'set', outside, 'up');
      const within = (...args: string[]) => ip('netns', 'exec', namespace, 'ip', ...args);
      within('addr', 'add', `${address}/30`, 'dev', inside);
      within('link', 'set', inside, 'up');
      within('link', 'set', 'lo', 'up');
      return { namespace, address, gateway };
    });
    return { hosts, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

function firstLine(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
  return (stderr || (error as Error).message).split('\n')[0]!;
}
