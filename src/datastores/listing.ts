// One answer of a collection listing (PROPFIND Depth 1, or a calendar-query), read response by
// response as it arrives (DavClient.eachItem): the collection's own entry and an ItemRef per member,
// nothing else of the answer kept. DavStore.list() puts the parts together.
import type { DAVResponse } from 'tsdav';
import type { ItemRef } from './datastore.js';
import { propText } from './dav-client.js';
import { canonicalHref } from './href.js';
import { isCollectionType } from './sync-collection.js';

/** What one listing answer says, read response by response: the collection's own entry and its members' ETags. */
export class ListingPart {
  self: DAVResponse | undefined;
  readonly items: ItemRef[] = [];
  readonly #collectionUrl: string;
  readonly #collectionPath: string;

  constructor(collectionUrl: string, collectionPath: string) {
    this.#collectionUrl = collectionUrl;
    this.#collectionPath = collectionPath;
  }

  readonly take = (r: DAVResponse): void => {
    if (!r.href) return;
    const href = canonicalHref(r.href, this.#collectionUrl);
    if (href === this.#collectionPath) {
      this.self ??= r;
      return;
    }
    if (!r.ok || isCollectionType(r.props)) return;
    const etag = propText(r.props?.getetag);
    // A copy: the parsed text is a slice of the chunk it came in, which it would keep alive.
    if (etag) this.items.push({ href, etag: ownCopy(etag) });
  };
}

/** A string that shares no memory with the (much larger) text it was cut from. */
function ownCopy(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}
