// A multistatus body read as it arrives (issue #15): the split into response elements, each
// read on its own by multistatus.ts (scanResponse, else fast-xml-parser), so that a listing of
// 10,000 members is never held whole. parseMultistatus is the same reader fed one whole body.
import type { DAVResponse } from 'tsdav';
import { multistatusOf, parseResponseXml, parseXml, scanResponse, toResponse } from './multistatus.js';

/** `<response` with any prefix, as an element start (not `<responsedescription`). */
const RESPONSE_START = /<(?:([A-Za-z_][\w.-]*):)?response(?=[\s/>])/g;
/** Markup inside which `<response>` and `</response>` are text, not tags. */
const OPAQUE_START = /<!\[CDATA\[|<!--/g;

const closeTags = new Map<string, RegExp>();
/** `</prefix:response>` (a few prefixes per process: compiled once each). */
function closeTagOf(prefix: string): RegExp {
  let re = closeTags.get(prefix);
  if (!re) {
    re = new RegExp(`</${prefix ? `${prefix}:` : ''}response\\s*>`, 'g');
    if (closeTags.size < 16) closeTags.set(prefix, re);
  }
  return re;
}

/** The first match of `re` in `text` from `from`, or undefined. */
function findFrom(re: RegExp, text: string, from: number): RegExpExecArray | undefined {
  re.lastIndex = from;
  return re.exec(text) ?? undefined;
}

/** How many leading characters of a body an error message may quote. */
const ERROR_HEAD_CHARS = 4096;

/**
 * Reads a multistatus body as it arrives, one response element at a time: each complete response
 * is parsed on its own (scanResponse, else fast-xml-parser) and handed to `onResponse`; only the
 * unfinished tail and the text outside responses are kept. Holding the whole body first cost a
 * 10,000-member listing its 3.3 MB three times over (the chunks, their concatenation, the string)
 * plus a parsed response per member before any was used (docs/performance.md). CDATA sections and
 * comments are stepped over, so a `</response>` inside them ends nothing.
 */
export class MultistatusReader {
  /** The multistatus element without its responses, filled in by end() (what sync-collection reads: the sync-token). */
  readonly raw: { multistatus: Record<string, unknown> } = { multistatus: {} };
  /** The first characters of the body, for an error message. */
  head = '';
  readonly #onResponse: (r: DAVResponse) => void;
  readonly #outer: { status: number; statusText: string };
  /** The text not yet consumed; cut down once per write. */
  #tail = '';
  /** Start of what is not consumed in #tail: the open response's start, else outside text not yet kept. */
  #from = 0;
  /** Where the scan goes on in #tail (everything between #from and #at is known). */
  #at = 0;
  /** The response being read: its close tag, and whether it holds CDATA or comments (parser path). */
  #open: { close: RegExp; opaque: boolean } | undefined;
  /** The next CDATA or comment start in #tail (-1: none before #opaqueClearTo), searched once per stretch. */
  #opaqueAt = -1;
  #opaqueIsComment = false;
  #opaqueClearTo = 0;
  /** The body outside the responses (the root element, a sync-token, whitespace). */
  #outside: string[] = [];
  #failed = false;

  constructor(outer: { status: number; statusText: string }, onResponse: (r: DAVResponse) => void) {
    this.#outer = outer;
    this.#onResponse = onResponse;
  }

  write(chunk: string): void {
    if (this.#failed || chunk === '') return;
    if (this.head.length < ERROR_HEAD_CHARS) this.head += chunk.slice(0, ERROR_HEAD_CHARS - this.head.length);
    this.#tail += chunk;
    this.#scan();
    if (this.#failed) return;
    // Drop what is consumed: scanned outside text is kept apart, an open response stays whole.
    const cut = this.#open ? this.#from : this.#at;
    if (!this.#open && cut > this.#from) this.#outside.push(this.#tail.slice(this.#from, cut));
    this.#tail = this.#tail.slice(cut);
    this.#from = 0;
    this.#at -= cut;
    if (this.#opaqueAt >= 0) this.#opaqueAt -= cut;
    this.#opaqueClearTo = Math.max(0, this.#opaqueClearTo - cut);
  }

  /** Characters held between writes: the unfinished tail and the text outside responses (tests). */
  get heldChars(): number {
    return this.#tail.length + this.#outside.reduce((n, t) => n + t.length, 0);
  }

  /** The end of the body: undefined when it was not a multistatus (the caller's error), else its responses' container. */
  end(): { multistatus: Record<string, unknown> } | undefined {
    if (this.#failed || this.#open) return undefined;
    this.#outside.push(this.#tail);
    this.#tail = '';
    const ms = multistatusOf(parseXml(this.#outside.join('')));
    this.#outside = [];
    if (!ms) return undefined;
    Object.assign(this.raw.multistatus, ms);
    return this.raw;
  }

  /** The next CDATA or comment start at or after `from` (which only moves forward), or -1. */
  #nextOpaque(from: number): number {
    if (this.#opaqueAt >= from) return this.#opaqueAt;
    const found = findFrom(OPAQUE_START, this.#tail, Math.max(from, this.#opaqueClearTo));
    this.#opaqueAt = found ? found.index : -1;
    this.#opaqueIsComment = found?.[0] === '<!--';
    // A start cut by the end of the text may complete with the next chunk.
    this.#opaqueClearTo = found ? found.index : Math.max(from, this.#tail.length - 8);
    return this.#opaqueAt;
  }

  /** Moves #at past the CDATA section or comment at #opaqueAt; false while its end has not arrived (the scan waits at its start). */
  #stepOverOpaque(): boolean {
    const end = this.#tail.indexOf(this.#opaqueIsComment ? '-->' : ']]>', this.#opaqueAt + 4);
    this.#at = end < 0 ? this.#opaqueAt : end + 3;
    return end >= 0;
  }

  #scan(): void {
    const tail = this.#tail;
    for (;;) {
      if (this.#open) {
        // Inside a response: its close tag, stepping over CDATA and comments.
        const close = findFrom(this.#open.close, tail, this.#at);
        const opaque = this.#nextOpaque(this.#at);
        if (opaque >= 0 && (!close || opaque < close.index)) {
          this.#open.opaque = true;
          if (!this.#stepOverOpaque()) return;
          continue;
        }
        if (!close) {
          // A close tag cut by the chunk's end starts at the last `<`.
          this.#at = Math.max(this.#at, tail.lastIndexOf('<'));
          return;
        }
        const end = close.index + close[0].length;
        const span = tail.slice(this.#from, end);
        const r = this.#open.opaque ? parseResponseXml(span) : scanResponse(span) ?? parseResponseXml(span);
        if (!r) return this.#fail();
        this.#open = undefined;
        this.#from = this.#at = end;
        this.#onResponse(toResponse(r, this.raw, this.#outer));
        continue;
      }
      // Outside: the next response start, stepping over CDATA and comments (outside text).
      const start = findFrom(RESPONSE_START, tail, this.#at);
      const opaque = this.#nextOpaque(this.#at);
      if (opaque >= 0 && (!start || opaque < start.index)) {
        if (!this.#stepOverOpaque()) return;
        continue;
      }
      if (!start) {
        // A start tag cut by the chunk's end begins at the last `<`.
        this.#at = Math.max(this.#at, tail.lastIndexOf('<'));
        return;
      }
      const gt = tail.indexOf('>', start.index);
      if (gt < 0) {
        this.#at = start.index;
        return;
      }
      if (start.index > this.#from) this.#outside.push(tail.slice(this.#from, start.index));
      if (tail[gt - 1] === '/') {
        // `<response/>`: a response with nothing in it.
        this.#from = this.#at = gt + 1;
        this.#onResponse(toResponse({}, this.raw, this.#outer));
        continue;
      }
      this.#open = { close: closeTagOf(start[1] ?? ''), opaque: false };
      this.#from = start.index;
      this.#at = gt + 1;
    }
  }

  #fail(): void {
    this.#failed = true;
    this.#tail = '';
    this.#outside = [];
  }
}

/**
 * The responses of a multistatus body, or undefined when the text is not one (the caller turns
 * that into an error). `outer` is the HTTP status of the whole answer (207). `raw` of every entry
 * is the multistatus element without its responses (what sync-collection reads: the sync-token).
 */
export function parseMultistatus(text: string, outer: { status: number; statusText: string }): DAVResponse[] | undefined {
  const responses: DAVResponse[] = [];
  const reader = new MultistatusReader(outer, (r) => responses.push(r));
  reader.write(text);
  const raw = reader.end();
  if (!raw) return undefined;
  if (!responses.length) return [{ raw, status: outer.status, statusText: outer.statusText, ok: outer.status >= 200 && outer.status < 300 }];
  return responses;
}
