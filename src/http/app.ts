// HTTP transport (express): SyncML POSTs in XML or WBXML -> codec -> protocol engine -> codec.
// HTTP status codes are chosen here and only here; SyncML-level failures travel as SyncML statuses.
import express, { type Request, type Response } from 'express';
import { createHash } from 'node:crypto';
import { CONTENT_TYPES, decodeMessage, decodeWbxmlHeader, encodingOf, PRE_AUTH_LIMITS, SESSION_LIMITS, type SyncMLMessage } from '../codec/index.js';
import { DecodePool } from './decode-pool.js';
import { describeError, isGatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics, ReadinessChecker } from '../metrics/index.js';
import type { ProtocolEngine } from '../protocol/engine.js';
import type { SessionPeek } from '../protocol/session-runner.js';
import type { StateStore } from '../state/state-store.js';
import { accessLog } from './access-log.js';
import type { Admission } from './admission.js';
import { mountMetrics, mountReadiness } from './ops-routes.js';

export interface AppOptions {
  engine: ProtocolEngine;
  state: StateStore;
  log: Logger;
  syncmlPath: string;
  maxBodyBytes: number;
  /** Largest body of a message that is not bound to an authenticated session (by its `sid`). */
  preAuthMaxBodyBytes?: number;
  /** Large bodies are decoded in worker threads; default: a pool of its own. */
  decodePool?: DecodePool;
  version: string;
  /** Message and reply-size counters; `/metrics` too unless `serveMetrics` is false (admin port). */
  metrics?: GatewayMetrics;
  serveMetrics?: boolean;
  /** `/readyz`: state store and DAV servers. */
  readiness?: ReadinessChecker;
  /** Mounted at /admin (admin page), when enabled and not on a separate admin port. */
  admin?: express.Router;
  /** Bounds the SyncML messages processed at once (admission.ts); a full queue answers 503. */
  admission?: Admission;
  /** Retry-After of that 503, in seconds (default 5). */
  retryAfterSeconds?: number;
}

export function createApp(o: AppOptions): express.Express {
  const app = express();
  const pool = o.decodePool ?? new DecodePool();
  app.disable('x-powered-by');
  app.use(accessLog(o.log));
  if (o.metrics && o.serveMetrics !== false) mountMetrics(app, o.metrics, o.log);
  if (o.readiness) mountReadiness(app, o.readiness, o.log);
  if (o.admin) app.use('/admin', o.admin);

  app.get('/healthz', async (_req, res) => {
    try {
      await o.state.ping();
      res.json({ status: 'ok', version: o.version });
    } catch (err) {
      o.log.error({ err: describeError(err) }, 'health check: state store not reachable');
      res.status(503).json({ status: 'unavailable', reason: 'state store not reachable' });
    }
  });

  app.get(o.syncmlPath, (_req, res) => {
    res.type('html').send(
      `<!doctype html><title>SyncML gateway</title><h1>SyncML gateway ${o.version}</h1>` +
      `<p>This is a SyncML (OMA DS) server. Point your phone's sync profile here (this URL), with your ` +
      `account's user name and password; it accepts <code>${CONTENT_TYPES.xml}</code> and <code>${CONTENT_TYPES.wbxml}</code> POSTs.</p>`,
    );
  });

  app.post(o.syncmlPath, express.raw({ type: () => true, limit: o.maxBodyBytes }), async (req: Request, res: Response) => {
    const encoding = encodingOf(req.headers['content-type']);
    if (!encoding) {
      o.log.warn({ contentType: req.headers['content-type'] ?? null }, 'request refused: not a SyncML content type');
      res.status(415).type('text/plain').send(`unsupported content type; use ${CONTENT_TYPES.xml} or ${CONTENT_TYPES.wbxml}\n`);
      return;
    }
    const turn = o.admission?.enter();
    if (o.admission && !turn) {
      o.log.warn({ running: o.admission.running, queued: o.admission.queued }, 'request refused: too many messages waiting (503)');
      res.status(503).set('Retry-After', String(o.retryAfterSeconds ?? 5)).type('text/plain').send('busy; retry later\n');
      return;
    }
    const release = await turn;
    try {
      // A phone that gave up while its message waited is not answered.
      if (req.socket.destroyed) return;
      await handleSyncml(req, res, encoding);
    } finally {
      release?.();
    }
  });

  async function handleSyncml(req: Request, res: Response, encoding: 'xml' | 'wbxml'): Promise<void> {
    const body = Buffer.isBuffer(req.body) ? new Uint8Array(req.body) : new Uint8Array();
    const sid = typeof req.query['sid'] === 'string' ? req.query['sid'] : undefined;
    const preAuthMax = o.preAuthMaxBodyBytes ?? Infinity;
    const peek = await peekSession(o.engine, sid);
    const bound = peek?.authenticated === true;
    // Peeked once (XML: a regex on the first 16 KB; WBXML: the header decoded alone, bounded).
    const withCred = !bound && carriesCred(body, encoding);
    if (body.length > preAuthMax && !bound && !withCred) {
      // Not bound to a session and no credentials to check: not worth decoding.
      o.log.warn({ bytes: body.length, limit: preAuthMax }, 'request refused: body too large before authentication');
      res.status(413).type('text/plain').send(`body larger than ${preAuthMax} bytes before authentication\n`);
      return;
    }
    if (body.length > preAuthMax && !bound) {
      // Credentials are checked from the SyncHdr alone before a big body is decoded.
      const header = headerOnly(body, encoding);
      const refusal = header ? await o.engine.precheck(header, { encoding }, req.socket.remoteAddress).catch(() => undefined) : undefined;
      if (refusal) {
        res.status(200).type(CONTENT_TYPES[encoding]).send(Buffer.from(refusal.body));
        return;
      }
    }
    let decoded;
    try {
      // Messages with a session token or credentials get the session limits (their credentials are
      // checked before anything runs); anonymous ones the tighter pre-authentication limits.
      decoded = await pool.decode(body, encoding, bound || withCred ? SESSION_LIMITS : PRE_AUTH_LIMITS);
    } catch (err) {
      const reason = describeError(err);
      o.log.warn({ encoding, bytes: body.length, reason }, 'request refused: undecodable SyncML');
      res.status(isGatewayError(err, 'TOO_LARGE') ? 413 : 400).type('text/plain').send(`bad SyncML message: ${reason}\n`);
      return;
    }
    o.metrics?.messages.inc({ encoding: decoded.wire.encoding, syncml_version: decoded.message.version });
    try {
      const requestHash = createHash('sha256').update(body).digest('base64url');
      const result = await o.engine.handle(decoded.message, decoded.wire, {
        ...(sid !== undefined ? { sid } : {}), ...(peek ? { peek } : {}), requestHash,
        ...(req.socket.remoteAddress !== undefined ? { remoteAddress: req.socket.remoteAddress } : {}),
      });
      if (result.sessionKey) res.locals['session'] = result.sessionKey;
      if (result.httpStatus) {
        res.status(result.httpStatus).type('text/plain').send(result.httpReason ?? 'refused\n');
        return;
      }
      const reply = result.body;
      o.metrics?.replyBytes.observe({ encoding: decoded.wire.encoding }, reply.length);
      res.status(200).type(CONTENT_TYPES[decoded.wire.encoding]).send(Buffer.from(reply));
    } catch (err) {
      o.log.error({ err: describeError(err), stack: err instanceof Error ? err.stack : undefined }, 'internal error');
      res.status(500).type('text/plain').send('internal error\n');
    }
  }

  // Body too large and other express-level errors.
  app.use((err: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string };
    if (e.type === 'entity.too.large') {
      o.log.warn({ limit: o.maxBodyBytes }, 'request refused: body too large');
      res.status(413).type('text/plain').send(`body larger than ${o.maxBodyBytes} bytes\n`);
      return;
    }
    o.log.error({ err: e.message }, 'request failed');
    res.status(e.status ?? 500).type('text/plain').send('request failed\n');
  });
  return app;
}

