// The gateway as a separate OS process (src/cli/run.ts via tsx), for tests that must crash it
// (SIGKILL), restart it on the same port, or run several instances against one Redis.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DavServerHandle } from './dav-servers.js';
import { accountYaml } from './mapping.js';
import { getFreePort, isListening, makeTempDir, repoRoot, spawnService, waitUntil } from './processes.js';
import type { ServiceProcess } from './processes.js';

export interface GatewayProcessOptions {
  /** Port to listen on (127.0.0.1); default: a free one. Kept across restart(). */
  port?: number;
  /**
   * Gateway settings as environment variables: MAPPINGS_DIR, REDIS_URL or STATE_DIR,
   * PUBLIC_URL, LOG_LEVEL (default debug), ... PORT and HOST are set by the helper.
   */
  env: Record<string, string>;
  /** Where stdout/stderr (the JSON log) go; default: gateway.log in a temp dir. Appended across restarts. */
  logFile?: string;
  /** How long to wait for GET /healthz = 200 [20000 ms]. */
  readyTimeoutMs?: number;
}

export interface GatewayProcess {
  /** http://127.0.0.1:PORT/sync: what a phone dials (unless PUBLIC_URL says otherwise). */
  readonly url: string;
  readonly port: number;
  /** PID of the running process (changes with restart()). */
  readonly pid: number;
  readonly logFile: string;
  /** Parsed JSON log lines of all runs so far (non-JSON lines, e.g. a stack trace, are skipped). */
  logLines(): Array<Record<string, unknown>>;
  /** SIGKILL: no shutdown handler runs, nothing is flushed (a crash). */
  kill9(): Promise<void>;
  /** SIGTERM (graceful close), SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** Start again on the same port with the same settings (after kill9() or stop()). */
  restart(): Promise<void>;
  /** True while the process runs. */
  running(): boolean;
}

/** Settings variables of src/config.ts: never inherited from the test's own environment. */
const SETTINGS_ENV = [
  'PORT', 'HOST', 'SYNCML_PATH', 'MAPPINGS_DIR', 'STATE_DIR', 'REDIS_URL', 'LOG_LEVEL', 'PUBLIC_URL',
  'MAX_BODY_BYTES', 'SESSION_TTL_SECONDS', 'AUTH_CACHE_SECONDS', 'SERVER_MAX_MSG_SIZE',
];

export async function spawnGateway(o: GatewayProcessOptions): Promise<GatewayProcess> {
  const port = o.port ?? (await getFreePort());
  const logFile = o.logFile ?? path.join(makeTempDir('gateway-proc'), 'gateway.log');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of SETTINGS_ENV) delete env[k];
  Object.assign(env, { LOG_LEVEL: 'debug', ...o.env, PORT: String(port), HOST: '127.0.0.1' });
  // Redis mode refuses to start without STATE_SECRET; tests get a fixed one unless they set theirs.
  if (env['REDIS_URL'] && !env['STATE_SECRET']) env['STATE_SECRET'] = 'test-state-secret-0123456789abcdef';
  const entry = path.join(repoRoot, 'src', 'cli', 'run.ts');
  const syncPath = o.env['SYNCML_PATH'] ?? '/sync';
  let proc: ServiceProcess | undefined;

  const launch = async (): Promise<void> => {
    // A killed process's socket is gone at once, but make a clash visible instead of a hang.
    if (await isListening(port)) throw new Error(`gateway: port ${port} is already in use`);
    const p = spawnService(process.execPath, ['--import', 'tsx', entry, 'serve'], logFile, { cwd: repoRoot, env });
    proc = p;
    await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      await res.arrayBuffer();
      return res.status === 200;
    }, `gateway process on port ${port} (log ${logFile})`, o.readyTimeoutMs ?? 20_000, p.exitReason);
  };
  const halt = async (how: 'stop' | 'kill'): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (p) await (how === 'stop' ? p.stop() : p.kill());
  };

  await launch();
  return {
    url: `http://127.0.0.1:${port}${syncPath}`,
    port,
    get pid() {
      return proc?.pid ?? -1;
    },
    logFile,
    logLines: () => readLogLines(logFile),
    kill9: () => halt('kill'),
    stop: () => halt('stop'),
    restart: async () => {
      await halt('stop');
      await launch();
    },
    running: () => proc !== undefined && proc.exitReason() === undefined,
  };
}

/** JSON lines of a pino log file; anything else (stack traces, tsx warnings) is skipped. */
export function readLogLines(file: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      /* a line cut short by SIGKILL */
    }
  }
  return out;
}

/** Write alice's account mapping (contacts -> the DAV server's address book) into `<dir>/mappings`. */
export function writeAliceMapping(dir: string, dav: DavServerHandle): string {
  const mappings = path.join(dir, 'mappings');
  mkdirSync(mappings, { recursive: true });
  writeFileSync(path.join(mappings, 'alice.yaml'), accountYaml(dav));
  return mappings;
}
