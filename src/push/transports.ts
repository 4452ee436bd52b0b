// Delivery of a WAP Push SMS: Kannel's sendsms HTTP interface, gammu-smsd's SQL outbox (SQLite)
// or gammu-smsd-inject, or a generic JSON webhook. A transport throws on failure; retries with
// backoff are the caller's (push/service.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import { GatewayError } from '../errors.js';
import { readCappedText } from '../datastores/response-cap.js';
import type { SmsSegment } from '../codec/wap-push.js';
import type { PushEnvSettings } from './settings.js';

export interface PushMessage {
  phone: string;
  account: string;
  deviceId: string;
  sessionId: number;
  /** The SAN bytes (binary 1.2 or legacy WBXML). */
  san: Uint8Array;
  contentType: string;
  /** WSP push PDU and its SMS parts (UDH + data, each ≤ 140 octets). */
  pdu: Uint8Array;
  segments: SmsSegment[];
}

export interface PushTransport {
  readonly name: string;
  send(msg: PushMessage): Promise<void>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
/** Kannel wants binary fields URL-encoded byte by byte. */
const pct = (b: Uint8Array): string => Array.from(b, (x) => `%${x.toString(16).padStart(2, '0').toUpperCase()}`).join('');

/** Largest answer read from a push gateway: Kannel's sendsms reply, a webhook's error answer. */
const PUSH_REPLY_MAX_BYTES = 4096;

export class KannelTransport implements PushTransport {
  readonly name = 'kannel';
  constructor(private readonly opts: NonNullable<PushEnvSettings['kannel']>, private readonly timeoutMs = 10_000) {}

  async send(msg: PushMessage): Promise<void> {
    for (const seg of msg.segments) {
      const q = [
        `username=${encodeURIComponent(this.opts.username)}`, `password=${encodeURIComponent(this.opts.password)}`,
        `to=${encodeURIComponent(msg.phone)}`, `udh=${pct(seg.udh)}`, `text=${pct(seg.data)}`, 'coding=1',
        ...(this.opts.from ? [`from=${encodeURIComponent(this.opts.from)}`] : []),
        ...(this.opts.smsc ? [`smsc=${encodeURIComponent(this.opts.smsc)}`] : []),
      ].join('&');
      const url = `${this.opts.url}${this.opts.url.includes('?') ? '&' : '?'}${q}`;
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (err) {
        throw new GatewayError('BACKEND_UNAVAILABLE', `kannel sendsms unreachable: ${(err as Error).message}`, { cause: err });
      }
      // Kannel answers one short line ("0: Accepted for delivery"); anything longer is not read on.
      const body = (await readCappedText(res, PUSH_REPLY_MAX_BYTES, 'kannel sendsms reply')).trim().slice(0, 200);
      if (!res.ok) throw new GatewayError('BACKEND_UNAVAILABLE', `kannel sendsms answered ${res.status}: ${body}`);
    }
  }
}

export class WebhookTransport implements PushTransport {
  readonly name = 'webhook';
  constructor(private readonly opts: NonNullable<PushEnvSettings['webhook']>, private readonly timeoutMs = 10_000) {}

