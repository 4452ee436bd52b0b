// Push settings: the `push:` block of an account mapping (per account, overridable per device)
// and the process-wide settings from the environment (poll interval, transport, credentials).
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import type { AccountMapping, DatastoreMapping } from '../accounts/mappings.js';
import { SAN_CONTENT_TYPES, type SanSyncType, type SanUiMode } from '../codec/san.js';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');

const common = {
  sanVersion: z.enum(['1.0', '1.1', '1.2']).optional(),
  /** Datastore names of the mapping to watch and name in the SAN (default: all). */
  datastores: z.array(z.string().min(1)).min(1).optional(),
  quietHours: z.object({ from: hhmm, to: hhmm, timezone: z.string().optional() }).strict().optional(),
  /** At most one SAN per device per this many seconds (coalescing window). */
  intervalSeconds: z.number().int().min(1).optional(),
  uiMode: z.enum(['unspecified', 'background', 'informative', 'interactive']).optional(),
  syncType: z.union([z.literal(206), z.literal(207), z.literal(208), z.literal(209), z.literal(210)]).optional(),
  /** Server id as configured on the phone (default: the gateway's public URL). */
  serverId: z.string().min(1).max(255).optional(),
  /** Server password and nonce the phone knows (digest); without a password the digest is zero. */
  password: z.string().optional(),
  nonce: z.string().optional(),
  enabled: z.boolean().optional(),
};

const deviceSchema = z.object({ phone: z.string().regex(/^\+?[0-9]{3,20}$/, 'a phone number (digits, optional +)'), ...common }).strict();
const pushSchema = z.object({ ...common, devices: z.record(z.string().min(1), deviceSchema) }).strict();

export interface QuietHours {
  from: string;
  to: string;
  timezone?: string;
}

/** Everything push needs about one device, defaults applied. */
export interface DevicePushSettings {
  account: string;
  deviceId: string;
  phone: string;
  sanVersion: '1.0' | '1.1' | '1.2';
  datastores: DatastoreMapping[];
  quietHours?: QuietHours;
  intervalSeconds: number;
  uiMode: SanUiMode;
  syncType: SanSyncType;
  serverId?: string;
  password?: string;
  nonce: string;
}

export const DEFAULT_INTERVAL_SECONDS = 300;

/** Devices of one mapping that opted in; a `push:` block that does not validate is a config error. */
export function devicePushSettings(mapping: AccountMapping): DevicePushSettings[] {
  if (!mapping.push) return [];
  const r = pushSchema.safeParse(mapping.push);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new GatewayError('CONFIG_INVALID', `${mapping.file}: field push.${issue.path.join('.')}: ${issue.message}`);
  }
  const acct = r.data;
  return Object.entries(acct.devices).filter(([, d]) => (d.enabled ?? acct.enabled) !== false).map(([deviceId, d]) => {
    const names = d.datastores ?? acct.datastores;
    const datastores = names ? names.map((n) => {
      const ds = mapping.datastores.find((x) => x.name === n);
      if (!ds) throw new GatewayError('CONFIG_INVALID', `${mapping.file}: field push.datastores: no datastore ${n}`);
      return ds;
    }) : mapping.datastores;
    const quiet = d.quietHours ?? acct.quietHours;
    const serverId = d.serverId ?? acct.serverId;
    const password = d.password ?? acct.password;
    return {
      account: mapping.account, deviceId, phone: d.phone,
      sanVersion: d.sanVersion ?? acct.sanVersion ?? '1.2',
      datastores,
      ...(quiet ? { quietHours: quiet } : {}),
      intervalSeconds: d.intervalSeconds ?? acct.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS,
      uiMode: d.uiMode ?? acct.uiMode ?? 'background',
      syncType: d.syncType ?? acct.syncType ?? 206,
      ...(serverId ? { serverId } : {}),
      ...(password !== undefined ? { password } : {}),
      nonce: d.nonce ?? acct.nonce ?? '',
    };
  });
}

