// Replays recorded client messages (corpus captures) against a test gateway: rewrites only what
// must differ (credentials, target URL, references to the recorded server's commands and LUIDs).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeAny, encodeMessage } from '../../src/codec/index.js';
import type { Command, Item, ItemCmd, MapCmd, StatusCmd, SyncMLMessage, WireFormat } from '../../src/codec/model.js';
import { postSyncml, type PostResult } from './gateway.js';
import { SHARED_CORPUS, SHARED_FIXTURES } from './shared.js';

export const CORPUS = SHARED_CORPUS;
export const SYNCEVOLUTION_FIXTURES = path.join(SHARED_FIXTURES, 'syncevolution');

export interface Recorded {
  file: string;
  message: SyncMLMessage;
  wire: WireFormat;
}

export function loadRecorded(file: string): Recorded {
  const bytes = readFileSync(file);
  // Buteo's transport capture keeps the HTTP request head in front of the body.
  const start = bytes.indexOf('<?xml');
  const body = start > 0 && bytes.subarray(0, 4).toString() === 'POST' ? bytes.subarray(start) : bytes;
  const { message, wire } = decodeAny(new Uint8Array(body));
  return { file, message, wire };
}

/** Horde captures: `syncml_client_NM.xml` / `syncml_server_NM.xml`, pairs of session N in order. */
export function hordeSession(dir: string, n: number): Array<{ client: Recorded; server?: Recorded }> {
  const files = readdirSync(dir).filter((f) => new RegExp(`^syncml_client_${n}\\d\\.xml$`).test(f)).sort();
  return files.map((f) => {
    const server = path.join(dir, f.replace('client', 'server'));
    let rec: Recorded | undefined;
    try {
      rec = loadRecorded(server);
    } catch {
      rec = undefined;
    }
    return { client: loadRecorded(path.join(dir, f)), ...(rec ? { server: rec } : {}) };
  });
}

/** SyncEvolution fixtures: `NNN-request.{xml,wbxml}` with `NNN-response.*`. */
export function syncEvolutionExchanges(scenario: string): Array<{ client: Recorded; server: Recorded }> {
  const dir = path.join(SYNCEVOLUTION_FIXTURES, scenario);
  return readdirSync(dir).filter((f) => /^\d{3}-request\.(xml|wbxml)$/.test(f)).sort().map((f) => ({
    client: loadRecorded(path.join(dir, f)),
    server: loadRecorded(path.join(dir, f.replace('request', 'response'))),
  }));
}

export interface Exchange {
  /** The message as posted, after rewriting. */
  sent: SyncMLMessage;
  res: PostResult;
  /** Client Statuses/MapItems left out because they refer to something only the recorded server sent. */
  dropped: string[];
}

/** First SUMMARY/FN value of an item: how a recorded server Add is matched with ours. */
function labelOf(item: Item | undefined): string | undefined {
  const data = typeof item?.data === 'string' ? item.data : undefined;
  const m = data && /^(?:SUMMARY|FN)(?:;[^:\r\n]*)?:(.*)$/m.exec(data);
  return m ? m[1]!.trim() : undefined;
}

/** Keys for the commands of one server message, so the recorded and our reply can be paired. */
function commandKeys(msg: SyncMLMessage): Array<{ key: string; cmd: Command; sync?: string }> {
  const out: Array<{ key: string; cmd: Command; sync?: string }> = [];
  const count = new Map<string, number>();
  const ordinal = (k: string): string => {
    const n = count.get(k) ?? 0;
    count.set(k, n + 1);
    return `${k}#${n}`;
  };
  for (const c of msg.body) {
    switch (c.kind) {
      case 'Status': break;
      case 'Alert': out.push({ key: `Alert|${c.items[0]?.target?.locURI ?? ''}`, cmd: c }); break;
      case 'Results': out.push({ key: `Results|${c.cmdRef}`, cmd: c }); break;
      case 'Sync': {
        const t = c.target?.locURI ?? '';
        out.push({ key: `Sync|${t}`, cmd: c });
        for (const inner of c.commands) {
          if (inner.kind === 'Add' || inner.kind === 'Replace' || inner.kind === 'Delete') {
            const label = labelOf(inner.items[0]);
            out.push({ key: label ? `Item|${t}|${label}` : ordinal(`${inner.kind}|${t}`), cmd: inner, sync: t });
          }
        }
        break;
      }
      default: out.push({ key: ordinal(c.kind), cmd: c });
    }
  }
  return out;
}

/**
 * One recorded client talking to our gateway. After each exchange the recorded server reply is
 * paired with ours; the next client message's Status/Map references are translated through that.
 */
export class Replayer {
  url: string;
  readonly baseUrl: string;
  /** `recordedMsgId:recordedCmdId` -> `ourMsgId:ourCmdId`; recorded msgId -> ours under `msg:`. */
  readonly refs = new Map<string, string>();
  /** Recorded server LUIDs (GUIDs) -> the gateway's for the matching item. */
  readonly guids = new Map<string, string>();

  constructor(gatewayUrl: string, readonly cred: { user: string; password: string }, readonly opts: { sessionId?: string } = {}) {
    this.url = gatewayUrl;
    this.baseUrl = gatewayUrl.split('?')[0]!;
  }

