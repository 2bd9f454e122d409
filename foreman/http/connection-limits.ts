/**
 * Caps on HTTP connections, in all and per address, so that clients holding
 * connections open (idle, or trickling a body) cannot use up the process's
 * file descriptors and lock out the API and the workers. A connection past a
 * cap gets one `503 TOO_MANY_CONNECTIONS` and is closed before any request is
 * read. A worker socket leaves the count once it upgrades to WebSocket: from
 * then on the session limits count it (session-guard.ts).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { apiError } from './context.js';

export interface ConnectionLimits {
  /** Most HTTP connections open at once. */
  maxHttpConnections: number;
  /** Most HTTP connections open at once from one address. */
  maxHttpConnectionsPerAddress: number;
}

/** Installs the caps on `server`; `onRefused` is called once per connection refused. */
export function installConnectionLimits(server: Server, limits: ConnectionLimits, onRefused: (address: string) => void = () => {}): void {
  const counted = new Set<Socket>();
  const byAddress = new Map<string, number>();
  const release = (socket: Socket, address: string) => {
    if (!counted.delete(socket)) return;
    const n = (byAddress.get(address) ?? 1) - 1;
    if (n <= 0) byAddress.delete(address);
    else byAddress.set(address, n);
  };
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = byAddress.get(address) ?? 0;
    const full =
      counted.size >= limits.maxHttpConnections ? `${counted.size} HTTP connections are open (maxHttpConnections)`
      : fromAddress >= limits.maxHttpConnectionsPerAddress ? `${fromAddress} HTTP connections are open from ${address} (maxHttpConnectionsPerAddress)`
      : null;
    if (full) {
      onRefused(address);
      const body = JSON.stringify(apiError(503, 'TOO_MANY_CONNECTIONS', full));
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`);
      // A peer that never reads must not keep the socket either.
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    counted.add(socket);
    byAddress.set(address, fromAddress + 1);
    socket.once('close', () => release(socket, address));
  });
  server.on('upgrade', (_req, socket: Socket) => release(socket, socket.remoteAddress ?? 'unknown'));
}

/**
 * Node's HTTP server options that make `requestTimeout` bite on time: headers are due within the
 * same bound, and open connections are checked every second (Node's default is 30 s, so a
 * 5-second timeout would fire after up to 35).
 */
export function serverTimeouts(requestTimeoutMs: number): { headersTimeout: number; connectionsCheckingInterval: number } {
  return { headersTimeout: Math.min(60_000, requestTimeoutMs), connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) };
}
