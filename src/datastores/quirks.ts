// Server quirks the DAV store works around, as switches a provider profile sets
// (config/providers/*.yaml), and the iCalendar touch-ups some servers need on update.

export interface DavQuirks {
  /**
   * Send `If-None-Match: *` on create (RFC 7232 §3.2). Google's CalDAV/CardDAV answer such a
   * PUT with 412 even for a free name, so the google profile turns it off.
   */
  ifNoneMatchOnCreate: boolean;
  /**
   * Ask for the ETag with a PROPFIND after every PUT, even when the response carried one.
   * sabre/dav (Nextcloud) rewrites some items on PUT and then sends no ETag, or one that
   * changes again on the next read; a fresh PROPFIND is the value later requests compare with.
   */
  refetchEtagAfterPut: boolean;
  /**
   * On update of an iCalendar item, raise SEQUENCE (RFC 5545 §3.8.7.4) above the stored
   * value: Google ignores (or answers 400 to) a changed event whose SEQUENCE did not grow.
   */
  bumpSequenceOnUpdate: boolean;
  /** On update of an iCalendar item, set DTSTAMP to now (Google keeps the newest DTSTAMP). */
  advanceDtstampOnUpdate: boolean;
}

export const DEFAULT_QUIRKS: DavQuirks = {
  ifNoneMatchOnCreate: true,
  refetchEtagAfterPut: false,
  bumpSequenceOnUpdate: false,
  advanceDtstampOnUpdate: false,
};

function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Apply the update touch-ups to an iCalendar text: in every VEVENT/VTODO/VJOURNAL, SEQUENCE
 * becomes max(own, previous) + 1 (added when absent) and DTSTAMP becomes `now`. Other text
 * (vCards, VTIMEZONE, VALARM) is left alone.
 */
export function touchICalendar(
  data: string,
  quirks: Pick<DavQuirks, 'bumpSequenceOnUpdate' | 'advanceDtstampOnUpdate'>,
  previousSequence = 0,
  now = new Date(),
): string {
  if (!quirks.bumpSequenceOnUpdate && !quirks.advanceDtstampOnUpdate) return data;
  if (!/^BEGIN:VCALENDAR/im.test(data)) return data;
  const eol = data.includes('\r\n') ? '\r\n' : '\n';
  // Lines stay folded as they are (RFC 5545 §3.1); only a replaced property's continuation
  // lines are dropped with it.
  const lines = data.split(/\r?\n/);
  let dropContinuation = false;
  const out: string[] = [];
  const stack: string[] = [];
  let sawSequence = false;
  const top = (): string | undefined => stack[stack.length - 1];
  const inItem = (): boolean => ['VEVENT', 'VTODO', 'VJOURNAL'].includes(top() ?? '');
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      if (!dropContinuation) out.push(line);
      continue;
    }
    dropContinuation = false;
    const begin = /^BEGIN:([\w-]+)/i.exec(line);
    const end = /^END:([\w-]+)/i.exec(line);
    if (begin) {
      stack.push(begin[1].toUpperCase());
      if (inItem()) sawSequence = false;
      out.push(line);
      continue;
    }
    if (end) {
      if (inItem() && quirks.bumpSequenceOnUpdate && !sawSequence) {
        out.push(`SEQUENCE:${previousSequence + 1}`);
      }
      stack.pop();
      out.push(line);
      continue;
    }
    if (inItem() && quirks.bumpSequenceOnUpdate && /^SEQUENCE[;:]/i.test(line)) {
      sawSequence = true;
      const own = Number(/:(\d+)\s*$/.exec(line)?.[1] ?? 0);
      out.push(`SEQUENCE:${Math.max(own, previousSequence) + 1}`);
      dropContinuation = true;
      continue;
    }
    if (inItem() && quirks.advanceDtstampOnUpdate && /^DTSTAMP[;:]/i.test(line)) {
      out.push(`DTSTAMP:${utcStamp(now)}`);
      dropContinuation = true;
      continue;
    }
    out.push(line);
  }
  return out.join(eol);
}

/** Highest SEQUENCE in an iCalendar text (0 when none). */
export function maxSequence(data: string): number {
  let max = 0;
  for (const m of data.replace(/\r?\n[ \t]/g, '').matchAll(/^SEQUENCE(?:;[^:\r\n]*)?:(\d+)/gim)) {
    max = Math.max(max, Number(m[1]));
  }
  return max;
}
