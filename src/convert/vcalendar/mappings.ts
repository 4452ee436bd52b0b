// Enumerated-value mappings between vCalendar 1.0 and iCalendar 2.0: STATUS, PRIORITY, TRANSP,
// CLASS, ATTENDEE roles/status (spec/pim-formats.md §6).

export type CalKind = 'VEVENT' | 'VTODO';

function normStatus(v: string): string {
  return v.trim().toUpperCase().replace(/[\s_-]+/g, ' ');
}

/** vCal 1.0 STATUS -> iCal 2.0 STATUS (undefined = omit). Unknown values count as NEEDS ACTION. */
export function statusToIcal(v: string, kind: CalKind): string | undefined {
  const s = normStatus(v);
  if (kind === 'VEVENT') {
    switch (s) {
      case 'TENTATIVE':
        return 'TENTATIVE';
      case 'CONFIRMED':
      case 'ACCEPTED':
      case 'COMPLETED':
        return 'CONFIRMED';
      case 'DECLINED':
      case 'CANCELLED':
      case 'CANCELED':
        return 'CANCELLED';
      default:
        return undefined; // NEEDS ACTION, SENT, DELEGATED, IN PROCESS
    }
  }
  switch (s) {
    case 'ACCEPTED':
    case 'IN PROCESS':
      return 'IN-PROCESS';
    case 'COMPLETED':
      return 'COMPLETED';
    case 'DECLINED':
    case 'CANCELLED':
    case 'CANCELED':
      return 'CANCELLED';
    default:
      return 'NEEDS-ACTION';
  }
}

/** iCal 2.0 STATUS -> vCal 1.0 STATUS (spaces, not hyphens). */
export function statusToVcal(v: string, kind: CalKind): string | undefined {
  const s = v.trim().toUpperCase();
  if (kind === 'VEVENT') {
    switch (s) {
      case 'TENTATIVE':
        return 'TENTATIVE';
      case 'CONFIRMED':
        return 'CONFIRMED';
      case 'CANCELLED':
        return 'DECLINED';
      default:
        return undefined;
    }
  }
  switch (s) {
    case 'NEEDS-ACTION':
      return 'NEEDS ACTION';
    case 'IN-PROCESS':
      return 'ACCEPTED'; // 1.0 has no "in process"; ACCEPTED maps back to IN-PROCESS
    case 'COMPLETED':
      return 'COMPLETED';
    case 'CANCELLED':
      return 'DECLINED';
    default:
      return undefined;
  }
}

/**
 * The device's vCalendar PRIORITY scale: 1 is always the highest. Phones use 3 levels (high,
 * normal, low), Palm 5, Psion/Epoc and desktop PIMs 9 (the iCalendar scale itself). Each scale
 * maps onto iCalendar's 1-9 in order and back exactly: vCal -> iCal -> vCal returns the value.
 */
export type PriorityScale = 3 | 5 | 9;

const TO_ICAL: Record<PriorityScale, readonly number[]> = {
  3: [1, 5, 9],
  5: [1, 3, 5, 7, 9],
  9: [1, 2, 3, 4, 5, 6, 7, 8, 9],
};

/** The scale a device declares with its PRIORITY value list (CTCap ValEnum or device profile). */
export function priorityScaleOf(valEnum: readonly string[] | undefined): PriorityScale | undefined {
  const nums = (valEnum ?? []).map((v) => Number.parseInt(v, 10)).filter((n) => Number.isInteger(n) && n > 0);
  if (nums.length === 0) return undefined;
  const max = Math.max(...nums);
  return max <= 3 ? 3 : max <= 5 ? 5 : 9;
}

/**
 * vCal 1.0 PRIORITY -> iCal 2.0 on the device's scale (default 3, phones). 0 = undefined. A value
 * above the scale is the lowest priority of it (the order is kept; `warn` says so).
 */
