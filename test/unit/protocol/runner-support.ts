// A SessionRunner for runner tests: one account (alice, Basic password `phone-pw`), client
// messages of one device and SessionID, and replies that only name the message they answer.
import { AccountRegistry, type AccountMapping } from '../../../src/accounts/mappings.js';
import type { SyncMLMessage } from '../../../src/codec/model.js';
import { createLogger } from '../../../src/logger.js';
import { SessionRunner, type BoundMessage, type ProcessedMessage, type RunnerSettings } from '../../../src/protocol/session-runner.js';
import type { StateStore } from '../../../src/state/state-store.js';

export const mapping: AccountMapping = {
  account: 'alice', file: 'alice.yaml', auth: { mode: 'secret', basic: 'phone-pw' },
  dav: { url: 'http://dav.test/', username: 'alice', password: 'dav-pw' }, datastores: [],
};

/** Message `msgId` of device IMEI:1, SessionID 7; `withCred`: Basic credentials of alice. */
export function message(msgId: string, withCred: boolean): SyncMLMessage {
  return {
    version: '1.2', final: true, body: [],
    header: {
      verDTD: '1.2', verProto: 'SyncML/1.2', sessionId: '7', msgId, target: { locURI: 'http://gw.test/sync' }, source: { locURI: 'IMEI:1' },
      ...(withCred ? { cred: { meta: { type: 'syncml:auth-basic', format: 'b64' }, data: Buffer.from('alice:phone-pw').toString('base64') } } : {}),
    },
  };
}

/** A runner on `state` whose replies read `reply to <msgId>`; `process` runs the commands (default: none). */
export function runnerOn(
  state: StateStore,
  process: (b: BoundMessage) => Promise<ProcessedMessage> = async (b) => ({ reply: { ...b.msg, body: [] }, completed: false, ttlSeconds: 60 }),
  settings: Partial<RunnerSettings> = {},
): SessionRunner {
  return new SessionRunner({
    accounts: new AccountRegistry([mapping]), state, verifyCredentials: async () => false, log: createLogger('silent'),
    encode: (msg) => new TextEncoder().encode(`reply to ${msg.header.msgId}`),
    settings: { serverUrl: 'http://gw.test/sync', serverMaxMsgSize: 100_000, authCacheSeconds: 0, sessionTtlSeconds: 60, ...settings },
  }, process);
}
