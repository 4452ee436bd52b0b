// The sets a session keeps per datastore (touched, claimed, seenLuids) and the slow sync's match
// index grow with the collection: a slow sync of 10,000 items held ~30,000 hrefs and LUIDs in the
// session state, which is parsed and rewritten with every SyncML message (~1.3 MB each time).
// Here they live beside the session, in the StateStore's session fields (one hash per set), and
// the session's arrays only hold what was added since the session was last saved.
//
// When: the first use in a message (`settle`) moves what the *saved* session holds inline into
// the stored hashes, then drops it inline. A message that fails leaves its saved session with
// those members still inline, and the next try moves them again (adding a member twice is
// harmless). So the stored sets only ever hold what a saved session held: a claim made by a
// message that failed goes with it, as it did when everything was inline.
// Small sets stay inline (a two-way sync of a few changes writes nothing here); a slow sync's
// match index, and sets past INLINE_MAX_MEMBERS, move out, and from then on every message
// refreshes the hashes' TTL. Each hash holds a marker field: a hash gone before the session ended
// (evicted, or a resume after its TTL) is GatewayError STATE_EXPIRED, never an empty set that
// would pair nothing and duplicate every item.
// Without `paging` (or in a session saved by an older version, with everything inline) nothing
// is stored and the arrays are the whole sets, as before.
import { GatewayError } from '../errors.js';
import type { StateStore } from '../state/state-store.js';
import type { QueuePaging } from './outgoing-queue.js';
import type { DatastoreSessionState } from './types.js';

export type SetName = 'touched' | 'claimed' | 'seenLuids';
const SET_NAMES: readonly SetName[] = ['touched', 'claimed', 'seenLuids'];

/** Members a session keeps inline before its sets move out. */
export const INLINE_MAX_MEMBERS = 256;
/** Members per state write and per scan page. */
const WRITE_CHUNK = 1000;
/** The marker field of every stored hash (no href, LUID or fingerprint looks like it). */
export const PRESENT = '#session-sets#';

const hashKey = (prefix: string, name: SetName | 'match'): string => `${prefix}:${name}`;

export class SessionSets {
  readonly #state: StateStore;
  readonly #paging: QueuePaging | undefined;
  readonly #settled = new WeakMap<DatastoreSessionState, Promise<void>>();

  constructor(state: StateStore, paging: QueuePaging | undefined) {
    this.#state = state;
    this.#paging = paging;
  }

  /** Whether the sets (and the match index) can be kept beside the session. */
  get stored(): boolean {
    return this.#paging !== undefined;
  }

  /** Move what the saved session holds inline into the stored sets when due; once per message. */
  settle(s: DatastoreSessionState): Promise<void> {
    if (!this.#paging) return Promise.resolve();
    let settling = this.#settled.get(s);
    if (!settling) {
      settling = this.#moveInline(s, false);
      this.#settled.set(s, settling);
    }
    return settling;
  }

  async #moveInline(s: DatastoreSessionState, force: boolean): Promise<void> {
    const inline = SET_NAMES.reduce((n, name) => n + s[name].length, 0);
    if (!s.sideSets && !force && inline < INLINE_MAX_MEMBERS) return;
    const side = (s.sideSets ??= { prefix: `sets:${this.#paging!.sessionKey}:${s.name}` });
    const moved = SET_NAMES.map((name) => ({ name, arr: s[name], n: s[name].length }));
    // Every set gets a write (its marker at least), which also renews its TTL.
    const writes = moved.map((m) => this.#put(hashKey(side.prefix, m.name), [[PRESENT, ''], ...m.arr.slice(0, m.n).map((v) => [v, ''] as const)]));
    if (side.matchIndexBuilt) writes.push(this.#put(hashKey(side.prefix, 'match'), [[PRESENT, '']]));
    await Promise.all(writes);
    // Items applied concurrently may have added members meanwhile: keep those inline. A new
    // array, not a splice: the claimed Set cached per array (slow-sync-match.ts) stays valid.
    for (const m of moved) if (m.n > 0 && s[m.name] === m.arr) s[m.name] = m.arr.slice(m.n);
  }

  async #put(key: string, fields: ReadonlyArray<readonly [string, string]>): Promise<void> {
    for (let i = 0; i < fields.length; i += WRITE_CHUNK) await this.#state.putSessionFields(key, fields.slice(i, i + WRITE_CHUNK), this.#paging!.ttlSeconds);
  }

  #expired(s: DatastoreSessionState, name: string): GatewayError {
    return new GatewayError('STATE_EXPIRED', `the session's ${name} set of datastore ${s.name} is gone (expired or evicted)`, { details: { datastore: s.name, set: name } });
  }

  /** Which of `members` the stored part of a set holds (call `settle` first). */
  async storedMembers(s: DatastoreSessionState, name: SetName, members: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (!s.sideSets || members.length === 0) return found;
    const values = await this.#state.getSessionFields(hashKey(s.sideSets.prefix, name), [PRESENT, ...members]);
    if (values[0] === undefined) throw this.#expired(s, name);
    values.forEach((v, i) => i > 0 && v !== undefined && found.add(members[i - 1]!));
    return found;
  }

  /** A whole set: the stored part and what is inline. For the one pass at the end of a package. */
  async all(s: DatastoreSessionState, name: SetName): Promise<Set<string>> {
    await this.settle(s);
    const out = new Set<string>();
    if (s.sideSets) {
      for await (const page of this.#state.scanSessionFields(hashKey(s.sideSets.prefix, name), WRITE_CHUNK)) for (const [member] of page) out.add(member);
      if (!out.delete(PRESENT)) throw this.#expired(s, name);
    }
    for (const member of s[name]) out.add(member);
    return out;
  }

  // The match index (slow-sync-match.ts): fingerprint -> hrefs of the server items that had it
  // when the slow sync began; built once per session, read per device item.

  /** Keep a freshly built match index beside the session. */
  async putMatchIndex(s: DatastoreSessionState, index: Record<string, string[]>): Promise<void> {
    await this.settle(s);
    if (!s.sideSets) await this.#moveInline(s, true); // the index holds every server item: it goes out however small the sets are
    const side = s.sideSets!;
    const entries = Object.entries(index);
    await this.#put(hashKey(side.prefix, 'match'), [[PRESENT, ''], ...entries.map(([fp, hrefs]) => [fp, JSON.stringify(hrefs)] as const)]);
    side.matchIndexBuilt = true;
    // An empty server (a new phone's first sync) has nothing to match: no read per device item.
    if (entries.length === 0) side.matchIndexEmpty = true;
  }

  /** The stored index's hrefs for each fingerprint (empty where it has none). */
  async matchCandidates(s: DatastoreSessionState, fingerprints: readonly string[]): Promise<string[][]> {
    if (!s.sideSets?.matchIndexBuilt || s.sideSets.matchIndexEmpty || fingerprints.length === 0) return fingerprints.map(() => []);
    const values = await this.#state.getSessionFields(hashKey(s.sideSets.prefix, 'match'), [PRESENT, ...fingerprints]);
    if (values[0] === undefined) throw this.#expired(s, 'match');
    return values.slice(1).map((v) => (v === undefined ? [] : (JSON.parse(v) as string[])));
  }

  /** Forget the stored sets of a session that ended (they expire anyway). */
  static async discard(state: StateStore, s: DatastoreSessionState): Promise<void> {
    const side = s.sideSets;
    if (!side) return;
    await Promise.all([...SET_NAMES, 'match' as const].map((name) => state.deleteSessionFields(hashKey(side.prefix, name))));
    delete s.sideSets;
  }
}