export function priorityToIcal(v: string, scale: PriorityScale = 3, warn?: (m: string) => void): number | undefined {
  const n = Number.parseInt(v.trim(), 10);
  if (!Number.isInteger(n) || n < 0) return undefined;
  if (n === 0) return 0;
  const table = TO_ICAL[scale];
  if (n > table.length) {
    warn?.(`PRIORITY ${n} is above the device's 1-${table.length} scale (set its scale in a device profile), taken as ${table.length}`);
    return 9;
  }
  return table[n - 1];
}

/**
 * iCal 2.0 PRIORITY -> vCal 1.0 on the device's scale, 0 -> omit. Scale 3 uses RFC 5545's bands
 * (1-4 high, 5 medium, 6-9 low); the others the nearest level (ties to the higher priority).
 */
export function priorityToVcal(n: number, scale: PriorityScale = 3): number | undefined {
  if (!Number.isInteger(n) || n <= 0) return undefined;
  if (scale === 3) return n <= 4 ? 1 : n === 5 ? 2 : 3;
  const table = TO_ICAL[scale];
  let best = 0;
  for (let k = 1; k < table.length; k++) if (Math.abs(table[k]! - n) < Math.abs(table[best]! - n)) best = k;
  return best + 1;
}

export function transpToIcal(v: string): string | undefined {
  const s = v.trim().toUpperCase();
  if (s === 'OPAQUE' || s === 'TRANSPARENT') return s;
  const n = Number.parseInt(s, 10);
  if (!Number.isInteger(n)) return undefined;
  return n === 0 ? 'OPAQUE' : 'TRANSPARENT'; // >1 is implementation specific: "not blocking"
}

export function transpToVcal(v: string): string | undefined {
  const s = v.trim().toUpperCase();
  if (s === 'OPAQUE') return '0';
  if (s === 'TRANSPARENT') return '1';
  return undefined;
}

export function partstatToIcal(v: string): string {
  const s = normStatus(v);
  switch (s) {
    case 'ACCEPTED':
    case 'CONFIRMED':
      return 'ACCEPTED';
    case 'DECLINED':
    case 'TENTATIVE':
    case 'DELEGATED':
    case 'COMPLETED':
      return s;
    default:
      return 'NEEDS-ACTION';
  }
}

export function partstatToVcal(v: string): string | undefined {
  const s = v.trim().toUpperCase();
  switch (s) {
    case 'NEEDS-ACTION':
      return 'NEEDS ACTION';
    case 'ACCEPTED':
    case 'DECLINED':
    case 'TENTATIVE':
    case 'DELEGATED':
    case 'COMPLETED':
      return s;
    case 'IN-PROCESS':
      return 'ACCEPTED';
    default:
      return undefined;
  }
}

/** vCal ROLE/EXPECT -> iCal ROLE. */
export function roleToIcal(expect: string | undefined): string {
  switch ((expect ?? '').trim().toUpperCase()) {
    case 'REQUEST':
      return 'OPT-PARTICIPANT';
    case 'FYI':
      return 'NON-PARTICIPANT';
    default:
      return 'REQ-PARTICIPANT';
  }
}

/** iCal ROLE -> vCal EXPECT. */
export function roleToVcalExpect(role: string | undefined): string | undefined {
  switch ((role ?? '').trim().toUpperCase()) {
    case 'OPT-PARTICIPANT':
      return 'REQUEST';
    case 'NON-PARTICIPANT':
      return 'FYI';
    case 'REQ-PARTICIPANT':
    case 'CHAIR':
      return 'REQUIRE';
    default:
      return undefined;
  }
}

/** Splits `Name <mail@x>` / `mail@x` / `MAILTO:mail@x` into name and address. */
export function splitMailbox(v: string): { cn?: string; address?: string } {
  const t = v.trim();
  const m = /^(.*?)\s*<([^>]*)>\s*$/.exec(t);
  if (m) {
    const cn = m[1].replace(/^"|"$/g, '').trim();
    return { cn: cn || undefined, address: m[2].replace(/^mailto:/i, '').trim() || undefined };
  }
  const bare = t.replace(/^mailto:/i, '');
  if (bare.includes('@')) return { address: bare };
  return t ? { cn: t } : {};
}
