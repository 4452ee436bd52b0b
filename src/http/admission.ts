// Admission control for SyncML messages: at most `maxRunning` messages are processed at once in
// this process; the rest wait in a FIFO queue of at most `maxQueued`, and beyond that a message is
// refused (HTTP 503 with Retry-After). Without it a burst (every phone sends package 1 in the same
// second) makes all messages progress slowly together; with it the early arrivals finish first.

export interface AdmissionOptions {
  /** Messages processed at once; 0 = no bound. */
  maxRunning: number;
  /** Messages waiting for a turn; more are refused. */
  maxQueued: number;
  /** Called with how long an admitted message waited (seconds, 0 when it did not wait). */
  onWait?: (seconds: number) => void;
  /** Called when the number of waiting messages changes. */
  onQueued?: (queued: number) => void;
}

/** Ends a message's turn; calling it more than once has no effect. */
export type Release = () => void;

export class Admission {
  readonly #o: AdmissionOptions;
  #running = 0;
  readonly #queue: Array<(release: Release) => void> = [];

  constructor(o: AdmissionOptions) {
    if (!Number.isInteger(o.maxRunning) || o.maxRunning < 0) throw new RangeError(`maxRunning ${o.maxRunning}`);
    if (!Number.isInteger(o.maxQueued) || o.maxQueued < 0) throw new RangeError(`maxQueued ${o.maxQueued}`);
    this.#o = o;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** A turn (resolves when the message may run), or undefined at once when the queue is full. */
  enter(): Promise<Release> | undefined {
    if (this.#o.maxRunning === 0 || this.#running < this.#o.maxRunning) {
      this.#running++;
      this.#o.onWait?.(0);
      return Promise.resolve(this.#release());
    }
    if (this.#queue.length >= this.#o.maxQueued) return undefined;
    const since = performance.now();
    return new Promise<Release>((resolve) => {
      this.#queue.push((release) => {
        this.#o.onWait?.((performance.now() - since) / 1000);
        resolve(release);
      });
      this.#o.onQueued?.(this.#queue.length);
    });
  }

  #release(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#queue.shift();
      if (next) {
        // The turn passes straight to the oldest waiter; `running` stays the same.
        this.#o.onQueued?.(this.#queue.length);
        next(this.#release());
      } else {
        this.#running--;
      }
    };
  }
}
