// Composition root: the only place that names concrete implementations and wires the layers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import { AccountRegistry } from './accounts/mappings.js';
import { commandSizer, encodeMessage } from './codec/index.js';
import { loadSettings, PACKAGE_ROOT, publicSyncUrl, type Settings } from './config.js';
import { createDavStore, verifyDavCredentials } from './datastores/index.js';
import { createApp } from './http/app.js';
import { createLogger, type Logger } from './logger.js';
import { ProtocolEngine } from './protocol/engine.js';
import { createStateStore } from './state/index.js';
import type { StateStore } from './state/state-store.js';
import { contactsTranslator } from './sync/translators.js';
import { calendarTranslators } from './sync/calendar-translators.js';
import { loadDeviceProfiles } from './convert/filters/index.js';
import { writeBackup } from './accounts/backup.js';

export const VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  state: StateStore;
  log: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Log destination (tests write to a file); default stdout. */
  logDestination?: NodeJS.WritableStream;
}

export async function startGateway(overrides: Partial<Settings> = {}, opts: StartOptions = {}): Promise<RunningGateway> {
  const env = opts.env ?? process.env;
  const settings = loadSettings(env, overrides);
  const log = createLogger(settings.logLevel, opts.logDestination);
  const accounts = AccountRegistry.loadDir(path.resolve(settings.mappingsDir), env);
  const state = await createStateStore({ ...(settings.redisUrl ? { redisUrl: settings.redisUrl } : {}), stateDir: path.resolve(settings.stateDir) });
  const userAgent = `syncml-dav-gateway/${VERSION}`;
  let serverUrl = publicSyncUrl(settings);
  const engine = new ProtocolEngine({
    accounts,
    state,
    openDataStore: (_account, ds, creds) => createDavStore({ kind: ds.kind, collectionUrl: ds.collection, credentials: creds, userAgent }),
    verifyCredentials: (account, creds) => verifyDavCredentials(account.datastores[0]!.collection, creds, { userAgent }),
    translators: { contacts: contactsTranslator, ...calendarTranslators({ defaultTimezone: settings.deviceTimezone }) },
    deviceProfiles: loadDeviceProfiles(path.join(PACKAGE_ROOT, 'config', 'devices')),
    backup: (account, datastore, collectionUrl, items) => writeBackup(path.resolve(settings.stateDir, 'backups'), account, datastore, collectionUrl, items),
    log,
    sizer: commandSizer,
    encode: encodeMessage,
    settings: {
      get serverUrl() { return serverUrl; },
      sessionTtlSeconds: settings.sessionTtlSeconds,
      serverMaxMsgSize: settings.serverMaxMsgSize,
      authCacheSeconds: settings.authCacheSeconds,
      softwareVersion: VERSION,
    },
  });
  const app = createApp({ engine, state, log, syncmlPath: settings.syncmlPath, maxBodyBytes: settings.maxBodyBytes, version: VERSION });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(settings.port, settings.host, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : settings.port;
  serverUrl = publicSyncUrl(settings, port);
  log.info({ url: serverUrl, accounts: accounts.list().map((a) => a.account), store: settings.redisUrl ? 'redis' : 'embedded' }, 'gateway listening');
  return {
    url: serverUrl, port, server, state, log,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      await state.close();
    },
  };
}
