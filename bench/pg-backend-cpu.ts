/**
 * CPU time the PostgreSQL backends of one database have used, read from /proc (Linux, server on
 * this machine). On a shared machine wall-clock rates swing with everyone else's load; the CPU an
 * append costs the server (and the client) does not, so it is the steadier way to compare stores.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { processCpuMs } from './process-cpu.ts';

/** CPU milliseconds (user + system) per backend process serving `database`. */
export function backendCpu(database: string): Map<number, number> {
  const cpu = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return cpu;
  }
  for (const pid of pids) {
    let title: string;
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // A backend's title: "postgres: 15/main: <user> <database> <client> <state>".
    if (!title.startsWith('postgres: ') || !title.split(' ').includes(database)) continue;
    const ms = processCpuMs(Number(pid));
    if (ms !== undefined) cpu.set(Number(pid), ms);
  }
  return cpu;
}

/** CPU ms used between two readings, by backends present in the second (a new one counts whole). */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}
