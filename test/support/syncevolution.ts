// SyncEvolution 2.0 (Debian) as the SyncML *client* — the "phone" of interop tests — with the
// file backend (one file per item), private HOME/XDG dirs, the curl LD_PRELOAD fix and a
// parser for SyncEvolution's sync report.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync,
} from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot, requireBinary, spawnService } from './processes.js';

export type DatastoreKey = 'contacts' | 'calendar' | 'tasks' | 'notes';
export type SyncMode =
  | 'slow'
  | 'two-way'
  | 'refresh-from-client'
  | 'refresh-from-server'
  | 'one-way-from-client'
  | 'one-way-from-server';

export const ALL_DATASTORES: readonly DatastoreKey[] = ['contacts', 'calendar', 'tasks', 'notes'];

export interface SyncEvolutionOptions {
  /** Run folder: config, sync state (anchors, change tracking), logs, item files. */
  dir: string;
  /** SyncML URL of the server. */
  url: string;
  /** SyncML DevID of the "phone" [sc-test-client]. */
  deviceId?: string;
  user?: string;
  password?: string;
  /** WBXML instead of plain XML [false]. */
  wbxml?: boolean;
  /** vCard 2.1 + vCalendar 1.0 in the files and on the wire, like old phones [false]. */
  legacy?: boolean;
  maxMsgSize?: number;
  maxObjSize?: number;
  /** clientAuthType [md5 — SyncEvolution's default]. */
  auth?: 'basic' | 'md5';
  /** SyncML version to offer; default: the newest the server supports (1.2). */
  syncMLVersion?: '1.0' | '1.1' | '1.2';
  /** Server-side database names (Target LocURI) [contacts / calendar / tasks / notes]. */
  datastores?: Partial<Record<DatastoreKey, string>>;
  /** SyncEvolution loglevel; 5 keeps every raw message in the session log dir [5]. */
  logLevel?: number;
  /** Kill a sync that runs longer than this [300000 ms]. */
  timeoutMs?: number;
}

export interface DatastoreReport {
  localNew: number;
  localMod: number;
  localDel: number;
  localErr: number;
  remoteNew: number;
  remoteMod: number;
  remoteDel: number;
  remoteErr: number;
  conflicts: number;
  /** The mode really used, e.g. 'slow' when the server forced one; '' if not reported. */
  actualMode: string;
}

export interface SyncReport {
  /** SyncEvolution's exit status; -1 when killed (timeout or signal). */
  exitCode: number;
  wallSeconds: number;
  /** Keyed by datastore ('contacts' | 'calendar' | 'tasks'), only those in the report table. */
  datastores: Record<string, DatastoreReport>;
  /** stdout+stderr of the sync run. */
  output: string;
  /** Session log dir (raw messages at loglevel 5), '' if none was written. */
  logDir: string;
}

const CONFIG = 'phone';
const REPORT_KEYS = ['localNew', 'localMod', 'localDel', 'localErr', 'remoteNew', 'remoteMod', 'remoteDel', 'remoteErr', 'conflicts'] as const;

// ---- curl LD_PRELOAD shim ---------------------------------------------------------------

let shimPath: string | undefined;

/**
 * Compile test/support/curl-preload.c once into .tmp/ (keyed by its hash, so an edited source
 * is rebuilt) and return the .so path.  Without it Debian's client crashes on its first POST.
 */
