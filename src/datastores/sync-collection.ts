// RFC 6578 sync-collection for the DAV store: the REPORT body, reading one answer (the next
// token, "truncated" 507), folding the pages into one change set, and the server's ways of
// saying "this token is no good" or "no sync-collection here" as typed errors.
import type { DAVResponse } from 'tsdav';
import { GatewayError, isGatewayError } from '../errors.js';
import type { ChangeSet, ItemRef } from './datastore.js';
import { propText } from './dav-client.js';
import { NS } from './dav-dialect.js';
import { DavHttpError } from './dav-errors.js';
import { canonicalHref } from './href.js';

/** The server refused the sync-token (RFC 6578 §3.2 DAV:valid-sync-token): list() again. */
export class SyncTokenInvalidError extends GatewayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REFRESH_REQUIRED', message, options);
    this.name = 'SyncTokenInvalidError';
  }
}

export function isCollectionType(props: DAVResponse['props']): boolean {
  const rt: unknown = props?.resourcetype;
  return !!rt && typeof rt === 'object' && 'collection' in rt;
}

/** The REPORT body; an empty token is the initial sync and still needs the element (§3.4). */
export function syncCollectionBody(token: string): Record<string, unknown> {
  return {
    'd:sync-collection': {
      _attributes: NS,
      'd:sync-token': token ? { _text: token } : {},
      'd:sync-level': { _text: '1' },
      'd:prop': { 'd:getetag': {}, 'd:getcontenttype': {} },
    },
  };
}

/** One sync-collection answer: its member responses, the next token, and whether more follow. */
export function readSyncCollection(
  res: DAVResponse[],
  collectionUrl: string,
  collectionPath: string,
): { responses: DAVResponse[]; nextToken: string; truncated: boolean } {
  const raw: unknown = res[0]?.raw;
  const ms = raw && typeof raw === 'object' && 'multistatus' in raw ? (raw.multistatus as Record<string, unknown>) : undefined;
  const nextToken = propText(ms?.syncToken);
  if (nextToken === undefined) {
    throw new GatewayError('NOT_SUPPORTED', `DAV REPORT ${collectionUrl}: sync-collection answer has no sync-token`);
  }
  // RFC 6578 §3.6: a 507 response for the collection itself means "more to come".
  const truncated = res.some((r) => r.href && canonicalHref(r.href, collectionUrl) === collectionPath && r.status === 507);
  return { responses: res.filter((r) => r.href), nextToken, truncated };
}

/**
 * The pages of one changesSince() folded together: a later page wins, so an item changed and
 * then deleted is deleted, and one deleted and then re-created is changed.
 */
export class SyncChanges {
  readonly #changed = new Map<string, ItemRef>();
  readonly #deleted = new Set<string>();

  constructor(
    private readonly collectionUrl: string,
    private readonly collectionPath: string,
    /** True for a content type of another component (a VTODO seen by an events store). */
    private readonly otherComponent: (contentType: string | undefined) => boolean,
  ) {}

  add(responses: DAVResponse[]): void {
    for (const r of responses) {
      if (!r.href) continue;
      const href = canonicalHref(r.href, this.collectionUrl);
      if (href === this.collectionPath) continue;
      if (r.status === 404 || r.status === 410) {
        this.#changed.delete(href);
        this.#deleted.add(href);
        continue;
      }
      const etag = propText(r.props?.getetag);
      if (!r.ok || etag === undefined || isCollectionType(r.props)) continue;
      if (this.otherComponent(propText(r.props?.getcontenttype))) continue;
      this.#deleted.delete(href);
      this.#changed.set(href, { href, etag });
    }
  }

  result(syncToken: string): ChangeSet {
    return { changed: [...this.#changed.values()], deleted: [...this.#deleted], syncToken };
  }
}

/** A failed sync-collection REPORT as the error the caller acts on. */
export function syncCollectionError(err: unknown, token: string, collectionUrl: string): unknown {
  if (!isGatewayError(err) || !(err.cause instanceof DavHttpError)) return err;
  const { status, preconditions } = err.cause;
  // RFC 6578 §3.2: DAV:valid-sync-token; some servers just answer 400/409/412 instead.
  if (preconditions.includes('valid-sync-token') || (token !== '' && [400, 409, 412].includes(status))) {
    return new SyncTokenInvalidError(`sync-token rejected by ${collectionUrl}`, { cause: err });
  }
  // Xandikos 0.2.8 answers an unknown sync-token with a bare 500; if the server is really
  // down, the caller's fallback list() reports that as BACKEND_UNAVAILABLE.
  if (token !== '' && status === 500) {
    return new SyncTokenInvalidError(`sync-token rejected by ${collectionUrl} (500)`, { cause: err });
  }
  if (status === 405 || status === 501 || preconditions.includes('supported-report')) {
    return new GatewayError('NOT_SUPPORTED', `sync-collection not supported by ${collectionUrl}`, { cause: err });
  }
  return err;
}
