// Operations endpoints: /metrics (Prometheus text) and /readyz (state store + DAV servers).
import express from 'express';
import { accessLog } from './access-log.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics, ReadinessChecker } from '../metrics/index.js';

export function mountMetrics(app: express.Express, metrics: GatewayMetrics, log: Logger): void {
  app.get('/metrics', async (_req, res) => {
    try {
      const text = await metrics.registry.metrics();
      res.status(200).type(metrics.registry.contentType).send(text);
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'metrics collection failed');
      res.status(500).type('text/plain').send('metrics collection failed\n');
    }
  });
}

export function mountReadiness(app: express.Express, readiness: ReadinessChecker, log: Logger): void {
  let wasReady = true;
  app.get('/readyz', async (_req, res) => {
    const report = await readiness.check();
    // Logged when readiness changes, not on every probe.
    if (!report.ready && wasReady) log.warn({ checks: report.checks.filter((c) => !c.ok) }, 'not ready');
    if (report.ready && !wasReady) log.info('ready again');
    wasReady = report.ready;
    res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'unavailable', checks: report.checks });
  });
}

/** The separate admin listener (ADMIN_PORT): /metrics, /readyz and, when enabled, /admin. */
export function createOpsApp(o: { metrics: GatewayMetrics; readiness: ReadinessChecker; admin?: express.Router; log: Logger }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(accessLog(o.log));
  mountMetrics(app, o.metrics, o.log);
  mountReadiness(app, o.readiness, o.log);
  if (o.admin) app.use('/admin', o.admin);
  return app;
}
