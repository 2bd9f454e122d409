/**
 * Caps on HTTP connections, in all and per address, so that clients holding
 * connections open (idle, or trickling a body) cannot use up the process's
 * file descriptors and lock out the API and the workers. A connection past a
 * cap gets one `503 TOO_MANY_CONNECTIONS` and is closed before any request is
 * read (under TLS it is closed without an answer). A worker socket leaves the count once it upgrades to WebSocket: from
 * then on the session limits count it (session-guard.ts).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { apiError } from './context.js';

export interface ConnectionLimits {
  /** Most HTTP connections open at once. */
  maxHttpConnections: number;
  /** Most HTTP connections open at once from one address. */
  maxHttpConnectionsPerAddress: number;
}

/** Installs the caps on `server`; `onRefused` is called once per connection refused. */
export function installConnectionLimits(server: Server, limits: ConnectionLimits, onRefused: (address: string) => void = () => {}): void {
  // By remote address and port, not by socket object: under TLS the upgrade hands over the TLS socket,
  // while 'connection' saw the TCP socket beneath it.
  const counted = new Map<string, string>();
  const byAddress = new Map<string, number>();
  const keyOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
  const release = (key: string) => {
    const address = counted.get(key);
    if (address === undefined) return;
    counted.delete(key);
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
      // Under TLS nothing can be said before the handshake: the connection is just closed.
      if (server instanceof TlsServer) return void socket.destroy();
      const body = JSON.stringify(apiError(503, 'TOO_MANY_CONNECTIONS', full));
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`);
      // A peer that never reads must not keep the socket either.
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const key = keyOf(socket);
    counted.set(key, address);
    byAddress.set(address, fromAddress + 1);
    socket.once('close', () => release(key));
  });
  server.on('upgrade', (_req, socket: Socket) => release(keyOf(socket)));
}

/**
 * Node's HTTP server options that make `requestTimeout` bite on time: headers are due within the
 * same bound, and open connections are checked every second (Node's default is 30 s, so a
 * 5-second timeout would fire after up to 35).
 */
export function serverTimeouts(requestTimeoutMs: number): { headersTimeout: number; connectionsCheckingInterval: number } {
  return { headersTimeout: Math.min(60_000, requestTimeoutMs), connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) };
}
