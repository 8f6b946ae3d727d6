/** Zod schemas shared by several routes: they validate, serialize and document at once. */
import { z } from 'zod';
import { EntityId } from '../domain/ids.ts';
import { PROBLEM_TYPES, type ProblemSlug, problemTypeUri } from './problem.ts';

/** Revisions and positions: bigint inside, decimal strings in JSON (they may exceed 2^53). */
export const DecimalString = z.string().regex(/^\d+$/).describe('a non-negative integer as a decimal string');

export const OrderIdParams = z.object({ orderId: EntityId });

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
 * The problem responses a route can give, for its OpenAPI entry, from the slugs it can raise. Several
 * slugs share a status, so each status's body lists its slugs, as the enum of its `type` and in its description.
 */
export function problemResponses(...slugs: ProblemSlug[]): Record<number, z.ZodType> {
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
