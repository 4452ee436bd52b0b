// UTF-8 byte arithmetic for MaxMsgSize/MaxObjSize and chunking: sizes on the wire are bytes.
const utf8 = new TextEncoder();

/** UTF-8 bytes of `s` (a lone surrogate counts as U+FFFD, 3 bytes), without encoding it. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Up to `maxBytes` UTF-8 bytes of `s` starting at byte `offset`, never splitting a character. */
export function utf8Slice(s: string, offset: number, maxBytes: number): { text: string; bytes: number } {
  const all = utf8.encode(s);
  let end = Math.min(all.length, offset + maxBytes);
  while (end < all.length && end > offset && (all[end]! & 0xc0) === 0x80) end--;
  return { text: new TextDecoder().decode(all.subarray(offset, end)), bytes: end - offset };
}
