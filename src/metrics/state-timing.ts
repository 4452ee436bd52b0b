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
        const startTimer = (): (() => void) => histogram.startTimer({ operation: prop });
        wrapped = (...args: unknown[]): unknown => {
          const end = startTimer();
          let result: unknown;
          try {
            result = fn.apply(target, args);
          } catch (err) {
            end();
            throw err;
          }
          if (result instanceof Promise) return result.finally(() => end());
          // A scan (scanSessionFields) does its reads while it is iterated, not when it is called.
          if (isAsyncIterable(result)) return timedPages(result, startTimer);
          end();
          return result;
        };
        cache.set(prop, wrapped);
      }
      return wrapped;
    },
  });
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function';
}

/** Each step of the iteration (one page read) is one observation; breaking off still closes the source. */
function timedPages<T>(source: AsyncIterable<T>, startTimer: () => () => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]();
      return {
        next: () => {
          const end = startTimer();
          return it.next().finally(end);
        },
        return: (value?: unknown) => (it.return ? it.return(value) : Promise.resolve({ done: true as const, value: value as T })),
      };
    },
  };
}
