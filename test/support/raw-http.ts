/**
 * Bytes on a TCP socket to 127.0.0.1, for what Node's HTTP client refuses to send: bad request
 * lines, control bytes in headers, Content-Length with Transfer-Encoding, slow bodies.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  readonly status: number;
  /** Lower-cased names. */
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The socket was closed by the server (or reset) rather than left open. */
  readonly closed: boolean;
}

/**
 * Sends `bytes`, then reads until the server closes the socket or `timeoutMs` passes.
 * `endAfterWrite`: the client then finishes its side, so an incomplete request meets EOF.
 */
export function rawExchange(
  url: string,
  bytes: string | Buffer,
  timeoutMs = 5_000,
  options: { endAfterWrite?: boolean } = {},
): Promise<RawAnswer> {
  const socket = openSocket(url);
  if (options.endAfterWrite) socket.end(bytes);
  else socket.write(bytes);
  return readAnswer(socket, timeoutMs);
}

export function openSocket(url: string): Socket {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {}); // a reset is an answer too: `closed`
  return socket;
}

/** Everything the server writes until it closes the socket (or the timeout), parsed as one response. */
export function readAnswer(socket: Socket, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponse(Buffer.concat(chunks).toString('utf8')), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('close', () => finish(true));
  });
}

function parseResponse(text: string): Omit<RawAnswer, 'closed'> {
  // Interim answers (100 Continue) precede the final one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(text) && text.includes('\r\n\r\n')) {
    text = text.slice(text.indexOf('\r\n\r\n') + 4);
  }
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  return { status, headers, body: split < 0 ? '' : text.slice(split + 4) };
}

/** A request with a JSON body and `Connection: close`, as raw bytes. */
export function rawRequest(method: string, path: string, headers: Record<string, string>, body = ''): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== '' && !Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h))) {
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
