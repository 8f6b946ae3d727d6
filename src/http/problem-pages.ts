/**
 * A short human page at every problem `type` URI, so the link in an error body explains the
 * error to whoever follows it. Generated from PROBLEM_TYPES: the page cannot drift from the API.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PROBLEM_TYPES, Problem, type ProblemSlug, problemTypeUri } from './problem.ts';

export const problemPages: FastifyPluginAsyncZod = async (app) => {
  app.get('/problems', { schema: { hide: true } }, async (_request, reply) => {
    const items = (Object.keys(PROBLEM_TYPES) as ProblemSlug[])
      .map(
        (slug) =>
          `<li><a href="${problemTypeUri(slug)}">${slug}</a> (${PROBLEM_TYPES[slug].status}): ${escapeHtml(PROBLEM_TYPES[slug].title)}</li>`,
      )
      .join('\n');
    return reply.type('text/html; charset=utf-8').send(page('Order Ledger problem types', `<ul>\n${items}\n</ul>`));
  });

  app.get(
    '/problems/:slug',
    { schema: { hide: true, params: z.object({ slug: z.string() }) } },
    async (request, reply) => {
      const { slug } = request.params;
      if (!Object.hasOwn(PROBLEM_TYPES, slug))
        throw new Problem('not-found', `there is no problem type ${JSON.stringify(slug.slice(0, 64))}`);
      const { status, title, description } = PROBLEM_TYPES[slug as ProblemSlug];
      const body = `<p>HTTP status <strong>${status}</strong> · type <code>${problemTypeUri(slug as ProblemSlug)}</code></p>\n<p>${inlineCode(description)}</p>\n<p><a href="/problems">All problem types</a></p>`;
      return reply.type('text/html; charset=utf-8').send(page(title, body));
    },
  );
};

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body>\n<h1>${escapeHtml(title)}</h1>\n${body}\n</body></html>\n`;
}

/** Descriptions mark code with backticks, as in Markdown. */
function inlineCode(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
