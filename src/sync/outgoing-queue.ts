// The queue of server changes waiting to go to the device, kept out of the session where it is
// long. The session state is serialised and saved with every SyncML message, so a queue held
// whole in it (a refresh of 4000 items: 300 KB) is re-written with every message. Here at most
// INLINE_MAX changes stay inline (`DatastoreSessionState.outgoing`); the rest goes, once, into
// pages stored as session entries of their own (`StateStore.putSession`, keys
// `queue:<sessionKey>:<datastore>:<pageNo>`), read back one at a time as the inline part runs
// out. Pages are never rewritten: a message that fails after reading one leaves the saved
// session pointing at it still, and a resumed session (Alert 225) keeps the pages of the session
// it continues. Requeued changes go back inline, at the head. A session saved before paging (the
// whole queue inline, no `outgoingPages`) runs as it is. A page that is gone when needed (it
// outlived its TTL) is GatewayError STATE_EXPIRED: the protocol fails that datastore (508).
import { GatewayError } from '../errors.js';
import type { StateStore } from '../state/state-store.js';
import type { DatastoreSessionState, OutgoingChange } from './types.js';

/** Changes a fresh queue keeps inline in the session; the rest is paged out. */
export const INLINE_MAX = 200;
/** Changes per stored page. */
export const PAGE_SIZE = 200;
/** Pages outlive the session that wrote them by this much (a resumed session still reads them). */
export const PAGE_TTL_MARGIN_SECONDS = 6 * 3600;

/** Where a queue's pages go: the session they belong to and how long they are kept. */
export interface QueuePaging {
  sessionKey: string;
  ttlSeconds: number;
}

/** Page TTL for the given session and resume TTLs: the longer of both, plus PAGE_TTL_MARGIN_SECONDS. */
export function pageTtlSeconds(sessionTtlSeconds: number, resumeTtlSeconds = 0): number {
  return Math.max(sessionTtlSeconds, resumeTtlSeconds) + PAGE_TTL_MARGIN_SECONDS;
}

/** Changes still to send: inline and in pages not read yet. */
export function queuedCount(s: DatastoreSessionState): number {
  return s.outgoing.length + (s.outgoingPages?.count ?? 0);
}

const pageKey = (prefix: string, n: number): string => `${prefix}:${n}`;

export class OutgoingQueue {
  readonly #state: StateStore;
  readonly #paging: QueuePaging | undefined;

  /** Without `paging` every queue stays inline (as before paging). */
  constructor(state: StateStore, paging?: QueuePaging) {
    this.#state = state;
    this.#paging = paging;
  }

  /** Make `changes` the datastore's queue: the first INLINE_MAX inline, the rest written to pages. */
  async fill(s: DatastoreSessionState, changes: OutgoingChange[]): Promise<void> {
    delete s.outgoingPages;
    const paging = this.#paging;
    if (!paging || changes.length <= INLINE_MAX) {
      s.outgoing = changes;
      return;
    }
    const prefix = `queue:${paging.sessionKey}:${s.name}`;
    const writes: Array<Promise<void>> = [];
    let last = 0;
    for (let i = INLINE_MAX; i < changes.length; i += PAGE_SIZE) {
      writes.push(this.#state.putSession(pageKey(prefix, ++last), changes.slice(i, i + PAGE_SIZE), paging.ttlSeconds));
    }
    await Promise.all(writes);
    s.outgoing = changes.slice(0, INLINE_MAX);
    s.outgoingPages = { prefix, next: 1, last, count: changes.length - INLINE_MAX };
  }

  /** Take up to `max` changes off the head, reading pages when the inline part runs short. */
  async take(s: DatastoreSessionState, max: number): Promise<OutgoingChange[]> {
    const pages = s.outgoingPages;
    while (pages && s.outgoing.length < max && pages.next <= pages.last) {
      const key = pageKey(pages.prefix, pages.next);
      const page = await this.#state.getSession<OutgoingChange[]>(key);
      if (!Array.isArray(page)) {
        throw new GatewayError('STATE_EXPIRED', `queued server changes of datastore ${s.name} are gone (page ${pages.next} of ${pages.last} expired)`, {
          details: { datastore: s.name, page: String(pages.next) },
        });
      }
      s.outgoing.push(...page);
      pages.next++;
      pages.count = Math.max(0, pages.count - page.length);
    }
    return s.outgoing.splice(0, max);
  }

  /** Put changes back at the head of the queue (they did not fit into the message). */
  requeue(s: DatastoreSessionState, changes: OutgoingChange[]): void {
    s.outgoing.unshift(...changes);
  }
}

/** Forget what is still queued (a failed datastore); the pages stay known for `discardOutgoingPages`. */
export function dropQueued(s: DatastoreSessionState): void {
  s.outgoing = [];
  if (s.outgoingPages) Object.assign(s.outgoingPages, { next: s.outgoingPages.last + 1, count: 0 });
}

/**
 * Delete the pages a datastore's queue wrote (read or not) and forget them; for a session that
 * ended. Pages already gone are no error; the store expires any left over anyway.
 */
export async function discardOutgoingPages(state: StateStore, s: DatastoreSessionState): Promise<void> {
  const pages = s.outgoingPages;
  if (!pages) return;
  const keys = Array.from({ length: pages.last }, (_, i) => pageKey(pages.prefix, i + 1));
  await Promise.all(keys.map((k) => state.deleteSession(k)));
  delete s.outgoingPages;
}