/** The token's session, read once for this request; a failing store reads as no session (run() will say why). */
async function peekSession(engine: ProtocolEngine, sid: string | undefined): Promise<SessionPeek | undefined> {
  try {
    return await engine.peekSession(sid);
  } catch {
    return undefined;
  }
}

/**
 * Whether a message carries a Cred in its SyncHdr (XML: read from the first bytes only; WBXML:
 * the header decoded alone); a big body without one cannot authenticate.
 */
export function carriesCred(body: Uint8Array, encoding: 'xml' | 'wbxml'): boolean {
  if (encoding !== 'xml') return decodeWbxmlHeader(body, PRE_AUTH_LIMITS)?.header.cred !== undefined;
  const head = new TextDecoder('utf-8', { fatal: false }).decode(body.subarray(0, 16_384));
  const start = head.search(/<(?:[A-Za-z0-9_]+:)?SyncHdr[\s>]/);
  const end = head.search(/<\/(?:[A-Za-z0-9_]+:)?SyncHdr\s*>/);
  if (start < 0) return false;
  return /<(?:[A-Za-z0-9_]+:)?Cred[\s>]/.test(head.slice(start, end < 0 ? undefined : end));
}

/** The SyncHdr of a message as a message of its own (XML: from the first 16 KB), if it is there. */
export function headerOnly(body: Uint8Array, encoding: 'xml' | 'wbxml'): SyncMLMessage | undefined {
  if (encoding !== 'xml') return decodeWbxmlHeader(body, PRE_AUTH_LIMITS);
  const head = new TextDecoder('utf-8', { fatal: false }).decode(body.subarray(0, 16_384));
  const root = /<(?:[A-Za-z0-9_]+:)?SyncML(?:\s[^>]*)?>/.exec(head);
  const start = head.search(/<(?:[A-Za-z0-9_]+:)?SyncHdr[\s>]/);
  const end = /<\/(?:[A-Za-z0-9_]+:)?SyncHdr\s*>/.exec(head);
  if (!root || start < 0 || !end) return undefined;
  const rootName = root[0].slice(1).split(/[\s>]/)[0]!;
  const xml = `${root[0]}${head.slice(start, end.index + end[0].length)}<${rootName.replace(/SyncML$/, 'SyncBody')}/></${rootName}>`;
  try {
    return decodeMessage(new TextEncoder().encode(xml), 'xml', PRE_AUTH_LIMITS).message;
  } catch {
    return undefined;
  }
}
