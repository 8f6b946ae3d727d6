/**
 * Which methods each registered path accepts, so that a request the router cannot match is
 * told apart: a path served under other methods is a 405 with `Allow`, any other a 404. The
 * router itself only says "no route"; this table is built from the same registrations.
 */
import type { FastifyInstance } from 'fastify';

interface RouteShape {
  readonly pattern: RegExp;
  readonly methods: Set<string>;
}

export interface RouteMethods {
  /** The methods served at this path (query ignored), empty when nothing is served there. */
  allowed(url: string): string[];
}

/** Must be called before any route is registered: it learns routes from the onRoute hook. */
export function trackRouteMethods(app: FastifyInstance): RouteMethods {
  const shapes = new Map<string, RouteShape>();
  app.addHook('onRoute', (route) => {
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
      return [...methods].sort();
    },
  };
}

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
