// Account mappings for tests, written as the YAML an admin would put into mappings/: one place
// that knows the format, so a test only says what differs (account, auth, datastores).
import type { DavServerHandle } from './dav-servers.js';

/** One datastore: `uris` and `collection`, plus any other mapping field (`kind`, `conflict` …). */
export type TestDatastore = { uris: readonly string[]; collection: string } & Record<string, string | readonly string[]>;

export interface AccountYamlOptions {
  /** [alice] */
  account?: string;
  /**
   * [passthrough]; `{ md5 }` holds the gateway-held secret, e.g. '${BOB_SYNCML_SECRET}'; an MD5
   * account accepts basic auth only when `basic` is given as well (no downgrade otherwise).
   */
  auth?: 'passthrough' | { md5: string; basic?: string };
  /** DAV credentials of a gateway-held account (with `auth: { md5 }`). */
  davLogin?: { username: string; password: string };
  /** [one address book on `dav`, under the names phones use] */
  datastores?: Record<string, TestDatastore>;
}

export const DEFAULT_CONTACT_URIS = ['./contacts', 'contacts', 'addressbook', 'Contacts', 'card'] as const;

export function accountYaml(dav: DavServerHandle, o: AccountYamlOptions = {}): string {
  const auth = o.auth ?? 'passthrough';
  const datastores = o.datastores ?? { contacts: { uris: DEFAULT_CONTACT_URIS, collection: dav.collections.contacts } };
  const value = (v: string | readonly string[]): string => (typeof v === 'string' ? v : `[${v.join(', ')}]`);
  return [
    `account: ${o.account ?? 'alice'}`,
    ...(auth === 'passthrough' ? ['auth: passthrough'] : ['auth:', `  md5: ${auth.md5}`, ...(auth.basic !== undefined ? [`  basic: ${auth.basic}`] : [])]),
    'dav:',
    `  url: ${dav.baseUrl}/`,
    ...(o.davLogin ? [`  username: ${o.davLogin.username}`, `  password: ${o.davLogin.password}`] : []),
    'datastores:',
    ...Object.entries(datastores).flatMap(([name, fields]) => [`  ${name}:`, ...Object.entries(fields).map(([k, v]) => `    ${k}: ${value(v)}`)]),
    '',
  ].join('\n');
}
