#!/usr/bin/env node
// Container health check: GET /healthz on the port and host the gateway is configured with
// (config/defaults.yaml + environment, like the gateway itself). A wildcard HOST (0.0.0.0, ::)
// is checked on the loopback address. Exit 0 healthy, 1 not.
import('../dist/config.js').then(async ({ loadSettings }) => {
  const s = loadSettings();
  const host = s.host === '0.0.0.0' ? '127.0.0.1' : s.host === '::' ? '::1' : s.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${s.port}/healthz`;
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  process.exit(0);
}).catch((err) => {
  console.error(`unhealthy: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