  rewrite(rec: Recorded): { msg: SyncMLMessage; dropped: string[] } {
    const msg = structuredClone(rec.message);
    const dropped: string[] = [];
    const h = msg.header;
    h.target = { ...h.target, locURI: this.baseUrl };
    if (this.opts.sessionId) h.sessionId = this.opts.sessionId;
    // Recorded credentials belong to servers of the time; a session's first message always
    // carries ours (some phones send none until challenged; that round trip is not replayed).
    if (h.cred || h.msgId === '1') {
      h.cred = { meta: { type: 'syncml:auth-basic', format: 'b64' }, data: Buffer.from(`${this.cred.user}:${this.cred.password}`).toString('base64') };
    }
    const mapRef = (msgRef: string, cmdRef: string): { msgRef: string; cmdRef: string } | undefined => {
      const ourMsg = this.refs.get(`msg:${msgRef}`);
      if (!ourMsg) return undefined;
      if (cmdRef === '0') return { msgRef: ourMsg, cmdRef };
      const ours = this.refs.get(`${msgRef}:${cmdRef}`);
      if (!ours) return undefined;
      const [m, c] = ours.split(':') as [string, string];
      return { msgRef: m, cmdRef: c };
    };
    const body: Command[] = [];
    for (const c of msg.body) {
      if (c.kind === 'Status') {
        const ref = mapRef(c.msgRef, c.cmdRef);
        if (!ref) {
          dropped.push(`Status ${c.cmd} ${c.msgRef}/${c.cmdRef}=${c.data}`);
          continue;
        }
        const st: StatusCmd = { ...c, ...ref, sourceRefs: c.sourceRefs.map((s) => this.guids.get(s) ?? s), targetRefs: c.targetRefs.map((s) => this.guids.get(s) ?? s) };
        if (c.cmd === 'SyncHdr') st.targetRefs = st.targetRefs.map((t) => (t === rec.message.header.target.locURI ? this.baseUrl : t));
        st.items = c.items.map((i) => (i.source && this.guids.has(i.source.locURI) ? { ...i, source: { locURI: this.guids.get(i.source.locURI)! } } : i));
        body.push(st);
      } else if (c.kind === 'Map') {
        const items = c.mapItems.filter((mi) => {
          const ok = this.guids.has(mi.target.locURI);
          if (!ok) dropped.push(`MapItem ${mi.source.locURI}->${mi.target.locURI}`);
          return ok;
        }).map((mi) => ({ ...mi, target: { locURI: this.guids.get(mi.target.locURI)! } }));
        if (items.length) body.push({ ...c, mapItems: items } satisfies MapCmd);
      } else {
        body.push(c);
      }
    }
    msg.body = body;
    return { msg, dropped };
  }

  /** Pair the recorded server reply with ours (same keys), for the next client message. */
  learn(recorded: SyncMLMessage, ours: SyncMLMessage): void {
    this.refs.set(`msg:${recorded.header.msgId}`, ours.header.msgId);
    const mine = new Map(commandKeys(ours).map((k) => [k.key, k]));
    for (const r of commandKeys(recorded)) {
      const o = mine.get(r.key);
      if (!o) continue;
      this.refs.set(`${recorded.header.msgId}:${r.cmd.cmdId}`, `${ours.header.msgId}:${o.cmd.cmdId}`);
      const rl = 'items' in r.cmd ? r.cmd.items[0]?.source?.locURI : undefined;
      const ol = 'items' in o.cmd ? o.cmd.items[0]?.source?.locURI : undefined;
      if (r.sync !== undefined && rl && ol) this.guids.set(rl, ol);
    }
  }

  async send(client: Recorded, recordedServer?: Recorded): Promise<Exchange> {
    const { msg, dropped } = this.rewrite(client);
    const res = await postSyncml(this.url, encodeMessage(msg, client.wire), client.wire);
    if (res.message?.header.respURI) this.url = res.message.header.respURI;
    if (res.message && recordedServer) this.learn(recordedServer.message, res.message);
    return { sent: msg, res, dropped };
  }
}

export interface StatusRow {
  cmd: string;
  cmdRef: string;
  data: string;
  refs: string[];
}

export function statusRows(msg: SyncMLMessage | undefined): StatusRow[] {
  return (msg?.body ?? []).flatMap((c) => (c.kind === 'Status' ? [{ cmd: c.cmd, cmdRef: c.cmdRef, data: c.data, refs: [...c.targetRefs, ...c.sourceRefs] }] : []));
}

/** The Status our gateway gave one client command (by the CmdID it had in the posted message). */
export function statusFor(msg: SyncMLMessage | undefined, cmd: string, cmdRef: string): string | undefined {
  return statusRows(msg).find((s) => s.cmd === cmd && s.cmdRef === cmdRef)?.data;
}

/** Every item command (Add/Replace/Delete) inside the Syncs of a message, with its Sync's target. */
export function itemCommands(msg: SyncMLMessage): Array<{ sync: string; cmd: ItemCmd }> {
  return msg.body.flatMap((c) => (c.kind === 'Sync'
    ? c.commands.flatMap((i) => (i.kind === 'Add' || i.kind === 'Replace' || i.kind === 'Delete' ? [{ sync: c.target?.locURI ?? '', cmd: i }] : []))
    : []));
}
