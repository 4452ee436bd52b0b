// Push counters (prom-client, default registry): whoever serves /metrics exposes them.
import { Counter, register } from 'prom-client';

function counter(name: string, help: string, labelNames: string[]): Counter {
  return (register.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames });
}

export const pushMetrics = {
  sent: counter('syncml_push_sent_total', 'SAN notifications handed to the SMS transport', ['transport', 'trigger']),
  failed: counter('syncml_push_failed_total', 'SAN notifications given up after all retries', ['transport']),
  retries: counter('syncml_push_retries_total', 'delivery attempts that failed and were retried', ['transport']),
  suppressed: counter('syncml_push_suppressed_total', 'changes that sent no SAN', ['reason']),
  polls: counter('syncml_push_polls_total', 'collection polls by this process', ['result']),
};
