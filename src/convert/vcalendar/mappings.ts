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
 * vCal 1.0 PRIORITY -> iCal 2.0. Phones use 1 high, 2 normal, 3 low (1->1, 2->5, 3->9); values
 * 4-9 only come from desktop apps that already use the 2.0 scale (KOrganizer exports 5), so
 * they are kept.
 */
export function priorityToIcal(v: string): number | undefined {
  const n = Number.parseInt(v.trim(), 10);
  if (!Number.isInteger(n) || n < 0) return undefined;
  if (n === 0) return 0;
  if (n === 1) return 1;
  if (n === 2) return 5;
  if (n === 3) return 9;
  return Math.min(n, 9);
}

/** iCal 2.0 PRIORITY -> vCal 1.0: 1-4 -> 1, 5 -> 2, 6-9 -> 3, 0 -> omit. */
export function priorityToVcal(n: number): number | undefined {
  if (!Number.isInteger(n) || n <= 0) return undefined;
  if (n <= 4) return 1;
  if (n === 5) return 2;
  return 3;
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
