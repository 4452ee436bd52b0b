// `syncml-gateway devices ...`: look at and repair what the state store remembers per device
// (last sync, anchors, LUID<->GUID maps) without a Redis or SQLite client. See docs/admin.md.
import path from 'node:path';
import { loadSettings } from '../config.js';
import { GatewayError } from '../errors.js';
import { HelpRequested, parseCommand, UsageError, VERSION } from './usage.js';
import { createStateStore } from '../state/open.js';
import type { DeviceKey, DeviceRecord, StateStore } from '../state/state-store.js';

export const DEVICES_USAGE = `usage: syncml-gateway devices <command>

commands:
  list [--account A]                        devices with last sync, and per datastore the anchors and map size
  reset <account> <deviceId> [datastore]    forget anchors and map (all datastores, or one): the next session is a slow sync
  forget <account> <deviceId>               delete everything stored for the device
  export <account> <deviceId>               print the device's record, anchors and maps as JSON (for support)
  push-test <account> <deviceId>            send the device a SAN now and report the outcome (docs/push.md)

The state store is the one the gateway uses: REDIS_URL when set, else <STATE_DIR>/state.sqlite.
`;

export interface DevicesIo {
  /** Settings source (REDIS_URL, STATE_DIR, ...); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where results go; default process.stdout. */
  out?: { write(chunk: string): unknown };
}

type Listed = Awaited<ReturnType<StateStore['listDevices']>>[number];

export async function runDevices(args: string[], io: DevicesIo = {}): Promise<void> {
  const [cmd, ...rest] = args;
  const out = io.out ?? process.stdout;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    out.write(DEVICES_USAGE);
    return;
  }
  if (cmd === '--version' || cmd === '-V') throw new HelpRequested(`syncml-gateway ${VERSION}\n`);
  // Validate the command line before touching the store: a typo must not open Redis.
  const run = parse(cmd, rest);
  const settings = loadSettings(io.env ?? process.env);
  const store = await createStateStore({
    ...(settings.redisUrl ? { redisUrl: settings.redisUrl } : {}),
    stateDir: path.resolve(settings.stateDir),
  });
  try {
    await run(store, (line) => out.write(`${line}\n`));
  } finally {
    await store.close();
  }
}

type Command = (store: StateStore, print: (line: string) => void) => Promise<void>;

function parse(cmd: string, rest: string[]): Command {
  switch (cmd) {
    case 'list': {
      const { values } = parseCommand(rest, { account: { type: 'string' } }, DEVICES_USAGE, 0);
      return (store, print) => list(store, print, values.account);
    }
    case 'reset': {
      const { positionals: [account, deviceId, datastore] } = parseCommand(rest, {}, DEVICES_USAGE, 3);
      if (!account || !deviceId) throw usage('devices reset needs <account> <deviceId> [datastore]');
      return (store, print) => reset(store, print, { account, deviceId }, datastore);
    }
    case 'forget': {
      const key = deviceArgs('forget', rest);
      return async (store, print) => {
        await requireDevice(store, key);
        await store.forgetDevice(key);
        print(`forgot ${key.account} ${key.deviceId}: its next session starts from scratch (slow sync of every datastore)`);
      };
    }
    case 'export': {
      const key = deviceArgs('export', rest);
      return (store, print) => exportDevice(store, print, key);
    }
    case 'push-test': {
      const key = deviceArgs('push-test', rest);
      return async (store, print) => (await import('./push.js')).pushTest(store, key, print);
    }
    default:
      throw usage(`unknown devices command ${cmd}`);
  }
}

function usage(msg: string): Error {
  return new UsageError(msg, DEVICES_USAGE);
}

function deviceArgs(cmd: string, rest: string[]): DeviceKey {
  const { positionals: [account, deviceId] } = parseCommand(rest, {}, DEVICES_USAGE, 2);
  if (!account || !deviceId) throw usage(`devices ${cmd} needs <account> <deviceId>`);
  return { account, deviceId };
}

/** The listed device, or a clear error naming the account's known devices. */
async function requireDevice(store: StateStore, key: DeviceKey): Promise<Listed> {
  const devices = await store.listDevices(key.account);
  const found = devices.find((d) => d.deviceId === key.deviceId);
  if (found) return found;
  const known = devices.map((d) => d.deviceId);
  throw new GatewayError(
    'NOT_FOUND',
    `no device ${key.deviceId} for account ${key.account}` + (known.length ? ` (known: ${known.join(', ')})` : ' (the account has no devices)'),
  );
}

