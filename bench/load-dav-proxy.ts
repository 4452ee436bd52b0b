// Counting HTTP proxy in front of the DAV server, for bench/load.ts. It runs as its own process
// (forked with an IPC channel) so the simulated phones' CPU in the bench process cannot delay
// its clock readings. Every request is forwarded unchanged (headers too, so Radicale's
// `Connection: close` reaches the gateway as if it talked to Radicale directly) and recorded:
// when the gateway's request arrived, when the answer was fully sent back, method, the Basic
// user (= the account in passthrough mappings) and the status. `dump` sends the records so far.
// Run by load.ts: node --import tsx bench/load-dav-proxy.ts LISTEN_PORT TARGET_PORT
import { createServer, request, Agent } from 'node:http';

export interface DavRecord {
  /** Epoch ms (performance.timeOrigin + performance.now(), comparable across processes). */
  start: number;
  end: number;
  method: string;
  user: string;
  status: number;
}

export type ProxyMessage = { kind: 'ready' } | { kind: 'records'; records: DavRecord[]; cpuMs: number };

const now = (): number => performance.timeOrigin + performance.now();

function basicUser(auth: string | undefined): string {
  if (!auth?.startsWith('Basic ')) return '';
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  return decoded.slice(0, Math.max(0, decoded.indexOf(':')));
}

function main(): void {
  const [listenPort, targetPort] = process.argv.slice(2).map(Number);
  if (!listenPort || !targetPort || !process.send) throw new Error('usage: forked with LISTEN_PORT TARGET_PORT');
  let records: DavRecord[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const server = createServer((req, res) => {
    const start = now();
    const user = basicUser(req.headers.authorization);
    const finish = (status: number): void => {
      records.push({ start, end: now(), method: req.method ?? '', user, status });
    };
    const up = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders);
      upRes.pipe(res);
      res.on('finish', () => finish(upRes.statusCode ?? 0));
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`load proxy: ${err.message}\n`);
      finish(502);
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 30_000;
  server.listen(listenPort, '127.0.0.1', () => process.send!({ kind: 'ready' } satisfies ProxyMessage));
  process.on('message', (msg: unknown) => {
    if (msg !== 'dump') return;
    const c = process.cpuUsage();
    process.send!({ kind: 'records', records, cpuMs: (c.user + c.system) / 1000 } satisfies ProxyMessage);
    records = [];
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1]?.endsWith('load-dav-proxy.ts')) main();
