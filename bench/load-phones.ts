// A group of simulated phones for bench/load.ts, run either inside the bench process or in a
// forked child of its own (`--phone-workers`). 200 phones in one Node process build, encode and
// decode SyncML on one event loop: a phone whose reply has arrived waits for the others' work
// before it sees it, and that wait was counted as the gateway's. A child per group spreads that
// work; each child measures its own event-loop lag and CPU and sends its per-message records back,
// and the bench merges them exactly as it did the in-process phones' records.
// Run by load.ts: node --import tsx bench/load-phones.ts (forked, IPC with 'advanced' serialization)
import { fork, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { prng } from '../test/support/contacts.js';
import { SimPhone, type MessageTiming, type SessionKind } from './load-phone.js';
import { recordedDevInfPut } from './load-setup.js';

export interface PhoneGroupInit {
  users: Array<{ index: number; user: string; password: string }>;
  gateways: string[];
  cards: string[];
}

export type PhaseOrder =
  | { phase: 'seed'; contacts: number; concurrency: number }
  | { phase: 'load'; rounds: number; mix: number; changes: number };

export interface LagFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface GroupPhaseResult {
  timings: MessageTiming[];
  sessionKinds: Partial<Record<SessionKind, number>>;
  /** CPU of the group's own process during the phase; 0 when the group runs inside the bench. */
  cpuMs: number;
  /** Event-loop lag of the group's own process during the phase (absent inside the bench). */
  lag?: LagFigures;
}

/** What the bench needs of each phone after the run (verification and error counts). */
export interface PhoneReport {
  index: number;
  user: string;
  markers: string[];
  errors: string[];
  statusCounts: Array<[string, number]>;
  failedSessions: number;
  serverChanges: number;
}

export type ToGroup = { kind: 'init'; init: PhoneGroupInit } | { kind: 'phase'; order: PhaseOrder } | { kind: 'report' };
export type FromGroup = { kind: 'ready' } | { kind: 'phase-done'; result: GroupPhaseResult } | { kind: 'report'; phones: PhoneReport[] } | { kind: 'failed'; message: string };

class Semaphore {
  #free: number;
  #waiting: Array<() => void> = [];
  constructor(n: number) {
    this.#free = n;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** Lag histogram of this thread's event loop while `work` runs (10 ms sampling, as prom-client's default). */
export async function withLag<T>(work: () => Promise<T>): Promise<{ value: T; lag: LagFigures }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    const value = await work();
    h.disable();
    // Raw values (they include the 10 ms interval), as prom-client reports the gateways' lag.
    const lag = (ns: number): number => ns / 1e6;
    return { value, lag: { p50Ms: lag(h.percentile(50)), p99Ms: lag(h.percentile(99)), maxMs: lag(h.max) } };
  } finally {
    h.disable();
  }
}

export class PhoneGroup {
  readonly phones: SimPhone[];

  constructor(init: PhoneGroupInit) {
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
    this.phones = init.users.map((u) => {
      const deviceId = `IMEI:35${String(u.index).padStart(13, '0')}`;
      return new SimPhone({ index: u.index, deviceId, user: u.user, password: u.password, gateways: init.gateways, agent, devInfPut: recordedDevInfPut(deviceId), cards: init.cards });
    });
  }

  /** Runs one phase for all phones of the group; the records are this phase's only. */
  async phase(order: PhaseOrder): Promise<{ timings: MessageTiming[]; sessionKinds: Partial<Record<SessionKind, number>> }> {
    const seen = this.phones.map((p) => p.timings.length);
    const sessionKinds: Partial<Record<SessionKind, number>> = {};
    if (order.phase === 'seed') {
      const slots = new Semaphore(order.concurrency);
      await Promise.all(this.phones.map((p) => slots.run(() => p.session('slow', order.contacts, prng(p.setup.index)))));
    } else {
      await Promise.all(this.phones.map(async (p) => {
        const rnd = prng(1000 + p.setup.index);
        for (let s = 0; s < order.rounds; s++) {
          const kind: SessionKind = rnd() < order.mix ? 'changes' : 'none';
          sessionKinds[kind] = (sessionKinds[kind] ?? 0) + 1;
          await p.session(kind, order.changes, rnd);
        }
      }));
    }
    return { timings: this.phones.flatMap((p, i) => p.timings.slice(seen[i])), sessionKinds };
  }

  report(): PhoneReport[] {
    return this.phones.map((p) => ({
      index: p.setup.index, user: p.setup.user, markers: [...p.items.values()], errors: p.errors, statusCounts: [...p.statusCounts],
      failedSessions: p.failedSessions, serverChanges: p.serverChanges,
    }));
  }
}

/** A group as the bench drives it, wherever it runs. */
export interface PhoneGroupHandle {
  /** Process id of the group's own process; undefined inside the bench. */
  readonly pid: number | undefined;
  phase(order: PhaseOrder): Promise<GroupPhaseResult>;
  report(): Promise<PhoneReport[]>;
  close(): void;
}

export function inProcessGroup(init: PhoneGroupInit): PhoneGroupHandle {
  const group = new PhoneGroup(init);
  return {
    pid: undefined,
    phase: async (order) => ({ ...(await group.phase(order)), cpuMs: 0 }),
    report: () => Promise.resolve(group.report()),
    close: () => undefined,
  };
}

export async function forkedGroup(init: PhoneGroupInit): Promise<PhoneGroupHandle> {
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'load-phones.ts'), [], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced',
  });
  let exited: string | undefined;
  const waiting: Array<{ resolve: (m: FromGroup) => void; reject: (e: Error) => void }> = [];
  child.on('message', (m: FromGroup) => {
    const w = waiting.shift();
    if (!w) return;
    if (m.kind === 'failed') w.reject(new Error(`phone group ${child.pid}: ${m.message}`));
    else w.resolve(m);
  });
  child.on('exit', (code, signal) => {
    exited = `phone group ${child.pid} exited (${code ?? signal})`;
    for (const w of waiting.splice(0)) w.reject(new Error(exited));
  });
  const ask = (m: ToGroup): Promise<FromGroup> => new Promise((resolve, reject) => {
    if (exited) return reject(new Error(exited));
    waiting.push({ resolve, reject });
    child.send(m);
  });
  await ask({ kind: 'init', init });
  return {
    pid: child.pid,
    phase: async (order) => {
      const m = await ask({ kind: 'phase', order });
      if (m.kind !== 'phase-done') throw new Error(`phone group: unexpected ${m.kind}`);
      return m.result;
    },
    report: async () => {
      const m = await ask({ kind: 'report' });
      if (m.kind !== 'report') throw new Error(`phone group: unexpected ${m.kind}`);
      return m.phones;
    },
    close: () => {
      if (exited) return;
      child.disconnect();
      child.kill('SIGTERM');
    },
  };
}

/** The child side: one group per process, driven by the bench over IPC. */
function serve(): void {
  const send = (m: FromGroup): void => {
    process.send!(m);
  };
  let group: PhoneGroup | undefined;
  process.on('message', (m: ToGroup) => {
    void (async () => {
      try {
        if (m.kind === 'init') {
          group = new PhoneGroup(m.init);
          send({ kind: 'ready' });
        } else if (m.kind === 'phase') {
          const cpu0 = process.cpuUsage();
          const { value, lag } = await withLag(() => group!.phase(m.order));
          const cpu = process.cpuUsage(cpu0);
          send({ kind: 'phase-done', result: { ...value, cpuMs: (cpu.user + cpu.system) / 1000, lag } });
        } else {
          send({ kind: 'report', phones: group!.report() });
        }
      } catch (err) {
        send({ kind: 'failed', message: (err as Error).stack ?? String(err) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.send && process.argv[1]?.endsWith('load-phones.ts')) serve();
