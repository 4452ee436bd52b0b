// Decoding of SyncML bodies: ordinary ones inline, large ones (> 256 KB) in a pool of worker
// threads (piscina) so that a big or hostile body never stalls /healthz and other sessions. The
// limits (element/attribute/reference counts) apply either way.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { decodeMessage, type Decoded, type DecodeLimits } from '../codec/index.js';
import type { WireFormat } from '../codec/model.js';
import { GatewayError, type GatewayErrorCode } from '../errors.js';
import type { DecodeOutcome, DecodeTask } from './decode-worker.js';

/**
 * Bodies up to this size decode inline. A phone's messages are bounded by its own MaxMsgSize
 * (SyncEvolution 150 KB, most phones 2-16 KB); decoding 115 KB of Status/Map XML takes ~15-20 ms.
 * With 32 KB every message of a refresh went to the worker, whose own V8 heap grew with the
 * number of items: peak RSS at 5,000 contacts 188.6 MB, inline 147.1 MB (docs/performance.md).
 * The MaxMsgSize the gateway announces (SERVER_MAX_MSG_SIZE, 250,000) stays under it.
 */
export const INLINE_DECODE_BYTES = 256 * 1024;

/** A small young generation: the worker's garbage is short-lived, its RSS is mostly semi-space. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

export class DecodePool {
  #pool: Piscina<DecodeTask, DecodeOutcome> | undefined;
  readonly #threads: number;
  readonly #idleTimeoutMs: number;

  /** A worker idle for `idleTimeoutMs` exits: each one holds ~16-23 MB of RSS (its own V8 heap). */
  constructor(threads = Math.max(1, Math.min(4, availableParallelism() - 1)), idleTimeoutMs = 60_000) {
    this.#threads = threads;
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Worker threads running now (0 until the first large body, and again once they idle out). */
  get workerThreads(): number {
    return this.#pool?.threads.length ?? 0;
  }

  async decode(body: Uint8Array, encoding: WireFormat['encoding'], limits: DecodeLimits): Promise<Decoded> {
    if (body.length <= INLINE_DECODE_BYTES) return decodeMessage(body, encoding, limits);
    const out = await (await this.#workers()).run({ body, encoding, limits });
    if (!out.ok) throw new GatewayError(out.code as GatewayErrorCode, out.message);
    return out.decoded;
  }

  async close(): Promise<void> {
    const p = this.#pool;
    this.#pool = undefined;
    await p?.destroy();
  }

  async #workers(): Promise<Piscina<DecodeTask, DecodeOutcome>> {
    // Built code runs decode-worker.js; under tsx (tests, `npm run bench`) the .ts source.
    const js = fileURLToPath(new URL('./decode-worker.js', import.meta.url));
    const filename = existsSync(js) ? js : fileURLToPath(new URL('./decode-worker.ts', import.meta.url));
    // piscina is loaded with the first large body: most gateways never see one (issue #15, memory).
    const { Piscina: Pool } = await import('piscina');
    this.#pool ??= new Pool<DecodeTask, DecodeOutcome>({ filename, minThreads: 0, maxThreads: this.#threads, idleTimeout: this.#idleTimeoutMs, resourceLimits: WORKER_LIMITS });
    return this.#pool;
  }
}
