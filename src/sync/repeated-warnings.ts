// Conversion warnings of one batch of device items (a Sync command), each distinct text logged
// once. A phone whose address book has the same property the server cannot store as it is (e.g.
// `X-MESSAGING/AIM-ALL` on every card) would otherwise write the same line for every item: eight
// such properties on 1,000 contacts are 8,000 log lines in one slow sync, each costing CPU
// (~11 µs even in a tight loop), and burying the lines an operator is looking for.

/** How many LUIDs of the repeated items a summary names. */
const SAMPLE_LUIDS = 5;
/** Distinct texts followed per batch; beyond this every warning is logged as it comes. */
const MAX_DISTINCT = 100;

export interface RepeatedWarning {
  message: string;
  /** Occurrences after the first, which was logged when it happened. */
  repeats: number;
  /** The first few items that repeated it. */
  luids: string[];
}

export class RepeatedWarnings {
  readonly #seen = new Map<string, { repeats: number; luids: string[] }>();

  /** Whether `message` should be logged now: the first time in this batch (or the map is full). */
  first(message: string, luid: string): boolean {
    const seen = this.#seen.get(message);
    if (!seen) {
      if (this.#seen.size < MAX_DISTINCT) this.#seen.set(message, { repeats: 0, luids: [] });
      return true;
    }
    seen.repeats++;
    if (seen.luids.length < SAMPLE_LUIDS) seen.luids.push(luid);
    return false;
  }

  /** The warnings that came again after their first line; the batch starts over. */
  drain(): RepeatedWarning[] {
    const out: RepeatedWarning[] = [];
    for (const [message, seen] of this.#seen) if (seen.repeats > 0) out.push({ message, ...seen });
    this.#seen.clear();
    return out;
  }
}
