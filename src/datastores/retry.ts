// Politeness towards DAV servers: which failures are worth another attempt, how long to wait
// (exponential back-off with jitter, or the server's Retry-After) and the overall time budget.

export interface RetryOptions {
  /** Further attempts after the first one (default 3). */
  retries?: number;
  /** First back-off delay; doubles per attempt (default 500 ms). */
  baseDelayMs?: number;
  /** Cap for one back-off delay, also for a Retry-After the server asks for (default 10 s). */
  maxDelayMs?: number;
  /**
   * Budget for all attempts and waits of one request (default 30 s). A retry that would end
   * after it is not made: a phone is waiting on the other side of the gateway.
   */
  maxTotalMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  maxTotalMs: 30_000,
};

/** No retries at all (`retry: false`). */
export const NO_RETRY: RetryPolicy = { ...DEFAULT_RETRY, retries: 0 };

export function retryPolicy(opts: RetryOptions | false | undefined): RetryPolicy {
  if (opts === false) return NO_RETRY;
  const p = { ...DEFAULT_RETRY, ...opts };
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`retry.${k} must be a number >= 0, got ${v}`);
  }
  return p;
}

/**
 * Statuses that say "not now" without the request having been acted on: 429 (RFC 6585 §4)
 * and 503 (RFC 9110 §15.6.4), for every method; 502/504 (a proxy in front of the DAV server)
 * only for methods that are safe to repeat.
 */
export function retryableStatus(status: number, method: string): boolean {
  if (status === 429 || status === 503) return true;
  return (status === 502 || status === 504) && repeatable(method);
}

/**
 * Methods that may be sent again after a timeout or reset, when we cannot know whether the
 * server acted on them: reads and DELETE (idempotent; a second DELETE gives 404, which the
 * store treats as done). A PUT is not repeated: the first one may have been stored, and the
 * repeat would fail its If-None-Match/If-Match and read as a conflict.
 */
export function repeatable(method: string): boolean {
  return ['GET', 'HEAD', 'OPTIONS', 'PROPFIND', 'REPORT', 'DELETE'].includes(method.toUpperCase());
}

/**
 * Retry-After (RFC 9110 §10.2.3) in milliseconds: delay-seconds or an HTTP-date. Undefined
 * when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Back-off before attempt `attempt + 1` (attempt counts from 0): full-ish jitter, capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  // Half fixed, half random: spreads the retries of many gateways hitting one server.
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
