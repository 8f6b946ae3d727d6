/**
 * Which methods each registered path accepts, so that a request the router cannot match is
 * told apart: a path served under other methods is a 405 with `Allow`, any other a 404; and an
 * OPTIONS request learns the same `Allow`. The router itself only says "no route"; this table is
 * built from the same registrations.
 */
import type { FastifyInstance } from 'fastify';
import { Problem } from './problem.ts';

interface RouteShape {
  readonly pattern: RegExp;
  readonly methods: Set<string>;
}

export interface RouteMethods {
  /** The methods served at this path (query ignored), OPTIONS included; empty when nothing is served there. */
  allowed(url: string): string[];
}

/** Must be called before any route is registered: it learns routes from the onRoute hook. */
export function trackRouteMethods(app: FastifyInstance): RouteMethods {
  const shapes = new Map<string, RouteShape>();
  app.addHook('onRoute', (route) => {
    // The catch-all OPTIONS route answers for every path; it says nothing about what a path serves.
    if (route.url === '*') return;
    const shape = shapes.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set<string>() };
    for (const method of [route.method].flat()) shape.methods.add(method.toUpperCase());
    shapes.set(route.url, shape);
  });
  return {
    allowed(url) {
      const path = url.split('?', 1)[0]!;
      const methods = new Set<string>();
      for (const shape of shapes.values()) {
        if (shape.pattern.test(path)) for (const method of shape.methods) methods.add(method);
      }
      if (methods.size > 0) methods.add('OPTIONS');
      return [...methods].sort();
    },
  };
}

/**
 * OPTIONS: 204 with `Allow` at a served path, 404 elsewhere. With CORS on, @fastify/cors owns the
 * OPTIONS route (it answers preflights before authentication); `Allow` is then added to its answers.
 */
export function answerOptions(app: FastifyInstance, routes: RouteMethods, corsOwnsOptions: boolean): void {
  if (corsOwnsOptions) {
    app.addHook('onSend', (request, reply, payload, done) => {
      const allowed = request.method === 'OPTIONS' ? routes.allowed(request.url) : [];
      if (allowed.length > 0) reply.header('allow', allowed.join(', '));
      done(null, payload);
    });
    return;
  }
  app.options('*', { schema: { hide: true } }, async (request, reply) => {
    const allowed = routes.allowed(request.url);
    if (allowed.length === 0) throw new Problem('not-found', `nothing is served at ${shorten(request.url)}`);
    return reply.code(204).header('allow', allowed.join(', ')).send();
  });
}

export const shorten = (url: string): string => (url.length > 200 ? `${url.slice(0, 200)}…` : url);

/** `/orders/:orderId/payments` → one segment per parameter; a trailing `*` matches the rest. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}
