// Physical lines of versit text: line ends (CR, LF, CR* LF), fold lines, blank lines and the
// BEGIN/END words. Tested by character code because the parser asks for every line: a regexp
// test or a trim() on each of the ~450 lines of a photo allocated (qpIndentFolds alone ~50 KB per
// parse of a photo card), paid for in GC.

/** `/^WORD/i.test(line)` for an upper-case ASCII `word` (non-ASCII letters never match, as in /i). */
export function startsWithWord(line: string, word: string): boolean {
  if (line.length < word.length) return false;
  for (let k = 0; k < word.length; k++) {
    let c = line.charCodeAt(k);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c !== word.charCodeAt(k)) return false;
  }
  return true;
}

/** `/^(END|BEGIN):/i.test(line)`. */
export function isBeginOrEnd(line: string): boolean {
  return startsWithWord(line, 'END:') || startsWithWord(line, 'BEGIN:');
}

/** `s.trim() === ''`: only white space and line terminators, as String#trim counts them. */
export function isBlank(s: string): boolean {
  for (let k = 0; k < s.length; k++) if (!isTrimSpace(s.charCodeAt(k))) return false;
  return true;
}

function isTrimSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

export function isFoldLine(line: string): boolean {
  const c = line.charCodeAt(0);
  return c === 0x20 || c === 0x09;
}

/**
 * `text.split(/\r*\n|\r/)`: CR* LF is one line end, so is a CR not followed by CRs and LF.
 * By hand, because V8's regexp split costs several times this on the per-item path.
 */
export function splitLines(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let start = 0;
  // indexOf jumps from line end to line end: a photo's 30 KB are not read a character at a time.
  let lf = text.indexOf('\n');
  let cr = text.indexOf('\r');
  while (lf >= 0 || cr >= 0) {
    if (cr < 0 || (lf >= 0 && lf < cr)) {
      out.push(text.slice(start, lf));
      start = lf + 1;
      lf = text.indexOf('\n', start);
      continue;
    }
    let end = cr + 1;
    while (end < n && text.charCodeAt(end) === 0x0d) end++;
    out.push(text.slice(start, cr));
    if (end < n && text.charCodeAt(end) === 0x0a) {
      start = end + 1;
      lf = text.indexOf('\n', start);
    } else {
      start = cr + 1;
    }
    cr = text.indexOf('\r', start);
  }
  out.push(text.slice(start));
  return out;
}