export function buildCurlPreload(): string {
  if (shimPath && existsSync(shimPath)) return shimPath;
  const src = path.join(path.dirname(fileURLToPath(import.meta.url)), 'curl-preload.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const outDir = path.join(repoRoot, '.tmp', 'curl-preload');
  const out = path.join(outDir, `curl-preload-${hash}.so`);
  if (!existsSync(out)) {
    const gcc = requireBinary('gcc', 'gcc libc6-dev');
    mkdirSync(outDir, { recursive: true });
    // Build under a unique name and rename: parallel test processes may race here.
    const tmp = `${out}.${process.pid}.tmp`;
    const r = spawnSync(gcc, ['-shared', '-fPIC', '-O2', '-Wall', '-o', tmp, src, '-ldl'], { encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(`building ${src} failed (apt-get install -y gcc libc6-dev?):\n${r.stderr}`);
    }
    renameSync(tmp, out);
  }
  shimPath = out;
  return out;
}

// ---- report parsing ---------------------------------------------------------------------

/**
 * Parse the table SyncEvolution prints after a sync:
 *   |      contacts |  0  |  0  |  0  |  0  |  5  |  0  |  0  |  0  |  0  |
 *   |    slow, 2 KB sent by client, 0 KB received                           |
 */
export function parseSyncReport(output: string, names: readonly string[]): Record<string, DatastoreReport> {
  const lines = output.split(/\r?\n/);
  const result: Record<string, DatastoreReport> = {};
  for (let i = 0; i < lines.length; i++) {
    const cells = lines[i].trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
    if (cells.length !== 10 || !names.includes(cells[0])) continue;
    const nums = cells.slice(1).map((c) => Number.parseInt(c, 10));
    if (nums.some((n) => Number.isNaN(n))) continue;
    const rep = { actualMode: '' } as DatastoreReport;
    REPORT_KEYS.forEach((k, j) => (rep[k] = nums[j]));
    const m = /^\|\s*([a-z][\w-]*)\s*(?:,|\|)/.exec(lines[i + 1] ?? '');
    if (m) rep.actualMode = m[1];
    result[cells[0]] = rep;
  }
  return result;
}

/** Send the running client a signal once `when` resolves (SIGINT = the user pressed CTRL-C). */
export interface SyncInterrupt {
  when: () => Promise<unknown>;
  signal?: NodeJS.Signals;
}

// ---- the client ---------------------------------------------------------------------------

export class SyncEvolutionClient {
  readonly #opts: Required<Omit<SyncEvolutionOptions, 'maxObjSize' | 'syncMLVersion' | 'datastores'>> &
    Pick<SyncEvolutionOptions, 'maxObjSize' | 'syncMLVersion'> & { datastores: Record<DatastoreKey, string> };
  #configured = false;
  /** Wall-clock end of the last sync: files it wrote have an mtime at or before this second. */
  #lastSyncEnd = 0;

  constructor(opts: SyncEvolutionOptions) {
    this.#opts = {
      dir: path.resolve(opts.dir),
      url: opts.url,
      deviceId: opts.deviceId ?? 'sc-test-client',
      user: opts.user ?? 'alice',
      password: opts.password ?? 'secret',
      wbxml: opts.wbxml ?? false,
      legacy: opts.legacy ?? false,
      maxMsgSize: opts.maxMsgSize ?? 150_000,
      maxObjSize: opts.maxObjSize,
      auth: opts.auth ?? 'md5',
      syncMLVersion: opts.syncMLVersion,
      logLevel: opts.logLevel ?? 5,
      timeoutMs: opts.timeoutMs ?? 300_000,
      datastores: { contacts: 'contacts', calendar: 'calendar', tasks: 'tasks', notes: 'notes', ...(opts.datastores ?? {}) },
    };
    for (const ds of ALL_DATASTORES) mkdirSync(this.itemsDir(ds), { recursive: true });
  }

  get dir(): string {
    return this.#opts.dir;
  }

  /** Folder holding one file per item of datastore `ds`. */
  itemsDir(ds: DatastoreKey): string {
    return path.join(this.#opts.dir, 'data', ds);
  }

  /** Change options (e.g. a new URL after a server restart); applied at the next sync. */
  reconfigure(patch: Partial<Omit<SyncEvolutionOptions, 'dir'>>): void {
    const { datastores, ...rest } = patch;
    Object.assign(this.#opts, rest);
    if (datastores) Object.assign(this.#opts.datastores, datastores);
    this.#configured = false;
  }

  /**
   * Write (create or replace) an item file.  The file backend detects changes by mtime in whole
   * seconds, so the mtime is set past both the old one and the last sync's end: an edit made in
   * the same second as a sync is still seen as a change (the mtime may lie in the near future).
   */
  writeItem(ds: DatastoreKey, name: string, text: string): void {
    const file = path.join(this.itemsDir(ds), name);
    let oldSec = -1;
    try {
      oldSec = Math.floor(statSync(file).mtimeMs / 1000);
    } catch {
      /* new file */
    }
    writeFileSync(file, text);
    const sec = Math.max(Math.floor(Date.now() / 1000), oldSec + 1, Math.floor(this.#lastSyncEnd / 1000) + 1);
    utimesSync(file, sec, sec);
  }

  /** All item files of a datastore: file name -> content (UTF-8). */
  async readItems(ds: DatastoreKey): Promise<Map<string, string>> {
    const dir = this.itemsDir(ds);
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
    const items = new Map<string, string>();
    for (const n of names) items.set(n, await readFile(path.join(dir, n), 'utf8'));
    return items;
  }

  deleteItem(ds: DatastoreKey, name: string): void {
    rmSync(path.join(this.itemsDir(ds), name));
  }

  /** Remove all item files of a datastore (sync state is kept). */
  clearItems(ds: DatastoreKey): void {
    for (const n of readdirSync(this.itemsDir(ds))) rmSync(path.join(this.itemsDir(ds), n), { recursive: true });
  }

  /** Forget all sync state (anchors, change tracking): the next sync is a brand-new phone's. */
  resetState(): void {
    rmSync(path.join(this.#opts.dir, 'config'), { recursive: true, force: true });
    this.#configured = false;
  }

  #env(): NodeJS.ProcessEnv {
    const d = this.#opts.dir;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: path.join(d, 'home'),
      XDG_CONFIG_HOME: path.join(d, 'config'),
      XDG_CACHE_HOME: path.join(d, 'cache'),
      XDG_DATA_HOME: path.join(d, 'xdg-data'),
      LC_ALL: 'C.UTF-8',
    };
    // Standalone: never talk to a session bus or a real desktop.
    delete env.DBUS_SESSION_BUS_ADDRESS;
    delete env.DISPLAY;
    delete env.LD_PRELOAD;
    return env;
  }

  /** The phone's private HOME/XDG environment (e.g. for syncevo-dbus-server under dbus-run-session). */
  environment(): NodeJS.ProcessEnv {
    this.#configure();
    return this.#env();
  }

  /** Run the syncevolution CLI synchronously (for --configure, --print-items ...). */
  cli(args: string[]): { code: number; output: string } {
    const bin = requireBinary('syncevolution', 'syncevolution');
    mkdirSync(path.join(this.#opts.dir, 'home'), { recursive: true });
    const r = spawnSync(bin, ['--daemon=no', ...args], { env: this.#env(), encoding: 'utf8', timeout: 60_000 });
    return { code: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  }

  #configure(): void {
    if (this.#configured) return;
    const o = this.#opts;
    const run = (args: string[]): void => {
      const r = this.cli(['--configure', ...args]);
      if (r.code !== 0) throw new Error(`syncevolution --configure ${args.join(' ')} failed:\n${r.output}`);
    };
    mkdirSync(path.join(o.dir, 'logs'), { recursive: true });
    // The config is rewritten before each first sync of an instance; sync state lives in
    // .internal.ini / change-tracking files and survives this.
    run([
      '--template', 'none', 'keyring=no', `syncURL=${o.url}`, `username=${o.user}`, `password=${o.password}`,
      `deviceId=${o.deviceId}`, `enableWBXML=${o.wbxml ? 1 : 0}`, `clientAuthType=${o.auth}`,
      `loglevel=${o.logLevel}`, `logdir=${path.join(o.dir, 'logs')}`, 'maxlogdirs=20',
      'printChanges=0', 'dumpData=0', 'preventSlowSync=0',
      // Without this, refresh-from-server wipes locally and runs a slow sync instead of Alert 205.
      'enableRefreshSync=1',
      `maxMsgSize=${o.maxMsgSize}`, `maxObjSize=${o.maxObjSize ?? 4000000}`, `SyncMLVersion=${o.syncMLVersion ?? ''}`,
      CONFIG,
    ]);
    const vcard = o.legacy ? 'text/x-vcard' : 'text/vcard';
    const ical = o.legacy ? 'text/x-vcalendar' : 'text/calendar';
    // Memos are plain text on the phone and on the wire (SyncEvolution's memo convention).
    const fmt: Record<DatastoreKey, string> = { contacts: vcard, calendar: ical, tasks: ical, notes: 'text/plain' };
    for (const ds of ALL_DATASTORES) {
      // databaseFormat = how files are parsed; with legacy, also force the wire format.
      run([
        'backend=file', `databaseFormat=${fmt[ds]}`, `database=file://${this.itemsDir(ds)}`,
        `uri=${o.datastores[ds]}`, `syncFormat=${o.legacy ? fmt[ds] : ''}`, `forceSyncFormat=${o.legacy ? 1 : 0}`,
        'sync=disabled', CONFIG, ds,
      ]);
    }
    this.#configured = true;
  }

  /** Run one sync session of the given datastores (default: all four). */
  async sync(mode: SyncMode, opts: { only?: DatastoreKey[]; interrupt?: SyncInterrupt } = {}): Promise<SyncReport> {
    const bin = requireBinary('syncevolution', 'syncevolution');
    const preload = buildCurlPreload();
    this.#configure();
    const stores = opts.only ?? [...ALL_DATASTORES];
    const outFile = path.join(this.#opts.dir, 'last-sync.out');
    rmSync(outFile, { force: true });
    const logsBefore = new Set(this.#logDirs());
    const t0 = Date.now();
    const proc = spawnService(bin, ['--daemon=no', '--run', '--sync', mode, CONFIG, ...stores], outFile, {
      env: { ...this.#env(), LD_PRELOAD: preload },
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void proc.kill();
    }, this.#opts.timeoutMs);
    let interrupted = false;
    if (opts.interrupt) {
      const { when, signal = 'SIGINT' } = opts.interrupt;
      void Promise.race([when(), proc.exited.then(() => 'gone' as const)]).then((r) => {
        if (r === 'gone' || proc.exitReason()) return;
        interrupted = true;
        // Only the client itself (not its process group): SyncEvolution suspends on one SIGINT.
        try {
          process.kill(proc.pid, signal);
        } catch {
          /* already gone */
        }
      });
    }
    const { code } = await proc.exited;
    clearTimeout(timer);
    const t1 = Date.now();
    this.#lastSyncEnd = t1;
    let output = readFileSync(outFile, 'utf8');
    if (timedOut) output += `\n[test support] sync killed after ${this.#opts.timeoutMs} ms\n`;
    if (interrupted) output += `\n[test support] sync interrupted with ${opts.interrupt?.signal ?? 'SIGINT'}\n`;
    const newLogs = this.#logDirs().filter((d) => !logsBefore.has(d));
    return {
      exitCode: code ?? -1,
      wallSeconds: (t1 - t0) / 1000,
      datastores: parseSyncReport(output, stores),
      output,
      logDir: newLogs.at(-1) ?? '',
    };
  }

  /** Session log dirs, oldest first. */
  #logDirs(): string[] {
    const logs = path.join(this.#opts.dir, 'logs');
    if (!existsSync(logs)) return [];
    return readdirSync(logs, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(logs, e.name))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs || a.localeCompare(b));
  }
}
