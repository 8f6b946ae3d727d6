/**
 * Starts a module as a worker thread, whether the process runs the TypeScript sources (tsx) or
 * the compiled JavaScript in dist/: the module is named without its extension and found beside
 * the caller in the caller's own language.
 */
import { Worker } from 'node:worker_threads';

export function moduleBeside(callerUrl: string, name: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}

/**
 * Worker threads do not inherit tsx's loader hooks on Node 20, so a TypeScript worker is started
 * through a bootstrap that registers tsx first; compiled JavaScript starts directly.
 */
export function startModuleWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  // No inherited execArgv: the parent's --import tsx would register a second set of loader hooks.
  return new Worker(boot, { eval: true, workerData, execArgv: [] });
}
