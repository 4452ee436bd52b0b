// Slow-sync matching: pairs a device item the server has no map entry for with an unpaired
// server item that is "the same" (same fingerprint: name + phone/e-mail ...).
import type { DataStore } from '../datastores/datastore.js';
import type { DatastoreSessionState, ItemTranslator, MatchRule } from './types.js';
import { fingerprintKind } from './types.js';
import { FETCH_BATCH } from './item-helpers.js';
import type { SessionSets } from './session-sets.js';

export class SlowSyncMatcher {
  readonly #store: DataStore;
  readonly #tr: ItemTranslator;
  readonly #sets: SessionSets;
  /** Slow-sync matching rules; undefined = every fingerprint the translator gives. */
  readonly #rules: readonly MatchRule[] | undefined;
  #matchIndexLoad: Promise<Record<string, string[]>> | undefined;
  /** The index as built in this message (later messages read it from the stored sets). */
  #built: Record<string, string[]> | undefined;

  constructor(store: DataStore, translator: ItemTranslator, rules: readonly MatchRule[] | undefined, sets: SessionSets) {
    this.#store = store;
    this.#tr = translator;
    this.#rules = rules;
    this.#sets = sets;
  }

  #fingerprints(data: string): string[] {
    const all = safeFingerprints(this.#tr, data);
    const rules = this.#rules;
    return rules ? all.filter((fp) => rules.includes(fingerprintKind(fp))) : all;
  }

  /** Slow sync: find an unpaired server item that is "the same" as the device's. */
  async findMatch(s: DatastoreSessionState, serverData: string): Promise<string | undefined> {
    await this.#sets.settle(s);
    const fingerprints = this.#fingerprints(serverData);
    if (!fingerprints.length) return undefined;
    const candidates = await this.#candidates(s, fingerprints);
    const storedClaims = await this.#sets.storedMembers(s, 'claimed', [...new Set(candidates.flat())]);
    const claimed = claimedSet(s.claimed);
    for (const hrefs of candidates) {
      const hit = hrefs.find((href) => !claimed.has(href) && !storedClaims.has(href));
      if (hit) {
        // Claimed here, with no await since the check: an item applied concurrently must not pair with it too.
        s.claimed.push(hit);
        return hit;
      }
    }
    return undefined;
  }

  /** For each fingerprint, the server items that had it when the slow sync began. */
  async #candidates(s: DatastoreSessionState, fingerprints: readonly string[]): Promise<string[][]> {
    const inline = s.matchIndex ?? this.#built;
    if (inline) return fingerprints.map((fp) => inline[fp] ?? []);
    if (s.sideSets?.matchIndexBuilt) return this.#sets.matchCandidates(s, fingerprints);
    // One build however many items ask at once (items of a message may be applied concurrently).
    this.#matchIndexLoad ??= this.#buildMatchIndex(s).finally(() => (this.#matchIndexLoad = undefined));
    const index = await this.#matchIndexLoad;
    return fingerprints.map((fp) => index[fp] ?? []);
  }

  async #buildMatchIndex(s: DatastoreSessionState): Promise<Record<string, string[]>> {
    const listing = await this.#store.list();
    const index: Record<string, string[]> = {};
    for (let i = 0; i < listing.items.length; i += FETCH_BATCH) {
      const batch = await this.#store.fetch(listing.items.slice(i, i + FETCH_BATCH).map((it) => it.href));
      for (const item of batch) for (const fp of this.#fingerprints(item.data)) (index[fp] ??= []).push(item.href);
    }
    // Kept beside the session when it can be (it holds every server item's href), else inline.
    if (this.#sets.stored) await this.#sets.putMatchIndex(s, index);
    else s.matchIndex = index;
    this.#built = index;
    return index;
  }
}

/**
 * `s.claimed` as a Set, kept up to date incrementally: the array only grows during a session, and
 * building a new Set per device item made a slow sync quadratic (1000 items: 500k insertions).
 * Keyed by the array itself, so a replaced array (planRefreshDeletions) gets its own Set.
 */
const claimedSets = new WeakMap<string[], { set: Set<string>; size: number }>();
function claimedSet(claimed: string[]): Set<string> {
  let c = claimedSets.get(claimed);
  if (!c || c.size > claimed.length) {
    c = { set: new Set(), size: 0 };
    claimedSets.set(claimed, c);
  }
  for (; c.size < claimed.length; c.size++) c.set.add(claimed[c.size]!);
  return c.set;
}

function safeFingerprints(tr: ItemTranslator, data: string): string[] {
  try {
    return tr.fingerprints(data);
  } catch {
    return [];
  }
}
