// Byte-level reading for the WBXML decoder: a bounds-checked cursor over the input, the string
// terminator search for 1- and 2-byte charsets, and skipping an attribute list. Kept apart from
// decode.ts, which builds the element tree; every read here ends in GatewayError('BAD_MESSAGE')
// on truncated or malformed input.

import { GatewayError } from '../../errors.js';
import { T } from './code-pages.js';

export function bad(reason: string): never {
  throw new GatewayError('BAD_MESSAGE', `WBXML: ${reason}`);
}

export const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/** Position of the string terminator at or after `from` in `buf`, or -1. */
export function findTerminator(buf: Uint8Array, from: number, nulWidth: number): number {
  if (nulWidth === 1) return buf.indexOf(0, from);
  for (let i = from; i + 1 < buf.length; i += 2) if (buf[i] === 0 && buf[i + 1] === 0) return i;
  return -1;
}

/** A position in the input; `pos` is public so the decoder's hot loop can read bytes directly. */
export class WbxmlCursor {
  readonly buf: Uint8Array;
  readonly len: number;
  pos = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.len = buf.length;
  }

  peek(): number {
    if (this.pos >= this.len) bad('truncated input');
    return this.buf[this.pos];
  }

  byte(): number {
    if (this.pos >= this.len) bad('truncated input');
    return this.buf[this.pos++];
  }

  /** mb_u_int32: at most 5 bytes, value must fit in 32 bits. */
  mb(): number {
    let v = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      v = v * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) {
        if (v > 0xffffffff) bad('mb_u_int32 overflow');
        return v;
      }
    }
    return bad('mb_u_int32 longer than 5 bytes');
  }

  /** Attribute lists are never used by SyncML; skip one cleanly up to its END. */
  skipAttributes(nulWidth: number): void {
    for (;;) {
      const b = this.byte();
      switch (b) {
        case T.END:
          return;
        case T.SWITCH_PAGE:
          this.byte();
          break;
        case T.STR_I:
        case T.EXT_I_0:
        case T.EXT_I_0 + 1:
        case T.EXT_I_2: {
          const end = findTerminator(this.buf, this.pos, nulWidth);
          if (end < 0) bad('unterminated inline string in attributes');
          this.pos = end + nulWidth;
          break;
        }
        case T.STR_T:
        case T.ENTITY:
        case T.LITERAL:
        case T.EXT_T_0:
        case T.EXT_T_0 + 1:
        case T.EXT_T_2:
          this.mb();
          break;
        case T.OPAQUE: {
          const n = this.mb();
          if (n > this.len - this.pos) bad(`OPAQUE length ${n} past end of input`);
          this.pos += n;
          break;
        }
        default: // attribute start / value token, or EXT_0..2: single byte
      }
    }
  }
}
