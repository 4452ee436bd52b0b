// Push on the command line: `san` builds a device's SAN, `decode` recognises SANs (binary 1.2,
// a WSP push PDU around one, or a legacy SyncML SAN), `devices push-test` sends one now.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AccountRegistry } from '../accounts/mappings.js';
import { decodeAny } from '../codec/index.js';
import { decodeAnySan, sanContentTypeName, type AnySan, type SanSecret } from '../codec/san.js';
import { decodeWspPush } from '../codec/wap-push.js';
import { loadSettings, publicSyncUrl } from '../config.js';
import { GatewayError } from '../errors.js';
import { parseCommand, UsageError } from './usage.js';
import { createLogger } from '../logger.js';
import { buildPushMessage } from '../push/service.js';
import { createPushService, describePushStatus, devicePushSettings, readPushStatus } from '../push/index.js';
import type { DeviceKey, StateStore } from '../state/state-store.js';

export const SAN_USAGE = `usage: syncml-gateway san <account> <deviceId> [--datastore NAME]... [--session-id N] [--out FILE]
  builds the device's SAN as its push settings say (mapping "push:" block); without --out prints
  the SAN and the WAP Push SMS parts in hex
`;

function deviceSettings(account: string, deviceId: string, env: NodeJS.ProcessEnv) {
  const settings = loadSettings(env);
  const mapping = AccountRegistry.loadDir(path.resolve(settings.mappingsDir), env).get(account);
  if (!mapping) throw new GatewayError('NOT_FOUND', `no account ${account}`);
  const all = devicePushSettings(mapping);
  const device = all.find((d) => d.deviceId === deviceId);
  if (!device) {
    throw new GatewayError('NOT_FOUND', `device ${deviceId} of ${account} has no push settings` + (all.length ? ` (push devices: ${all.map((d) => d.deviceId).join(', ')})` : ''));
  }
  return { settings, mapping, device };
}

export async function runSan(args: string[], env: NodeJS.ProcessEnv = process.env, stdout: { write(s: string | Uint8Array): unknown } = process.stdout): Promise<void> {
  const { values, positionals } = parseCommand(args, {
    datastore: { type: 'string', multiple: true }, out: { type: 'string' }, 'session-id': { type: 'string' },
  }, SAN_USAGE, 2);
  const [account, deviceId] = positionals;
  if (!account || !deviceId) throw new UsageError('san needs <account> <deviceId>', SAN_USAGE);
  const { settings, device } = deviceSettings(account, deviceId, env);
  // `multiple: true` gives an array (usage.ts types every value as a string).
  const datastores = values.datastore as unknown as string[] | undefined;
  for (const ds of datastores ?? []) {
    if (!device.datastores.some((d) => d.name === ds)) throw new GatewayError('NOT_FOUND', `device ${deviceId} is not pushed for datastore ${ds}`);
  }
  const sessionId = values['session-id'] !== undefined ? Number(values['session-id']) : undefined;
  const msg = buildPushMessage(device, device.serverId ?? publicSyncUrl(settings), datastores, sessionId);
  if (values.out) {
    writeFileSync(values.out, msg.san);
    stdout.write(`wrote ${msg.san.length} bytes (${msg.contentType}, session id ${msg.sessionId}) to ${values.out}\n`);
    return;
  }
  stdout.write(describeSan(decodeAnySan(msg.san)));
  stdout.write(`san: ${Buffer.from(msg.san).toString('hex')}\n`);
  msg.segments.forEach((s, i) => stdout.write(`sms ${i + 1}/${msg.segments.length}: udh ${Buffer.from(s.udh).toString('hex')} data ${Buffer.from(s.data).toString('hex')}\n`));
}

/** Text for a SAN, or undefined when the bytes are an ordinary SyncML message or not a SAN. */
export function sanText(bytes: Uint8Array, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const secret: SanSecret | undefined = env['SAN_SERVER_PASSWORD'] !== undefined ? { password: env['SAN_SERVER_PASSWORD'], nonce: env['SAN_NONCE'] ?? '' } : undefined;
  let payload = bytes;
  let prefix = '';
  if (bytes.length > 3 && bytes[1] === 0x06) {
    try {
      const push = decodeWspPush(bytes);
      payload = push.payload;
      prefix = `WAP Push: content type ${push.contentType}, application id ${push.applicationId ?? '-'}\n`;
    } catch {
      // not a push PDU
    }
  }
  let san: AnySan;
  try {
    san = decodeAnySan(payload, secret);
  } catch (err) {
    if (err instanceof GatewayError && err.details?.['reason'] === 'digest') throw err;
    return undefined;
  }
  if (san.form === 'binary') {
    // Any SyncML message would also "decode" as binary: only a version a SAN can have counts.
    if (isSyncML(payload) || ![10, 11, 12].includes(san.decoded.san.version)) return undefined;
  }
  return prefix + describeSan(san);
}

function isSyncML(bytes: Uint8Array): boolean {
  try {
    decodeAny(bytes);
    return true;
  } catch {
    return false;
  }
}

export function describeSan(s: AnySan): string {
  if (s.form === 'legacy') {
    const l = s.san;
    return [`legacy SAN (SyncML ${l.version}): server ${l.serverId}, session id ${l.sessionId}, alert ${l.syncType}`,
      ...l.datastores.map((d) => `  ${d.serverUri} ${d.mimeType ?? ''}`.trimEnd()), ''].join('\n');
  }
  const { san, digest, digestValid } = s.decoded;
  const digestHex = Buffer.from(digest).toString('hex');
  return [
    `SAN DS ${san.version / 10}: server ${san.serverId}, session id ${san.sessionId} (0x${san.sessionId.toString(16).toUpperCase()}), ui ${san.uiMode}, initiator ${san.initiator}`,
    `digest ${digestHex}${digestValid ? ' (verified)' : /^0+$/.test(digestHex) ? ' (none)' : ' (not checked: set SAN_SERVER_PASSWORD/SAN_NONCE)'}`,
    ...(san.syncs.length ? san.syncs.map((x) => `  ${x.syncType} ${x.serverUri} ${sanContentTypeName(x.contentType) ?? `0x${x.contentType.toString(16)}`}`) : ['  all datastores']),
    ...(san.vendor ? [`vendor ${Buffer.from(san.vendor).toString('hex')}`] : []),
    '',
  ].join('\n');
}

/** `devices push-test <account> <deviceId>`: one SAN now, bypassing coalescing and quiet hours. */
export async function pushTest(store: StateStore, key: DeviceKey, print: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { settings, mapping, device } = deviceSettings(key.account, key.deviceId, env);
  const push = createPushService({
    accounts: [mapping], state: store, log: createLogger('warn'), env, serverId: () => publicSyncUrl(settings),
    watch: false, openStore: () => { throw new Error('push-test does not watch'); },
  });
  const rec = await push.send(device, { trigger: 'test' });
  print(`${rec.outcome === 'sent' ? 'sent' : 'FAILED'}: SAN session id ${rec.sessionId} to ${device.phone} via ${rec.transport} after ${rec.attempts} attempt(s)${rec.error ? `: ${rec.error}` : ''}`);
  if (rec.outcome !== 'sent') process.exitCode = 1;
}

/** Push lines for `devices list`. */
export async function pushStatusLines(store: StateStore, devices: DeviceKey[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of devices) {
    const s = await readPushStatus(store, d);
    if (s.lastSan) out.push(`push ${d.account} ${d.deviceId}: ${describePushStatus(s)}`);
  }
  return out;
}
