/**
 * Errors Node's HTTP parser raises before fastify sees a request (a bad request line, control
 * bytes in a header, Content-Length with Transfer-Encoding, headers over the size limit, a
 * request not received whole in time). There is no request object to reply through, so the
 * problem document is written to the socket as raw HTTP, and the connection is closed: after
 * a framing error nothing more on it can be trusted.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Problem } from './problem.ts';

/** How long a client gets to read the answer before the socket is destroyed anyway. */
const LINGER_MS = 1_000;

export function problemForClientError(code: string | undefined): Problem {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new Problem('request-timeout', 'the headers and body did not arrive whole in time; nothing was done');
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new Problem('headers-too-large', 'the request line and headers exceed 16 KiB');
  }
  const reason = code !== undefined && /^HPE_[A-Z_]+$/.test(code) ? ` (${code})` : '';
  return new Problem('bad-request', `the request line, a header or the framing of the body is not valid HTTP${reason}`);
}

/** For fastify's `clientErrorHandler` option. */
export function answerClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || socket.destroyed) return;
  const problem = problemForClientError(error.code);
  this.log.info({ code: error.code, problem: problem.slug, status: problem.status }, problem.detail);
  // A response already under way on this socket (its headers sent) cannot be followed by another.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(problem.toJSON(`urn:uuid:${randomUUID()}`));
  const head = [
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}`,
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
