/** Zod schemas shared by several routes: they validate, serialize and document at once. */
import { z } from 'zod';
import { EntityId } from '../domain/ids.ts';
import { PROBLEM_TYPES, type ProblemSlug, problemTypeUri } from './problem.ts';
import type { ResponseHeader } from './response-headers.ts';

/** Revisions and positions: bigint inside, decimal strings in JSON (they may exceed 2^53). */
export const DecimalString = z
  .string()
  .regex(/^\d+$/)
  .describe('a non-negative integer as a decimal string')
  .meta({ examples: ['1'] });

/** The example ids chain: the order the examples create is the one the order-scoped examples act on. */
export const EXAMPLE_ORDER_ID = 'ord-1001';

export const OrderIdParams = z.object({
  orderId: EntityId.describe('the order id: 1-64 of A-Z a-z 0-9 _ -').meta({ examples: [EXAMPLE_ORDER_ID] }),
});

const PROBLEM_BODY = 'RFC 9457 problem details, Content-Type application/problem+json';

/** Documents application/problem+json bodies (they are serialized by the error handler, not by this). */
export const ProblemBody = z
  .looseObject({
    type: z.string().describe('ends in /problems/<slug>; a short page is served there'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    streamId: z.string().optional().describe('event-corrupt: the stream of the record that cannot be trusted'),
    revision: z.string().optional().describe('event-corrupt: its revision (as stored, when that is not an integer)'),
    position: z.string().optional().describe('event-corrupt: its global position'),
  })
  .describe(PROBLEM_BODY);

/**
 * Any route may shed load (503 overloaded), fail unexpectedly (500 internal-error) and, unless exempt,
 * limit a client's rate (429): their problems are in every operation's responses, next to the route's own.
 */
export const SHED_PROBLEMS = ['overloaded', 'internal-error'] as const satisfies readonly ProblemSlug[];
export const LIMITED_PROBLEMS = ['rate-limited', ...SHED_PROBLEMS] as const satisfies readonly ProblemSlug[];

/**
 * The problem responses a route can give, for its OpenAPI entry, from the slugs it can raise. Several
 * slugs share a status, so each status's body lists its slugs, as the enum of its `type` and in its description.
 * The rate limit's and the load shedding's problems are included.
 */
export function problemResponses(...slugs: ProblemSlug[]): Record<number, z.ZodType> {
  return problemResponsesOf([...slugs, ...LIMITED_PROBLEMS]);
}

/** The same, for a route exempt from the rate limit (probes, metrics). */
export function unlimitedProblemResponses(...slugs: ProblemSlug[]): Record<number, z.ZodType> {
  return exactProblemResponses(...slugs, ...SHED_PROBLEMS);
}

/** Only these slugs: for a route that neither limits nor sheds (liveness). */
export function exactProblemResponses(...slugs: readonly ProblemSlug[]): Record<number, z.ZodType> {
  return problemResponsesOf(slugs);
}

function problemResponsesOf(slugs: readonly ProblemSlug[]): Record<number, z.ZodType> {
  const byStatus = new Map<number, ProblemSlug[]>();
  for (const slug of new Set(slugs)) {
    const { status } = PROBLEM_TYPES[slug];
    byStatus.set(status, [...(byStatus.get(status) ?? []), slug]);
  }
  return Object.fromEntries([...byStatus].map(([status, listed]) => [status, problemBodyOf(listed)]));
}

const problemBodyOf = (slugs: readonly ProblemSlug[]) =>
  ProblemBody.extend({
    type: z.enum(slugs.map(problemTypeUri)).describe('/problems/<slug>; a short page is served there'),
  }).describe(`${PROBLEM_BODY}; type one of ${slugs.join(', ')}`);

/**
 * A success response for the document: its description, and the headers it carries (documented
 * from one table when the document is finished, see openapi.ts).
 */
export function answer<T extends z.ZodType>(schema: T, description: string, headers: ResponseHeader[] = []): T {
  return schema.meta({ description, headers: Object.fromEntries(headers.map((name) => [name, {}])) });
}