  async send(msg: PushMessage): Promise<void> {
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
    const body = {
      phone: msg.phone, account: msg.account, deviceId: msg.deviceId, sessionId: msg.sessionId,
      contentType: msg.contentType, wdpPort: 2948,
      san: { base64: b64(msg.san), hex: hex(msg.san) },
      wspPush: { base64: b64(msg.pdu), hex: hex(msg.pdu) },
      sms: msg.segments.map((s) => ({ udh: hex(s.udh), data: hex(s.data) })),
    };
    let res: Response;
    try {
      res = await fetch(this.opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new GatewayError('BACKEND_UNAVAILABLE', `push webhook unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (res.ok) {
      // The answer's body is not needed; cancelled, not left to the GC, so the connection is
      // freed now (or closed, when the webhook streams on).
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    // The reason the webhook gives helps the operator; read up to the same bound, no further.
    // It goes to logs and the push status: a webhook that echoes our bearer token must not put
    // the secret there.
    const token = this.opts.token;
    const reason = await readCappedText(res, PUSH_REPLY_MAX_BYTES, 'push webhook answer')
      .then((t) => (token ? t.split(token).join('[token]') : t).trim().slice(0, 200), () => '');
    throw new GatewayError('BACKEND_UNAVAILABLE', `push webhook answered ${res.status}${reason ? `: ${reason}` : ''}`);
  }
}

/**
 * gammu-smsd: with `sqlite`, rows in its SQL outbox (first part in `outbox`, the rest in
 * `outbox_multipart`, Coding 8bit, UDH and Text in hex); else `gammu-smsd-inject` per part.
 */
export class GammuTransport implements PushTransport {
  readonly name = 'gammu';
  constructor(private readonly opts: NonNullable<PushEnvSettings['gammu']>) {}

  async send(msg: PushMessage): Promise<void> {
    if (this.opts.sqlite) return this.#sql(this.opts.sqlite, msg);
    const inject = this.opts.inject ?? 'gammu-smsd-inject';
    const run = promisify(execFile);
    for (const seg of msg.segments) {
      const args = [...(this.opts.config ? ['-c', this.opts.config] : []), 'EMS', msg.phone, '-8bit', '-udh', hex(seg.udh), '-text', Buffer.from(seg.data).toString('latin1')];
      try {
        await run(inject, args, { timeout: 15_000 });
      } catch (err) {
        throw new GatewayError('BACKEND_UNAVAILABLE', `gammu-smsd-inject failed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
    }
  }

  async #sql(file: string, msg: PushMessage): Promise<void> {
    let db: Database.Database | undefined;
    try {
      // Loaded when a SAN goes out this way: a Redis-backed gateway need not load SQLite at all.
      const { default: SqliteDatabase } = await import('better-sqlite3');
      db = new SqliteDatabase(file, { fileMustExist: true, timeout: 5000 });
      const conn = db;
      const multi = msg.segments.length > 1;
      conn.transaction(() => {
        const [first, ...rest] = msg.segments;
        const r = conn.prepare(`INSERT INTO outbox (DestinationNumber, Coding, UDH, Text, TextDecoded, MultiPart, CreatorID, Class)
          VALUES (?, '8bit', ?, ?, '', ?, 'syncml-dav-gateway', -1)`).run(msg.phone, hex(first!.udh), hex(first!.data), multi ? 'true' : 'false');
        rest.forEach((seg, i) => {
          conn.prepare(`INSERT INTO outbox_multipart (ID, SequencePosition, Coding, UDH, Text, TextDecoded, Class)
            VALUES (?, ?, '8bit', ?, ?, '', -1)`).run(r.lastInsertRowid, i + 2, hex(seg.udh), hex(seg.data));
        });
      })();
    } catch (err) {
      throw new GatewayError('BACKEND_UNAVAILABLE', `gammu outbox ${file}: ${(err as Error).message}`, { cause: err });
    } finally {
      db?.close();
    }
  }
}

export function createTransport(s: PushEnvSettings): PushTransport | undefined {
  switch (s.transport) {
    case 'kannel':
      if (!s.kannel) throw new GatewayError('CONFIG_INVALID', 'PUSH_TRANSPORT=kannel needs KANNEL_SENDSMS_URL (and KANNEL_USERNAME/KANNEL_PASSWORD)');
      return new KannelTransport(s.kannel);
    case 'webhook':
      if (!s.webhook) throw new GatewayError('CONFIG_INVALID', 'PUSH_TRANSPORT=webhook needs PUSH_WEBHOOK_URL');
      return new WebhookTransport(s.webhook);
    case 'gammu':
      return new GammuTransport(s.gammu ?? {});
    case 'none':
      return undefined;
  }
}
