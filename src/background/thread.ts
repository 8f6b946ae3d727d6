/**
 * Starting a worker thread from a module of this code base, whether it runs as TypeScript
 * (under tsx) or compiled to JavaScript.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A module beside the caller, named without its extension: `.ts` under tsx, `.js` once compiled to dist/. */
export function moduleBeside(callerUrl: string, name: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}

/**
 * Worker threads do not inherit tsx's loader hooks on Node 20, so a TypeScript worker is started
 * through a bootstrap that registers tsx first; compiled JavaScript starts directly.
 */
export function startModuleWorker(url: URL, options: Omit<WorkerOptions, 'eval' | 'execArgv'> = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  // No inherited execArgv: the parent's --import tsx would register a second set of loader hooks.
  return new Worker(boot, { ...options, eval: true, execArgv: [] });
}
