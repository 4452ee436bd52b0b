// Test helpers around the gateway itself: start it in-process against real services with a
// mapping for alice, read its log, and speak SyncML to it message by message.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import path from 'node:path';
import { CONTENT_TYPES, decodeMessage, encodeMessage } from '../../src/codec/index.js';
import type { Command, Item, SyncHdr, SyncMLMessage, WireFormat } from '../../src/codec/model.js';
import type { Settings } from '../../src/config.js';
import { startGateway, type RunningGateway, type StartOptions } from '../../src/main.js';
import type { DavServerHandle } from './dav-servers.js';
import { accountYaml } from './mapping.js';
import { makeTempDir } from './processes.js';

export interface TestGateway extends RunningGateway {
  dir: string;
  logFile: string;
  /** Parsed JSON log lines written so far. */
  logLines(): Array<Record<string, unknown>>;
}

export interface TestGatewayOptions {
  dav: DavServerHandle;
  /** Redis URL; default: the embedded store in a temp dir. */
  redisUrl?: string;
  /** Extra YAML lines appended to alice's mapping. */
  mappingYaml?: string;
  settings?: Partial<Settings>;
  /** Environment for `${NAME}` secrets in the mapping. */
  env?: NodeJS.ProcessEnv;
  /** DAV client instrumentation (benchmarks): request accounting, fetch instead of node:http. */
  davClient?: StartOptions['dav'];
}

export async function startTestGateway(o: TestGatewayOptions): Promise<TestGateway> {
  const dir = makeTempDir('gateway');
  const mappings = path.join(dir, 'mappings');
  mkdirSync(mappings);
  writeFileSync(path.join(mappings, 'alice.yaml'), o.mappingYaml ?? accountYaml(o.dav));
  const logFile = path.join(dir, 'gateway.log');
  // Synchronous writes: a test reads the log right after the request that wrote it.
  const logStream = pino.destination({ dest: logFile, sync: true, mkdir: true });
  const gw = await startGateway({
    port: 0, mappingsDir: mappings, stateDir: path.join(dir, 'state'), logLevel: 'debug', authCacheSeconds: 0,
    ...(o.redisUrl ? { redisUrl: o.redisUrl } : { redisUrl: '' }),
    ...o.settings,
  }, { logDestination: logStream, ...(o.env ? { env: o.env } : {}), ...(o.davClient ? { dav: o.davClient } : {}) });
  return {
    ...gw,
    dir,
    logFile,
    logLines: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    close: async () => {
      await gw.close();
      logStream.flushSync();
      logStream.end();
    },
  };
}

export interface PostResult {
  status: number;
  contentType: string;
  text: string;
  message?: SyncMLMessage;
}

/** POST one SyncML message (or raw bytes) and decode the reply when it is SyncML. */
export async function postSyncml(url: string, body: SyncMLMessage | Uint8Array | string, wire: WireFormat = { encoding: 'xml' }, contentType?: string): Promise<PostResult> {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body instanceof Uint8Array ? body : encodeMessage(body, wire);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType ?? CONTENT_TYPES[wire.encoding] }, body: bytes });
  const buf = new Uint8Array(await res.arrayBuffer());
  const ct = res.headers.get('content-type') ?? '';
  const out: PostResult = { status: res.status, contentType: ct, text: new TextDecoder().decode(buf) };
  if (res.status === 200 && ct.includes('syncml')) out.message = decodeMessage(buf, ct.includes('wbxml') ? 'wbxml' : 'xml').message;
  return out;
}

/** A scripted SyncML 1.2 client: builds headers with increasing MsgIDs and follows RespURI. */
export class ScriptedClient {
  url: string;
  msgId = 0;
  constructor(url: string, readonly deviceId: string, readonly sessionId: string, readonly cred?: { user: string; password: string }) {
    this.url = url;
  }

  header(withCred: boolean): SyncHdr {
    this.msgId++;
    const h: SyncHdr = {
      verDTD: '1.2', verProto: 'SyncML/1.2', sessionId: this.sessionId, msgId: String(this.msgId),
      target: { locURI: this.url.split('?')[0]! }, source: { locURI: this.deviceId, ...(this.cred ? { locName: this.cred.user } : {}) },
      meta: { maxMsgSize: 20000 },
    };
    if (withCred && this.cred) {
      h.cred = { meta: { type: 'syncml:auth-basic', format: 'b64' }, data: Buffer.from(`${this.cred.user}:${this.cred.password}`).toString('base64') };
    }
    return h;
  }

  message(body: Command[], opts: { final?: boolean; cred?: boolean } = {}): SyncMLMessage {
    return { version: '1.2', header: this.header(opts.cred ?? this.msgId === 0), body, final: opts.final ?? true };
  }

  async send(body: Command[], opts: { final?: boolean; cred?: boolean; wire?: WireFormat } = {}): Promise<PostResult> {
    const res = await postSyncml(this.url, this.message(body, opts), opts.wire);
    const resp = res.message?.header.respURI;
    if (resp) this.url = resp;
    return res;
  }
}

export function alert(cmdId: string, code: string, target: string, source: string, anchor: { last?: string; next: string }): Command {
  return { kind: 'Alert', cmdId, data: code, items: [{ target: { locURI: target }, source: { locURI: source }, meta: { anchor } }] };
}

export function syncCmd(cmdId: string, target: string, source: string, commands: Command[]): Command {
  return { kind: 'Sync', cmdId, target: { locURI: target }, source: { locURI: source }, commands };
}

export function addCmd(cmdId: string, luid: string, data: string, type = 'text/x-vcard'): Command {
  const item: Item = { source: { locURI: luid }, data };
  return { kind: 'Add', cmdId, meta: { type }, items: [item] };
}

export function statusesOf(msg: SyncMLMessage | undefined): Array<{ cmd: string; cmdRef: string; data: string; sourceRefs: string[]; hasChal: boolean }> {
  return (msg?.body ?? []).flatMap((c) => (c.kind === 'Status' ? [{ cmd: c.cmd, cmdRef: c.cmdRef, data: c.data, sourceRefs: c.sourceRefs, hasChal: !!c.chal }] : []));
}

export function vcard21(n: number): string {
  return `BEGIN:VCARD\r\nVERSION:2.1\r\nN:Tester;Item${n};;;\r\nFN:Item${n} Tester\r\nTEL;CELL:+4915100000${String(n).padStart(2, '0')}\r\nEND:VCARD\r\n`;
}
