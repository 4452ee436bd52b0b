// One access-log line per HTTP request: method, path (no query string), status, latency, bytes
// sent and the SyncML session when there is one, named by a digest of its key (the key itself
// lets its holder continue the session). Never headers, bodies or credentials.
import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';

export function accessLog(log: Logger): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const length = Number(res.getHeader('content-length'));
      const sid = typeof req.query['sid'] === 'string' ? req.query['sid'] : undefined;
      const session = (res.locals['session'] as string | undefined) ?? sid;
      log.info({
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        bytes: Number.isFinite(length) ? length : 0,
        ...(session ? { session: sessionLogId(session) } : {}),
      }, 'request');
    });
    next();
  };
}

/** What logs call a session: the same digest as the protocol engine's log lines use. */
export function sessionLogId(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 12);
}
