// Public surface of the metrics layer: Prometheus metrics, the metrics session observer,
// combineObservers, the state-store timer, DAV request metrics and the readiness checker.
export { createMetrics, defaultMetrics, labelValue } from './registry.js';
export type { GatewayMetrics } from './registry.js';
export { combineObservers, MetricsObserver } from './observer.js';
export type { MetricsObserverOptions } from './observer.js';
export { timedStateStore } from './state-timing.js';
export { davRequestRecorder } from './dav.js';
export { ReadinessChecker } from './readiness.js';
export type { ReadinessCheck, ReadinessOptions, ReadinessReport } from './readiness.js';
