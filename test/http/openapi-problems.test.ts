/**
 * Every rejection a command route can answer is in that route's OpenAPI responses, under its status,
 * even where several slugs share one: checked against the domain's list of rejections per command,
 * and against the answers the routes actually give.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { OrderCommand } from '../../src/domain/commands.ts';
import { REJECTIONS } from '../../src/domain/rejection.ts';
import { PROBLEM_TYPES, type ProblemSlug } from '../../src/http/problem.ts';
import { orderBody, type Sent, send, startTestServer, type TestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';

/** Each command route by its OpenAPI operation, with the commands it runs. */
const COMMAND_ROUTES: Record<string, readonly OrderCommand['type'][]> = {
  'put /orders/{orderId}': ['CreateOrder'],
  'post /orders': ['CreateOrder'],
  // With Prefer: respond-async it records a request for the PSP instead of a capture made elsewhere.
  'post /orders/{orderId}/payments': ['CapturePayment', 'RequestPayment'],
  'post /orders/{orderId}/authorizations': ['AuthorizePayment'],
  'post /orders/{orderId}/authorizations/{paymentId}/capture': ['CaptureAuthorization'],
  'post /orders/{orderId}/authorizations/{paymentId}/void': ['VoidAuthorization'],
  'post /orders/{orderId}/payments/{paymentId}/refunds': ['RefundPayment'],
  'post /orders/{orderId}/cancel': ['CancelOrder'],
};
const WRITE_METHODS = new Set(['post', 'put', 'patch', 'delete']);

type Operation = { responses: Record<string, any> };

const docs = suite<{ server: TestServer; operations: Map<string, Operation> }>('OpenAPI problem responses');

docs.before(async (context) => {
  context.server = await startTestServer();
  const doc = (await send(context.server.url, 'GET', '/openapi.json')).json;
  context.operations = new Map();
  for (const [path, methods] of Object.entries<Record<string, Operation>>(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) context.operations.set(`${method} ${path}`, operation);
  }
});

docs.after(async ({ server }) => {
  await server.close();
});

/** The slugs a route documents under a status: the enum of the problem body's `type`. */
function documentedTypes(operation: Operation, status: number): string[] {
  const response = operation.responses[String(status)];
  if (!response) return [];
  const [media] = Object.values<{ schema?: { properties?: { type?: { enum?: string[] } } } }>(response.content ?? {});
  return media?.schema?.properties?.type?.enum ?? [];
}

function assertDocumented(operations: Map<string, Operation>, route: string, slug: ProblemSlug): void {
  const operation = operations.get(route);
  assert.ok(operation, `${route} is in the document`);
  const { status } = PROBLEM_TYPES[slug];
  const documented = documentedTypes(operation, status);
  assert.ok(documented.includes(`/problems/${slug}`), `${route} documents ${slug} under ${status}`);
  const { description } = operation.responses[String(status)];
  assert.match(description, slug, `${route}: the ${status} description names ${slug}`);
}

docs('every write operation in the document is a command route this test knows', ({ operations }) => {
  const writes = [...operations.keys()].filter((key) => WRITE_METHODS.has(key.split(' ')[0]!));
  assert.equal(writes.sort(), Object.keys(COMMAND_ROUTES).sort());
});

docs('each command route documents every rejection of its command, slugs sharing a status too', ({ operations }) => {
  for (const [route, commands] of Object.entries(COMMAND_ROUTES)) {
    for (const command of commands) for (const slug of REJECTIONS[command]) assertDocumented(operations, route, slug);
  }
});

docs('the rejections the routes actually answer are the ones their documents list', async ({ server, operations }) => {
  const answered = (route: string, slug: ProblemSlug, response: Sent) => {
    assertProblem(response, PROBLEM_TYPES[slug].status, slug);
    assertDocumented(operations, route, slug);
  };
  const put = 'put /orders/{orderId}';
  const payments = 'post /orders/{orderId}/payments';
  const capture = (orderId: string, body: Record<string, unknown>) =>
    send(server.url, 'POST', `/orders/${orderId}/payments`, { body });

  assert.is((await send(server.url, 'PUT', '/orders/doc-1', { body: orderBody() })).status, 201);
  const taken = await send(server.url, 'PUT', '/orders/doc-1', { body: orderBody({ customerId: 'someone-else' }) });
  answered(put, 'order-already-exists', taken);

  answered(payments, 'order-not-found', await capture('doc-missing', { paymentId: 'p', amount: 1, currency: 'EUR' }));
  assert.is((await capture('doc-1', { paymentId: 'p-1', amount: 500, currency: 'EUR' })).status, 201);
  const recapture = await capture('doc-1', { paymentId: 'p-1', amount: 400, currency: 'EUR' });
  answered(payments, 'payment-already-captured', recapture);
  answered(payments, 'currency-mismatch', await capture('doc-1', { paymentId: 'p-2', amount: 100, currency: 'USD' }));
  const tooMuch = await capture('doc-1', { paymentId: 'p-3', amount: 1_501, currency: 'EUR' });
  answered(payments, 'capture-exceeds-outstanding', tooMuch);
});

docs.run();
