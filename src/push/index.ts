// Push facade for the composition root and the CLI.
import type { AccountMapping } from '../accounts/mappings.js';
import type { DataStore } from '../datastores/datastore.js';
import type { Logger } from '../logger.js';
import type { StateStore } from '../state/state-store.js';
import { PushService } from './service.js';
import { pushEnvSettings } from './settings.js';
import { createTransport } from './transports.js';

export { PushService } from './service.js';
export { describePushStatus, readPushStatus } from './status.js';
export { devicePushSettings, pushEnvSettings } from './settings.js';

export function createPushService(opts: {
  accounts: AccountMapping[];
  state: StateStore;
  openStore(mapping: AccountMapping, datastore: string): DataStore;
  log: Logger;
  env: NodeJS.ProcessEnv;
  serverId(): string;
  sessionTtlSeconds?: number;
  watch?: boolean;
}): PushService {
  const env = pushEnvSettings(opts.env);
  const transport = createTransport(env);
  return new PushService({
    accounts: opts.accounts, state: opts.state, openStore: opts.openStore, log: opts.log.child({ part: 'push' }), env,
    serverId: opts.serverId, ...(transport ? { transport } : {}),
    ...(opts.watch !== undefined ? { watch: opts.watch } : {}),
    ...(opts.sessionTtlSeconds !== undefined ? { sessionTtlSeconds: opts.sessionTtlSeconds } : {}),
  });
}
