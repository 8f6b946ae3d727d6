/** Operations: liveness, readiness and Prometheus metrics. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { redactSecrets } from '../../redact.ts';
import { withTimeout } from '../../timeout.ts';
import { Problem } from '../problem.ts';
import { answer, exactProblemResponses, unlimitedProblemResponses } from '../schemas.ts';

export interface ReadinessResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
  /**
   * The detail for a caller who reads only its own clients' data, where `detail` may name another
   * client's stream or quote a stored record (a failed projection's event); absent: `detail` is safe.
   */
  readonly ownDataDetail?: string;
}

/** A plug-in point: the event store is always checked; other modules (projections) add theirs. */
export type ReadinessCheck = () => Promise<ReadinessResult>;

/** A check that hangs must not hang the probe. */
const CHECK_TIMEOUT_MS = 2_000;

const Check = z.object({ name: z.string(), ok: z.boolean(), detail: z.string().optional() });

export const operationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness: the process answers',
        description: 'Needs no API key; never rate-limited nor shed, so that an overloaded ledger is not restarted.',
        tags: ['operations'],
        operationId: 'getHealth',
        security: [],
        response: {
          200: answer(z.object({ status: z.literal('ok') }), 'The process is alive'),
          ...exactProblemResponses('bad-request'),
        },
      },
    },
    async () => ({
      status: 'ok' as const,
    }),
  );

  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: the event store is reachable and can take durable writes; every registered check passes',
        description: 'Answers 503 not-ready, listing each check, while one fails; never rate-limited.',
        tags: ['operations'],
        operationId: 'getReadiness',
        response: {
          200: answer(z.object({ status: z.literal('ready'), checks: z.array(Check) }), 'Every check passes'),
          ...unlimitedProblemResponses('not-ready', 'unauthorized', 'bad-request'),
        },
      },
    },
    async (request) => {
      const storeCheck: ReadinessCheck = async () => {
        const name = `event-store (${app.ledger.store.kind})`;
        return app.ledger.store.ping().then(
          () => ({ name, ok: true }),
          (error: unknown) => ({ name, ok: false, detail: error instanceof Error ? error.message : String(error) }),
        );
      };
      const results = await Promise.all([storeCheck, ...app.ledger.readiness].map(runCheck));
      const checks = results.map(({ ownDataDetail, ...check }) =>
        request.readsAll || ownDataDetail === undefined ? check : { ...check, detail: ownDataDetail },
      );
      const failed = checks.filter((c) => !c.ok);
      if (failed.length > 0) {
        throw new Problem('not-ready', `failing: ${failed.map((c) => c.name).join(', ')}`, {
          checks,
          retryAfterSeconds: 1,
        });
      }
      return { status: 'ready' as const, checks };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description: 'HTTP, command, store and projection metrics in the Prometheus text format; never rate-limited.',
        tags: ['operations'],
        operationId: 'getMetrics',
        produces: ['text/plain'],
        response: {
          200: answer(z.string(), 'The metrics, text/plain; version=0.0.4'),
          ...unlimitedProblemResponses('unauthorized', 'bad-request'),
        },
      },
    },
    async (_request, reply) => {
      const { registry } = app.ledger.metrics;
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
};

/** A check's detail may quote a driver's message, and a driver may quote its connection string. */
async function runCheck(check: ReadinessCheck): Promise<ReadinessResult> {
  const result = await settle(check);
  return result.detail === undefined ? result : { ...result, detail: redactSecrets(result.detail) };
}

async function settle(check: ReadinessCheck): Promise<ReadinessResult> {
  try {
    return await withTimeout(check(), CHECK_TIMEOUT_MS, () => new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`));
  } catch (error) {
    return { name: check.name || 'check', ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}
