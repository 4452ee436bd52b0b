// Readiness (/readyz): the state store answers a ping and every DAV server named in the mappings
// answers an OPTIONS request (any HTTP status below 500: it is up, even if it wants credentials).
// Short timeout; results are cached for a few seconds so probes do not hammer the DAV servers.
export interface ReadinessOptions {
  pingState(): Promise<void>;
  /** URLs of the DAV servers to probe (mapping `dav.url`s); probed once per origin. */
  davUrls(): readonly string[];
  timeoutMs?: number;
  cacheMs?: number;
  fetch?: typeof globalThis.fetch;
  userAgent?: string;
}

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessCheck[];
}

export class ReadinessChecker {
  readonly #o: ReadinessOptions;
  #cached: { at: number; report: Promise<ReadinessReport> } | undefined;

  constructor(o: ReadinessOptions) {
    this.#o = o;
  }

  check(): Promise<ReadinessReport> {
    const now = Date.now();
    if (this.#cached && now - this.#cached.at < (this.#o.cacheMs ?? 5000)) return this.#cached.report;
    const report = this.#run();
    this.#cached = { at: now, report };
    return report;
  }

  async #run(): Promise<ReadinessReport> {
    const checks = await Promise.all([this.#state(), ...origins(this.#o.davUrls()).map((u) => this.#dav(u))]);
    return { ready: checks.every((c) => c.ok), checks };
  }

  async #state(): Promise<ReadinessCheck> {
    try {
      await withTimeout(this.#o.pingState(), this.#o.timeoutMs ?? 2000);
      return { name: 'state', ok: true };
    } catch (err) {
      return { name: 'state', ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async #dav(url: URL): Promise<ReadinessCheck> {
    const name = `dav ${url.origin}`;
    try {
      const res = await (this.#o.fetch ?? fetch)(url, {
        method: 'OPTIONS',
        headers: { 'User-Agent': this.#o.userAgent ?? 'syncml-dav-gateway readiness' },
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 2000),
      });
      await res.body?.cancel();
      return res.status < 500 ? { name, ok: true } : { name, ok: false, detail: `HTTP ${res.status}` };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return { name, ok: false, detail: e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.cause?.message ?? e.message) };
    }
  }
}

/** One URL per origin, without user info (a URL with credentials in it is never probed as written). */
function origins(urls: readonly string[]): URL[] {
  const seen = new Map<string, URL>();
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      continue;
    }
    parsed.username = '';
    parsed.password = '';
    if (!seen.has(parsed.origin)) seen.set(parsed.origin, parsed);
  }
  return [...seen.values()];
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
