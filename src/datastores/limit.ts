// A counting semaphore that bounds how many DAV requests one store has in flight, so batch
// operations (multiget batches, parallel engine calls) never flood the server; and a two-lane
// limiter that bounds the connections to one server across all stores of the process.

export class Semaphore {
  #free: number;
  readonly #waiters: Array<() => void> = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Semaphore size ${size}`);
    this.#free = size;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #release(): void {
    const next = this.#waiters.shift();
    // Hand the slot straight to the next waiter (FIFO) instead of freeing it.
    if (next) next();
    else this.#free++;
  }
}

/**
 * Bounds requests in flight to one server (`size`) with two lanes: `bulk` requests (item writes)
 * may hold at most `size - reserved` slots, so `reserved` slots are always free for `priority`
 * requests (credential checks, listings, sync-collection REPORTs), which also go first when a slot
 * frees. A login does not wait behind a slow sync's hundred PUTs. Each lane is FIFO.
 */
export class LaneLimiter {
  readonly #size: number;
  readonly #bulkMax: number;
  #inFlight = 0;
  #bulkInFlight = 0;
  readonly #priority: Array<() => void> = [];
  readonly #bulk: Array<() => void> = [];

  constructor(size: number, reserved: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`LaneLimiter size ${size}`);
    if (!Number.isInteger(reserved) || reserved < 0 || (reserved >= size && size > 1)) throw new RangeError(`LaneLimiter reserved ${reserved} of ${size}`);
    this.#size = size;
    // One slot in all: nothing can be reserved, both lanes share it (priority still goes first).
    this.#bulkMax = Math.max(1, size - reserved);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#priority.length + this.#bulk.length;
  }

  async run<T>(lane: 'priority' | 'bulk', fn: () => Promise<T>): Promise<T> {
    if (!this.#mayStart(lane)) await new Promise<void>((resolve) => (lane === 'priority' ? this.#priority : this.#bulk).push(resolve));
    else this.#start(lane);
    try {
      return await fn();
    } finally {
      this.#inFlight--;
      if (lane === 'bulk') this.#bulkInFlight--;
      this.#next();
    }
  }

  #mayStart(lane: 'priority' | 'bulk'): boolean {
    if (this.#inFlight >= this.#size) return false;
    return lane === 'priority' || this.#bulkInFlight < this.#bulkMax;
  }

  #start(lane: 'priority' | 'bulk'): void {
    this.#inFlight++;
    if (lane === 'bulk') this.#bulkInFlight++;
  }

  #next(): void {
    while (this.#priority.length > 0 && this.#mayStart('priority')) {
      this.#start('priority');
      this.#priority.shift()!();
    }
    while (this.#bulk.length > 0 && this.#mayStart('bulk')) {
      this.#start('bulk');
      this.#bulk.shift()!();
    }
  }
}

/** Split `items` into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
