/**
 * CPU time of a process on this machine (all its threads, user + system), read from /proc (Linux).
 * On a shared machine wall-clock rates swing with everyone else's load; the CPU a request costs
 * does not, so it is the steadier figure to set beside them.
 */
import { readFileSync } from 'node:fs';

/** clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

/** CPU milliseconds the process has used so far; undefined when it is gone or /proc cannot be read. */
export function processCpuMs(pid: number): number | undefined {
  try {
    // The command name (field 2) may hold spaces: the fields counted here start after its ')'.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}
