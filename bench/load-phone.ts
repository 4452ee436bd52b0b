// One simulated phone for bench/load.ts: a SyncML 1.2 XML client built on the project's codec,
// speaking like SyncEvolution does (recorded DevInf Put in its first session, Statuses for every
// server command, Map for server Adds, anchors kept between sessions). Each session is three
// messages: package 1 (Cred + Alert), package 3 (Sync + Final), package 5 (Statuses/Map + Final).
// Every HTTP exchange is timed and checked; what went wrong is collected as error strings.
import { request, type Agent } from 'node:http';
import { decodeMessage, encodeMessage, CONTENT_TYPES } from '../src/codec/index.js';
import type { AlertCmd, Command, ItemCmd, PutGetCmd, StatusCmd, SyncMLMessage } from '../src/codec/model.js';

export type SessionKind = 'slow' | 'none' | 'changes';

export interface MessageTiming {
  device: number;
  account: string;
  kind: SessionKind;
  /** 1..3 within the session. */
  index: number;
  /** Which gateway process served it. */
  gateway: number;
  /** Epoch ms, same clock as the DAV proxy's records: the phone began building the message. */
  decided: number;
  /** Encoded, handed to node:http (the message's window for latency and DAV wait starts here). */
  start: number;
  /** The request's last byte handed to the OS ('finish'); late when the phones' event loop is busy. */
  written: number;
  /** Response headers seen by the phone. */
  firstByte: number;
  /** Last byte of the response seen by the phone (the window ends here). */
  end: number;
  /** Reply decoded and checked: the phone could send its next message. */
  processed: number;
  bytesOut: number;
  bytesIn: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const PHONE_STORE = './addressbook';
const SERVER_STORE = 'addressbook';
const OK_STATUSES = new Set(['200', '201', '212']);

/** Who the phone is and where it posts. */
export interface PhoneSetup {
  index: number;
  deviceId: string;
  user: string;
  password: string;
  /** /sync URLs of the gateway processes; message n of a session goes to (index + n) % length. */
  gateways: string[];
  agent: Agent;
  /** The recorded DevInf Put (package 1 of the first session), DevID already this phone's. */
  devInfPut: PutGetCmd;
  /** vCards this phone draws its contacts from. */
  cards: string[];
}

/**
 * N and FN of a card replaced by a marker that names device, LUID and version (so every card is
 * distinct and the server side can be checked against the phone), its UID dropped (most phones
 * send none, and a corpus card used twice would clash). Folded and QP-continued lines go with them.
 */
export function markCard(card: string, marker: string): string {
  const out: string[] = [];
  let skipping = false;
  let qpContinues = false;
  for (const line of card.split(/\r?\n/)) {
    if (skipping) {
      if (qpContinues) {
        qpContinues = line.endsWith('=');
        continue;
      }
      if (/^[ \t]/.test(line)) continue;
      skipping = false;
    }
    if (/^(?:[\w-]+\.)?(?:N|FN|UID)[;:]/i.test(line)) {
      skipping = true;
      qpContinues = /QUOTED-PRINTABLE/i.test(line.slice(0, line.indexOf(':'))) && line.endsWith('=');
      continue;
    }
    out.push(line);
    if (/^VERSION:/i.test(line)) out.push(`N:Load;${marker};;;`, `FN:${marker} Load`);
  }
  while (out.at(-1) === '') out.pop();
  return `${out.join('\r\n')}\r\n`;
}

/** Fisher-Yates with the bench's seeded generator. */
function shuffled<T>(xs: T[], rnd: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export class SimPhone {
  /** LUID -> marker currently on the phone (the server must hold exactly these FNs). */
  readonly items = new Map<string, string>();
  readonly errors: string[] = [];
  readonly timings: MessageTiming[] = [];
  /** SyncML statuses other than 200/201/212 received, by `command code`. */
  readonly statusCounts = new Map<string, number>();
  failedSessions = 0;
  /** Adds/Replaces/Deletes the server sent (none expected: nothing changes on the server side). */
  serverChanges = 0;
  #anchor: string | undefined;
  #sessions = 0;
  #nextLuid = 1;
  #versions = new Map<string, number>();

  constructor(readonly setup: PhoneSetup) {}

  #card(luid: string): string {
    const v = (this.#versions.get(luid) ?? 0) + 1;
    this.#versions.set(luid, v);
    const marker = `d${this.setup.index}-l${luid}-v${v}`;
    this.items.set(luid, marker);
    const cards = this.setup.cards;
    return markCard(cards[(this.setup.index * 7 + Number(luid) + v) % cards.length]!, marker);
  }

  /** One whole session; `changes` Adds/Replaces/Deletes (about 10% Adds, 10% Deletes). */
  async session(kind: SessionKind, count: number, rnd: () => number): Promise<void> {
    this.#sessions++;
    const sessionId = String(this.#sessions);
    const next = `a${this.#sessions}`;
    const ctx = { kind, sessionId, msgId: 0, url: '', sent: 0 };
    try {
      // Package 1: credentials, the recorded DevInf (first session), the Alert with anchors.
      const p1: Command[] = [];
      if (this.#sessions === 1) p1.push({ ...this.setup.devInfPut, cmdId: '1' });
      p1.push({
        kind: 'Alert', cmdId: String(p1.length + 1), data: kind === 'slow' ? '201' : '200',
        items: [{ target: { locURI: SERVER_STORE }, source: { locURI: PHONE_STORE }, meta: { anchor: { ...(this.#anchor ? { last: this.#anchor } : {}), next } } }],
      });
      const r1 = await this.#post(ctx, p1, true);
      const srvAlert = r1.body.find((c): c is AlertCmd => c.kind === 'Alert' && c.items[0]?.target?.locURI === PHONE_STORE);
      const wanted = kind === 'slow' ? '201' : '200';
      if (srvAlert?.data !== wanted) this.#error(ctx, `server Alert ${srvAlert?.data ?? 'missing'}, expected ${wanted}`);

      // Package 3: this phone's changes.
      const commands = kind === 'slow' ? this.#seed(count) : kind === 'changes' ? this.#changes(count, rnd) : [];
      const r2 = await this.#post(ctx, [...this.#statusesFor(r1), {
        kind: 'Sync', cmdId: '0', target: { locURI: SERVER_STORE }, source: { locURI: PHONE_STORE }, numberOfChanges: commands.length, commands,
      }]);
      // Package 5 (and more while the server's package 4 is not final).
      let reply = r2;
      for (let n = 0; n < 20; n++) {
        const body = [...this.#statusesFor(reply), ...this.#mapFor(reply)];
        const wasFinal = reply.final;
        reply = await this.#post(ctx, body);
        if (wasFinal) break;
      }
      if (reply.body.some((c) => c.kind === 'Sync')) this.#error(ctx, 'server still sending after package 5');
      this.#anchor = next;
    } catch (err) {
      this.failedSessions++;
      if ((err as Error).cause !== 'reported') this.#error(ctx, (err as Error).message);
    }
  }

  #seed(count: number): Command[] {
    this.items.clear();
    return Array.from({ length: count }, () => this.#add());
  }

  #add(): ItemCmd {
    const luid = String(this.#nextLuid++);
    return { kind: 'Add', cmdId: '0', meta: { type: 'text/x-vcard' }, items: [{ source: { locURI: luid }, data: this.#card(luid) }] };
  }

  #changes(count: number, rnd: () => number): Command[] {
    const adds = Math.round(count * 0.1);
    const deletes = Math.min(Math.round(count * 0.1), Math.max(0, this.items.size - 1));
    const luids = shuffled([...this.items.keys()], rnd);
    const out: Command[] = [];
    for (const luid of luids.splice(0, deletes)) {
      this.items.delete(luid);
      out.push({ kind: 'Delete', cmdId: '0', items: [{ source: { locURI: luid } }] });
    }
    for (const luid of luids.slice(0, count - adds - deletes)) {
      out.push({ kind: 'Replace', cmdId: '0', meta: { type: 'text/x-vcard' }, items: [{ source: { locURI: luid }, data: this.#card(luid) }] });
    }
    for (let i = 0; i < adds; i++) out.push(this.#add());
    return out;
  }

  /** A Status 200 for the SyncHdr and every command of the server's reply (201 for its Adds). */
  #statusesFor(reply: SyncMLMessage): Command[] {
    const msgRef = reply.header.msgId;
    const st = (cmdRef: string, cmd: string, data: string, refs: { t?: string; s?: string } = {}): StatusCmd => ({
      kind: 'Status', cmdId: '0', msgRef, cmdRef, cmd, data, items: [],
      targetRefs: refs.t ? [refs.t] : [], sourceRefs: refs.s ? [refs.s] : [],
    });
    const out: Command[] = [st('0', 'SyncHdr', '200', { t: reply.header.source.locURI, s: reply.header.target.locURI })];
    for (const c of reply.body) {
      if (c.kind === 'Alert' || c.kind === 'Results' || c.kind === 'Put' || c.kind === 'Get') out.push(st(c.cmdId, c.kind, '200'));
      if (c.kind !== 'Sync') continue;
      out.push(st(c.cmdId, 'Sync', '200', { t: c.target?.locURI, s: c.source?.locURI }));
      for (const inner of c.commands) {
        if (inner.kind !== 'Add' && inner.kind !== 'Replace' && inner.kind !== 'Delete') continue;
        this.serverChanges++;
        out.push(st(inner.cmdId, inner.kind, inner.kind === 'Add' ? '201' : '200', { s: inner.items[0]?.source?.locURI }));
      }
    }
    return out;
  }

  /** Server Adds get a phone LUID (never expected here, but a phone must answer them). */
  #mapFor(reply: SyncMLMessage): Command[] {
    const mapItems = reply.body.flatMap((c) => (c.kind === 'Sync' ? c.commands : []))
      .flatMap((c) => (c.kind === 'Add' ? c.items : []))
      .map((it) => ({ target: { locURI: it.source?.locURI ?? '' }, source: { locURI: `srv-${this.#nextLuid++}` } }));
    return mapItems.length ? [{ kind: 'Map', cmdId: '0', target: { locURI: SERVER_STORE }, source: { locURI: PHONE_STORE }, mapItems }] : [];
  }

  #error(ctx: { kind: SessionKind; sessionId: string; msgId: number }, what: string): void {
    this.errors.push(`${this.setup.deviceId} session ${ctx.sessionId} (${ctx.kind}) msg ${ctx.msgId}: ${what}`);
  }

  /** Numbers the commands, posts, times it, checks HTTP and SyncML statuses. */
  async #post(ctx: { kind: SessionKind; sessionId: string; msgId: number; url: string }, body: Command[], cred = false): Promise<SyncMLMessage> {
    ctx.msgId++;
    const decided = now();
    let cmdId = 0;
    const number = (cmds: Command[]): Command[] => cmds.map((c) => {
      const n = { ...c, cmdId: String(++cmdId) } as Command;
      if (n.kind === 'Sync') n.commands = number(n.commands);
      return n;
    });
    const gateway = (this.setup.index + ctx.msgId) % this.setup.gateways.length;
    const base = this.setup.gateways[gateway]!;
    // The session moves between processes: the RespURI token is kept, the origin alternates.
    const url = ctx.url ? `${base}${ctx.url.slice(ctx.url.indexOf('?'))}` : base;
    const msg: SyncMLMessage = {
      version: '1.2', final: true, body: number(body),
      header: {
        verDTD: '1.2', verProto: 'SyncML/1.2', sessionId: ctx.sessionId, msgId: String(ctx.msgId),
        target: { locURI: base }, source: { locURI: this.setup.deviceId, locName: this.setup.user },
        meta: { maxMsgSize: 150000, maxObjSize: 4000000 },
        ...(cred ? { cred: { meta: { type: 'syncml:auth-basic', format: 'b64' }, data: Buffer.from(`${this.setup.user}:${this.setup.password}`).toString('base64') } } : {}),
      },
    };
    const bytes = encodeMessage(msg, { encoding: 'xml' });
    const start = now();
    const res = await postBytes(url, bytes, this.setup.agent);
    const end = now();
    const timing: MessageTiming = {
      device: this.setup.index, account: this.setup.user, kind: ctx.kind, index: ctx.msgId, gateway,
      decided, start, written: res.written, firstByte: res.firstByte, end, processed: end, bytesOut: bytes.length, bytesIn: res.body.length,
    };
    this.timings.push(timing);
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
    const reply = decodeMessage(new Uint8Array(res.body), 'xml').message;
    if (reply.header.respURI) ctx.url = reply.header.respURI;
    const bad = reply.body.filter((c): c is StatusCmd => c.kind === 'Status' && !OK_STATUSES.has(c.data));
    for (const c of bad) this.statusCounts.set(`${c.cmd} ${c.data}`, (this.statusCounts.get(`${c.cmd} ${c.data}`) ?? 0) + 1);
    if (bad.length) this.#error(ctx, bad.slice(0, 3).map((c) => `Status ${c.data} for ${c.cmd} ${c.cmdRef}${c.sourceRefs[0] ? ` (${c.sourceRefs[0]})` : ''}`).join(', ') + (bad.length > 3 ? ` and ${bad.length - 3} more` : ''));
    // A phone ends the session when the server refuses the message as a whole.
    const hdr = bad.find((c) => c.cmd === 'SyncHdr');
    timing.processed = now();
    if (hdr) throw new Error(`session refused (SyncHdr ${hdr.data})`, { cause: 'reported' });
    return reply;
  }
}

interface PostResult {
  status: number;
  body: Buffer;
  /** Epoch ms of the request's 'finish' (0 if it never came) and of the response headers. */
  written: number;
  firstByte: number;
}

function postBytes(url: string, body: Uint8Array, agent: Agent): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    let written = 0;
    const req = request({
      host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: 'POST', agent,
      headers: { 'content-type': CONTENT_TYPES.xml, 'content-length': body.length },
    }, (res) => {
      const firstByte = now();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), written: written || firstByte, firstByte }));
      res.on('error', reject);
    });
    req.setTimeout(300_000, () => req.destroy(new Error('no answer within 300 s')));
    req.on('error', reject);
    req.once('finish', () => (written = now()));
    req.end(body);
  });
}
