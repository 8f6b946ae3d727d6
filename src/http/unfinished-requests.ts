/**
 * At shutdown, connections whose request has not been received whole (a slow or stalled body,
 * headers still arriving) would hold the close until their own timeout. Such a request has not
 * been acted on — a route runs only once its body is complete — so cutting it has no effect on
 * the ledger, and its client retries elsewhere; requests already received are left to finish.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type CutUnfinished = () => number;

export function trackUnfinishedRequests(server: Server): CutUnfinished {
  const sockets = new Set<Socket>();
  const current = new WeakMap<Socket, { request: IncomingMessage; response: ServerResponse }>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    current.set(request.socket, { request, response });
  });
  return () => {
    let cut = 0;
    for (const socket of sockets) {
      const exchange = current.get(socket);
      // No request yet, a body still arriving, or an answered one followed by nothing complete.
      if (exchange === undefined || !exchange.request.complete || exchange.response.writableFinished) {
        socket.destroy();
        cut += 1;
      }
    }
    return cut;
  };
}
