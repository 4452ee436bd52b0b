// Counting HTTP proxy in front of the DAV server, for bench/load.ts. It runs as its own process
// (forked with an IPC channel) so the simulated phones' CPU in the bench process cannot delay
// its clock readings. Requests are forwarded unchanged (headers too, so Radicale's
// `Connection: close` reaches the gateway as if it talked to Radicale directly), at most
// `maxUpstream` at a time, the rest first come first served: Radicale serves 8 connections
// (`max_connections`) and leaves the rest in a listen backlog of 5, so more at once end in TCP
// SYN retransmission (seconds to minutes) and resets; a reverse proxy in front of it queues
// instead. A request whose client gives up is dropped from the queue or aborted upstream, as
// nginx does. Every request is recorded: when the gateway's request arrived, when it was sent
// upstream, when the answer was fully sent back, method, Basic user (= the account in
// passthrough mappings) and status. `dump` sends the records so far.
// Run by load.ts: node --import tsx bench/load-dav-proxy.ts LISTEN_PORT TARGET_PORT MAX_UPSTREAM
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';

export interface DavRecord {
  /** Epoch ms (performance.timeOrigin + performance.now(), comparable across processes). */
  start: number;
  /** When it left the queue for the DAV server. */
  sent: number;
  end: number;
  method: string;
  user: string;
  /** HTTP status, 502 when the DAV server failed, 499 when the gateway gave up first. */
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
  const [listenPort, targetPort, maxUpstream] = process.argv.slice(2).map(Number);
  if (!listenPort || !targetPort || !maxUpstream || !process.send) throw new Error('usage: forked with LISTEN_PORT TARGET_PORT MAX_UPSTREAM');
  let records: DavRecord[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const queue: Array<() => void> = [];
  let inFlight = 0;
  const next = (): void => {
    while (inFlight < maxUpstream && queue.length) queue.shift()!();
  };

  const forward = (req: IncomingMessage, res: ServerResponse, start: number, user: string): void => {
    const sent = now();
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      inFlight--;
      records.push({ start, sent, end: now(), method: req.method ?? '', user, status });
      next();
    };
    inFlight++;
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
    res.on('close', () => {
      if (res.writableFinished) return;
      up.destroy();
      finish(499);
    });
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const start = now();
    const user = basicUser(req.headers.authorization);
    req.pause();
    let gone = false;
    res.on('close', () => {
      gone = true;
    });
    queue.push(() => {
      if (gone) {
        records.push({ start, sent: now(), end: now(), method: req.method ?? '', user, status: 499 });
        return;
      }
      req.resume();
      forward(req, res, start, user);
    });
    next();
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
