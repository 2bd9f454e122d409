/**
 * The answer to a request so malformed that Node's HTTP parser rejects it
 * before Fastify sees a request (bad method, broken chunking, a body where
 * a request line should be, headers too large). Same JSON shape as every
 * other API error, with a code naming the problem, instead of Fastify's
 * default `{"message":"Client Error"}`.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** Fastify's `clientErrorHandler` option. */
export function clientErrorReply(err: Error & { code?: string }, socket: Duplex): void {
  // A reset connection is already gone; there is nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', 'the request headers exceed the maximum size']
    : [400, 'MALFORMED_HTTP', `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`];
  const body = JSON.stringify({ statusCode: status, code, message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
