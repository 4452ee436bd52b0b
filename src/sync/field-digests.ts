// Per-field digests (`MapEntry.fields`): `NAME=digest;NAME=digest`, one digest per property name.
// Translators produce them; the sync engine compares them to find the fields a device sent back
// as it had them (not edited there), which a three-way conflict merge leaves to the server.

export function encodeDigests(d: ReadonlyMap<string, string>): string {
  return [...d].map(([n, h]) => `${n}=${h}`).sort().join(';');
}

export function decodeDigests(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of s.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i), part.slice(i + 1));
  }
  return out;
}

/** Names whose digest is the same in `base` (what the device had) and `now` (what it sent). */
export function unchangedFields(base: string, now: string): string[] {
  const before = decodeDigests(base);
  return [...decodeDigests(now)].filter(([name, digest]) => before.get(name) === digest).map(([name]) => name);
}
