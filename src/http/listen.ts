// Listening sockets of the gateway: plain HTTP and, optionally, HTTPS with a `modern` or a
// `legacy` TLS profile for old phones; a failed listen rejects (it must never look like success),
// and close() stops taking connections and gives running requests a bounded time.
import { readFileSync } from 'node:fs';
import http, { type RequestListener, type Server } from 'node:http';
import https from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { GatewayError } from '../errors.js';

export type TlsProfile = 'modern' | 'legacy';

/**
 * `legacy`: TLS 1.0 and 1.1 next to 1.2/1.3, and the plain-RSA CBC suites (AES128-SHA,
 * AES256-SHA) old phones offer. `@SECLEVEL=0` is what lets OpenSSL 3 negotiate TLS 1.0/1.1 and
 * SHA-1 signatures at all. OpenSSL 3 in Node has no RC4, no single DES, no 3DES suites and no
 * SSLv3: phones that offer only those cannot be served over TLS (plain HTTP on a LAN or a VPN
 * is then the only option; README "HTTPS for old phones").
 */
export const TLS_PROFILES: Record<TlsProfile, Pick<SecureContextOptions, 'minVersion' | 'ciphers'>> = {
  modern: { minVersion: 'TLSv1.2' },
  legacy: {
    minVersion: 'TLSv1',
    ciphers: [
      'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA',
      'DHE-RSA-AES128-SHA', 'DHE-RSA-AES256-SHA', 'AES128-GCM-SHA256', 'AES128-SHA', 'AES256-SHA', 'AES128-SHA256',
    ].join(':') + ':@SECLEVEL=0',
  },
};

export interface TlsOptions {
  certFile: string;
  keyFile: string;
  port: number;
  profile: TlsProfile;
}

/** Listen on host:port; rejects with LISTEN_FAILED naming the address and the reason. */
export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? 'the port is already in use' : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : err.message;
      reject(new GatewayError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${why}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export function createHttpsServer(handler: RequestListener, tls: TlsOptions): Server {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(tls.certFile);
    key = readFileSync(tls.keyFile);
  } catch (err) {
    throw new GatewayError('CONFIG_INVALID', `TLS_CERT_FILE/TLS_KEY_FILE cannot be read: ${(err as Error).message}`, { cause: err });
  }
  return https.createServer({ cert, key, ...TLS_PROFILES[tls.profile], ...KEEP_ALIVE }, handler);
}

/**
 * Idle keep-alive connections stay open 65 s (Node's default is 5 s). A client or a reverse
 * proxy that reuses a connection the server is just closing gets "socket hang up" on a message
 * that was never read; WAP gateways and load balancers keep idle connections for up to 60 s, so
 * the server must not be the side that closes first. `headersTimeout` must exceed it.
 */
const KEEP_ALIVE = { keepAliveTimeout: 65_000, headersTimeout: 66_000 } as const;

export function createHttpServer(handler: RequestListener): Server {
  return http.createServer({ ...KEEP_ALIVE }, handler);
}

/**
 * Stop accepting connections, close idle keep-alive connections, and wait for running requests
 * at most `graceMs`; then drop what is left. Resolves with the number of connections dropped.
 */
export async function closeGracefully(servers: Server[], graceMs: number): Promise<number> {
  const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  for (const s of servers) s.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(true), graceMs); }),
  ]);
  clearTimeout(timer);
  if (!timedOut) return 0;
  const counts = await Promise.all(servers.map((s) => new Promise<number>((r) => s.getConnections((_e, n) => r(n ?? 0)))));
  for (const s of servers) s.closeAllConnections();
  await closed;
  return counts.reduce((a, b) => a + b, 0);
}
