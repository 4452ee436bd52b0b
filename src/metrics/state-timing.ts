// StateStore latency: a wrapper that times every call of the store (Redis or SQLite) into
// syncml_state_store_duration_seconds{operation}. The engine and the sync layer see a plain StateStore.
import type { Histogram } from 'prom-client';
import type { StateStore } from '../state/state-store.js';

export function timedStateStore(store: StateStore, histogram: Histogram<'operation'>): StateStore {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let wrapped = cache.get(prop);
      if (!wrapped) {
        const fn = value as (...args: unknown[]) => unknown;
        wrapped = (...args: unknown[]): unknown => {
          const end = histogram.startTimer({ operation: prop });
          let result: unknown;
          try {
            result = fn.apply(target, args);
          } catch (err) {
            end();
            throw err;
          }
          if (result instanceof Promise) return result.finally(() => end());
          end();
          return result;
        };
        cache.set(prop, wrapped);
      }
      return wrapped;
    },
  });
}
