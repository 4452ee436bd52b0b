// DAV request metrics: a DavClient `onRequest` hook (datastores/dav-client.ts) per provider, so the
// sync layer never knows. URLs are not labels (one series per collection would not scale).
import type { DavRequestEvent } from '../datastores/index.js';
import type { GatewayMetrics } from './registry.js';

const METHODS = new Set(['GET', 'PUT', 'DELETE', 'PROPFIND', 'REPORT', 'OPTIONS', 'HEAD', 'POST', 'MKCOL', 'PROPPATCH']);

export function davRequestRecorder(metrics: GatewayMetrics): (provider: string, e: DavRequestEvent) => void {
  return (provider, e) => {
    const method = METHODS.has(e.method) ? e.method : 'other';
    metrics.davRequests.inc({ provider, method, status: e.status === undefined ? 'error' : String(e.status) });
    metrics.davDuration.observe({ provider, method }, e.durationMs / 1000);
  };
}
