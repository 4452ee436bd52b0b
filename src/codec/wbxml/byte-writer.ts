// Growable byte buffer for the WBXML encoder: single bytes, mb_u_int32, UTF-8 text.

const utf8 = new TextEncoder();

export class ByteWriter {
  #buf: Uint8Array;
  #len = 0;

  constructor(capacity = 4096) {
    this.#buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.#len;
  }

  #ensure(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** WBXML mb_u_int32: big-endian 7-bit groups, continuation bit 0x80 on all but the last. */
  mbUint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`mb_u_int32 out of range: ${v}`);
    const groups: number[] = [v % 128];
    v = Math.floor(v / 128);
    while (v > 0) {
      groups.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    for (let i = groups.length - 1; i >= 0; i--) this.byte(groups[i]);
  }

  /** UTF-8 bytes of `s` (no terminator). */
  utf8(s: string): void {
    // A UTF-16 code unit becomes at most 3 UTF-8 bytes.
    this.#ensure(s.length * 3);
    if (s.length <= 32) {
      // Short ASCII tokens dominate SyncML; encodeInto's call overhead outweighs a loop.
      const buf = this.#buf;
      let n = this.#len;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[n++] = c;
      }
      if (i === s.length) {
        this.#len = n;
        return;
      }
    }
    const { written } = utf8.encodeInto(s, this.#buf.subarray(this.#len));
    this.#len += written;
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