async function list(store: StateStore, print: (line: string) => void, account: string | undefined): Promise<void> {
  const devices = await store.listDevices(account);
  const rows: string[][] = [['ACCOUNT', 'DEVICE', 'LAST SYNC', 'DATASTORE', 'CLIENT ANCHOR', 'SERVER ANCHOR', 'ITEMS']];
  for (const d of devices) {
    const lastSync = d.record.lastSync ?? 'never';
    if (d.datastores.length === 0) rows.push([d.account, d.deviceId, lastSync, '-', '-', '-', '0']);
    for (const ds of d.datastores) {
      const key = { account: d.account, deviceId: d.deviceId, datastore: ds };
      const [anchors, map] = await Promise.all([store.getAnchors(key), store.getMap(key)]);
      // No anchors yet: a first or interrupted session left map entries; the next session is slow.
      rows.push([d.account, d.deviceId, lastSync, ds, anchors?.client || '-', anchors?.server || '-', String(map.length)]);
    }
  }
  if (devices.length === 0) {
    if (account === undefined) {
      print('no devices');
      return;
    }
    // docs/admin.md: an unknown account is an error (exit 1) that lists what exists.
    const known = [...new Set((await store.listDevices()).map((d) => d.account))];
    throw new GatewayError('NOT_FOUND', `no devices for account ${account}` + (known.length ? ` (accounts with devices: ${known.join(', ')})` : ' (no device has synced yet)'));
  }
  for (const line of formatTable(rows)) print(line);
  // Names a phone asked for that its mapping does not list: exactly as sent, with the fix.
  const unknown = devices.flatMap((d) => (d.record.unknownDatastores ?? []).map((u) => ({ d, u })));
  if (unknown.length > 0) {
    print('');
    print('unknown datastore names (the phone got 404 for them):');
    for (const { d, u } of unknown) print(`  ${d.account} ${d.deviceId} "${u.uri}"${u.source ? ` (phone's own name "${u.source}")` : ''} at ${u.at}: ${u.hint}`);
  }
  for (const line of await (await import('./push.js')).pushStatusLines(store, devices)) print(line);
}

async function reset(store: StateStore, print: (line: string) => void, key: DeviceKey, datastore: string | undefined): Promise<void> {
  const device = await requireDevice(store, key);
  let targets = device.datastores;
  if (datastore !== undefined) {
    if (!device.datastores.includes(datastore)) {
      throw new GatewayError('NOT_FOUND', `device ${key.deviceId} of ${key.account} has no datastore ${datastore} (has: ${device.datastores.join(', ') || 'none'})`);
    }
    targets = [datastore];
  }
  for (const ds of targets) await store.resetDatastore({ ...key, datastore: ds });
  if (targets.length === 0) print(`${key.account} ${key.deviceId} has no datastore state; nothing to reset`);
  for (const ds of targets) print(`reset ${key.account} ${key.deviceId} ${ds}: anchors and map removed; the next session of this datastore is a slow sync`);
}

interface ExportedDevice {
  account: string;
  deviceId: string;
  lastSync: string | null;
  devInf: unknown;
  datastores: Array<{
    name: string;
    anchors: { client: string; server: string } | null;
    items: number;
    map: Array<{ luid: string; guid: string; etag: string; hash?: string }>;
  }>;
}

async function exportDevice(store: StateStore, print: (line: string) => void, key: DeviceKey): Promise<void> {
  const device = await requireDevice(store, key);
  const record: DeviceRecord = device.record;
  const doc: ExportedDevice = {
    account: device.account,
    deviceId: device.deviceId,
    lastSync: record.lastSync ?? null,
    // nextNonce is left out on purpose: it is an authentication secret, not support data.
    devInf: record.devInf ?? null,
    datastores: [],
  };
  for (const name of device.datastores) {
    const dsKey = { ...key, datastore: name };
    const [anchors, map] = await Promise.all([store.getAnchors(dsKey), store.getMap(dsKey)]);
    const sorted = [...map].sort((a, b) => (a.luid < b.luid ? -1 : a.luid > b.luid ? 1 : 0));
    doc.datastores.push({ name, anchors: anchors ?? null, items: map.length, map: sorted });
  }
  print(JSON.stringify(doc, null, 2));
}

function formatTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}
