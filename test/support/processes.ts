// Child-process plumbing for test services: free ports, binary checks, readiness polling,
// and a registry that kills every started service (by PID) and removes its temp dir when the
// test process exits, so a crashed or aborted mocha run leaves nothing behind.
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the repository (test/support/ is two levels below it). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Ask the kernel for an unused 127.0.0.1 TCP port. */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('getFreePort: no port assigned'));
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Absolute path of `cmd` on PATH, or undefined. */
export function findBinary(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Throws a message that says how to install the missing Debian package. */
export function requireBinary(cmd: string, debPackage: string): string {
  const bin = findBinary(cmd);
  if (!bin) throw new Error(`${cmd} not installed: apt-get install -y ${debPackage}`);
  return bin;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Poll `probe` until it returns true; throws `what` with the elapsed time on timeout. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  isDead?: () => string | undefined,
): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const dead = isDead?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(50);
  }
}

// ---- cleanup registry -------------------------------------------------------------------

const livePids = new Set<number>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

function killGroupSync(pid: number, signal: NodeJS.Signals): void {
  // Services are spawned detached (own process group), so -pid reaches their children too.
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function cleanupSync(): void {
  for (const pid of livePids) killGroupSync(pid, 'SIGKILL');
  livePids.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // mocha runs with `exit: true` => process.exit(); 'exit' handlers must be synchronous.
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.kill(process.pid, sig);
    });
  }
}

/** A fresh temp dir that is removed when the test process exits (unless KEEP_TEST_DIRS=1). */
export function makeTempDir(prefix: string): string {
  installHooks();
  const dir = mkdtempSync(path.join(tmpdir(), `syncml-gw-${prefix}-`));
  if (process.env.KEEP_TEST_DIRS !== '1') tempDirs.add(dir);
  return dir;
}

/** Forget a temp dir (e.g. the caller removed it) or remove it now. */
export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

export interface ServiceProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Set once the process has exited: a short reason, for error messages. */
  exitReason(): string | undefined;
  /** Resolves when the process has exited (code null when killed by a signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL right away (simulates a crash). */
  kill(): Promise<void>;
}

/**
 * Start a long-running service in its own process group with stdout+stderr appended to
 * `logFile`.  It is registered for kill-on-exit until stopped.
 */
export function spawnService(cmd: string, args: string[], logFile: string, opts: SpawnOptions = {}): ServiceProcess {
  installHooks();
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${cmd} (see ${logFile})`);
  const pid = child.pid;
  livePids.add(pid);
  let reason: string | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      reason = `exited (code ${code ?? '-'}, signal ${signal ?? '-'}), log: ${logFile}`;
      livePids.delete(pid);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      reason = `failed to start: ${err.message}`;
      livePids.delete(pid);
      resolve({ code: null, signal: null });
    });
  });
  // A service must never keep the test process alive on its own.
  child.unref();

  const terminate = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (reason) return;
    killGroupSync(pid, signal);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs));
    if ((await Promise.race([exited, timer])) === 'timeout') {
      killGroupSync(pid, 'SIGKILL');
      await exited;
    }
  };
  return {
    pid,
    child,
    exitReason: () => reason,
    exited,
    stop: (graceMs = 5000) => terminate('SIGTERM', graceMs),
    kill: () => terminate('SIGKILL', 2000),
  };
}