/** WSP content-type number and MIME type a SAN names for a datastore. */
export function datastoreContent(ds: DatastoreMapping): { code: number; mime: string } {
  const mime = ds.kind === 'contacts' ? 'text/x-vcard' : ds.kind === 'notes' ? 'text/plain' : 'text/x-vcalendar';
  return { code: SAN_CONTENT_TYPES[mime] ?? 0, mime };
}

/** Minutes since midnight in a time zone. */
function minutesIn(now: Date, timezone?: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(timezone ? { timeZone: timezone } : {}) }).formatToParts(now);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

const toMinutes = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));

/** Milliseconds until the quiet hours end, or 0 when `now` is outside them (windows may wrap midnight). */
export function quietRemainingMs(q: QuietHours | undefined, now: Date): number {
  if (!q) return 0;
  const m = minutesIn(now, q.timezone);
  const from = toMinutes(q.from);
  const to = toMinutes(q.to);
  if (from === to) return 0;
  const inside = from < to ? m >= from && m < to : m >= from || m < to;
  if (!inside) return 0;
  const left = (to - m + 24 * 60) % (24 * 60);
  return left * 60_000 - now.getUTCSeconds() * 1000 - now.getUTCMilliseconds();
}

export type TransportName = 'kannel' | 'gammu' | 'webhook' | 'none';

/** Process-wide push settings (environment). */
export interface PushEnvSettings {
  transport: TransportName;
  pollSeconds: number;
  /** Random share of the poll interval added or taken (0.2 = ±20 %). */
  jitter: number;
  /** Wait after the first change before sending, so a burst goes out as one SAN. */
  settleMs: number;
  retries: number;
  retryBaseMs: number;
  kannel?: { url: string; username: string; password: string; from?: string; smsc?: string };
  gammu?: { inject?: string; sqlite?: string; config?: string };
  webhook?: { url: string; token?: string };
}

export function pushEnvSettings(env: NodeJS.ProcessEnv): PushEnvSettings {
  const num = (name: string, dflt: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new GatewayError('CONFIG_INVALID', `setting ${name}: not a non-negative number`);
    return n;
  };
  const transport = (env['PUSH_TRANSPORT'] ?? 'none') as TransportName;
  if (!['kannel', 'gammu', 'webhook', 'none'].includes(transport)) throw new GatewayError('CONFIG_INVALID', 'setting PUSH_TRANSPORT: kannel, gammu, webhook or none');
  const out: PushEnvSettings = {
    transport,
    pollSeconds: num('PUSH_POLL_SECONDS', 60),
    jitter: Math.min(num('PUSH_POLL_JITTER', 0.2), 0.9),
    settleMs: num('PUSH_SETTLE_MS', 2000),
    retries: num('PUSH_RETRIES', 4),
    retryBaseMs: num('PUSH_RETRY_BASE_MS', 1000),
  };
  if (env['KANNEL_SENDSMS_URL']) {
    out.kannel = {
      url: env['KANNEL_SENDSMS_URL'], username: env['KANNEL_USERNAME'] ?? '', password: env['KANNEL_PASSWORD'] ?? '',
      ...(env['KANNEL_FROM'] ? { from: env['KANNEL_FROM'] } : {}), ...(env['KANNEL_SMSC'] ? { smsc: env['KANNEL_SMSC'] } : {}),
    };
  }
  if (env['GAMMU_SMSD_INJECT'] || env['GAMMU_SMSD_SQLITE']) {
    out.gammu = {
      ...(env['GAMMU_SMSD_INJECT'] ? { inject: env['GAMMU_SMSD_INJECT'] } : {}),
      ...(env['GAMMU_SMSD_SQLITE'] ? { sqlite: env['GAMMU_SMSD_SQLITE'] } : {}),
      ...(env['GAMMU_SMSD_CONFIG'] ? { config: env['GAMMU_SMSD_CONFIG'] } : {}),
    };
  }
  if (env['PUSH_WEBHOOK_URL']) out.webhook = { url: env['PUSH_WEBHOOK_URL'], ...(env['PUSH_WEBHOOK_TOKEN'] ? { token: env['PUSH_WEBHOOK_TOKEN'] } : {}) };
  return out;
}
