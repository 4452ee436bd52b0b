// Mapping templates: one file with `account: "*"` serves every user the DAV server accepts
// (auth: passthrough). `{user}` in dav.url, dav.username and collection references is replaced
// by the SyncML user name (URL-encoded inside URLs and paths); collection NAMEs are resolved by
// discovery per user, like any passthrough account.
import type { AccountMapping, DatastoreMapping } from './mappings.js';

const PLACEHOLDER = /\{user\}/g;

function inUrl(ref: string, user: string): string {
  return ref.replace(PLACEHOLDER, encodeURIComponent(user));
}

function datastoreFor(ds: DatastoreMapping, user: string): DatastoreMapping {
  const collections = ds.collections.map((c) => inUrl(c, user));
  return {
    ...ds,
    collections,
    collection: collections[ds.createIn]!,
    ...(ds.tasksCollection !== undefined ? { tasksCollection: inUrl(ds.tasksCollection, user) } : {}),
  };
}

/** The template's mapping for one user: account = the user, placeholders filled in. */
export function instantiateTemplate(template: AccountMapping, user: string): AccountMapping {
  return {
    ...template,
    account: user,
    dav: {
      ...template.dav,
      url: inUrl(template.dav.url, user),
      ...(template.dav.username !== undefined ? { username: template.dav.username.replace(PLACEHOLDER, user) } : {}),
    },
    datastores: template.datastores.map((ds) => datastoreFor(ds, user)),
  };
}
