// `syncml-gateway convert <file> --to FORMAT [--device-profile NAME]`: shows what each item of a
// file becomes for a device, optionally through a device profile's field filter and time zone.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCommand, UsageError } from './usage.js';
import { describeError, GatewayError } from '../errors.js';
import { convertContact, parseContact, serializeContact } from '../convert/contacts.js';
import type { ContactFormat } from '../convert/contacts.js';
import { effectiveFilter, filterForDevice, loadDeviceProfiles } from '../convert/filters/index.js';
import type { DeviceProfile } from '../convert/filters/index.js';

export const CONVERT_USAGE = `usage: syncml-gateway convert <file> --to vcard21|vcard30|vcard40|vcal10|ical20 [--device-profile NAME] [--profiles-dir DIR]

  Converts every vCard or vCalendar/iCalendar object of <file> and prints the result.
  --device-profile NAME  apply the field filter and default time zone of config/devices/NAME.yaml
  --profiles-dir DIR     where device profiles are read from (default: config/devices)
`;

const CONTACT_FORMATS = ['vcard21', 'vcard30', 'vcard40'] as const;
const CALENDAR_FORMATS = ['vcal10', 'ical20'] as const;
type Target = ContactFormat | (typeof CALENDAR_FORMATS)[number];

/** Content type and version a device announces for each contact format (CTCap key). */
const CT_OF: Record<ContactFormat, { ctType: string; verCt: string }> = {
  vcard21: { ctType: 'text/x-vcard', verCt: '2.1' },
  vcard30: { ctType: 'text/vcard', verCt: '3.0' },
  vcard40: { ctType: 'text/vcard', verCt: '4.0' },
};

export interface ConvertIo {
  write: (text: string) => void;
}

interface Options {
  file: string;
  to: Target;
  profile?: string;
  profilesDir: string;
}

function usage(msg: string): Error {
  return new UsageError(msg, CONVERT_USAGE);
}

function parseArgs(args: string[]): Options {
  const { values, positionals: [file] } = parseCommand(args, {
    to: { type: 'string' }, 'device-profile': { type: 'string' }, 'profiles-dir': { type: 'string' },
  }, CONVERT_USAGE, 1);
  const to = values.to;
  const profile = values['device-profile'];
  const profilesDir = values['profiles-dir'] ?? fileURLToPath(new URL('../../config/devices/', import.meta.url));
  if (file === undefined) throw usage('convert needs a file');
  if (to === undefined) throw usage('convert needs --to');
  const target = to.toLowerCase();
  if (!(CONTACT_FORMATS as readonly string[]).includes(target) && !(CALENDAR_FORMATS as readonly string[]).includes(target)) {
    throw usage(`unknown format ${to}`);
  }
  const out: Options = { file, to: target as Target, profilesDir };
  if (profile !== undefined) out.profile = profile;
  return out;
}

interface Block {
  /** 1-based line of its BEGIN. */
  line: number;
  bytes: Uint8Array;
}

/**
 * Top-level BEGIN:<kind> … END:<kind> blocks with their first line. Scanned on a latin1 view so
 * byte offsets stay exact whatever the charset (the parser decodes CHARSET= per property).
 */
function blocks(bytes: Buffer, kind: string): { found: Block[]; unterminated?: number } {
  const text = bytes.toString('latin1');
  const re = /^[ \t]*(BEGIN|END)[ \t]*:[ \t]*([A-Za-z-]+)[ \t]*\r?$/gim;
  const found: Block[] = [];
  let depth = 0;
  let start = 0;
  let startLine = 0;
  let line = 1;
  let pos = 0;
  for (const m of text.matchAll(re)) {
    for (let i = text.indexOf('\n', pos); i >= 0 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
    pos = m.index;
    const isBegin = m[1]!.toUpperCase() === 'BEGIN';
    if (m[2]!.toUpperCase() !== kind) continue;
    if (isBegin) {
      if (depth === 0) {
        start = m.index;
        startLine = line;
      }
      depth++;
    } else if (depth > 0 && --depth === 0) {
      const endOfLine = text.indexOf('\n', m.index);
      const end = endOfLine < 0 ? text.length : endOfLine + 1;
      found.push({ line: startLine, bytes: bytes.subarray(start, end) });
    }
  }
  return depth > 0 ? { found, unterminated: startLine } : { found };
}

function findProfile(opts: Options): DeviceProfile | undefined {
  if (opts.profile === undefined) return undefined;
  const profiles = loadDeviceProfiles(opts.profilesDir);
  const p = profiles.find((x) => x.name === opts.profile || x.file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/i, '') === opts.profile);
  if (!p) throw new GatewayError('NOT_FOUND', `no device profile ${opts.profile} in ${opts.profilesDir} (have: ${profiles.map((x) => x.name).join(', ')})`);
  return p;
}

/** `file:line: message`, with the parser's item-relative `line N` turned into file lines. */
function problem(file: string, b: Block, err: unknown): string {
  const msg = describeError(err).replace(/\bline (\d+)\b/g, (_m, n: string) => `line ${b.line + Number(n) - 1}`);
  return `${file}:${b.line}: ${msg}`;
}

type CalendarModule = typeof import('../convert/calendar.js');

async function loadCalendar(): Promise<CalendarModule> {
  try {
    return await import('../convert/calendar.js');
  } catch (err) {
    throw new GatewayError('NOT_SUPPORTED', `calendar conversion is not available in this build: ${describeError(err)}`, { cause: err });
  }
}

/**
 * Runs the convert command: prints each converted item; items that fail are reported together
 * afterwards (`file:line: problem`) as one INVALID_ITEM error, after the others were printed.
 */
export async function runConvert(args: string[], io: ConvertIo = { write: (t) => void process.stdout.write(t) }): Promise<void> {
  const opts = parseArgs(args);
  let bytes: Buffer;
  try {
    bytes = readFileSync(opts.file);
  } catch (err) {
    throw new GatewayError('NOT_FOUND', `${opts.file}: cannot be read: ${describeError(err)}`, { cause: err });
  }
  const profile = findProfile(opts);
  const isContact = (CONTACT_FORMATS as readonly string[]).includes(opts.to);
  const kind = isContact ? 'VCARD' : 'VCALENDAR';
  const { found, unterminated } = blocks(bytes, kind);
  const problems: string[] = [];
  if (found.length === 0 && unterminated === undefined) {
    throw new GatewayError('INVALID_ITEM', `${opts.file}: no BEGIN:${kind} found (--to ${opts.to} needs ${isContact ? 'vCards' : 'vCalendar/iCalendar objects'})`);
  }
  if (isContact) {
    const to = opts.to as ContactFormat;
    const filter = profile ? effectiveFilter([], profile, CT_OF[to].ctType, CT_OF[to].verCt) : undefined;
    for (const b of found) {
      try {
        io.write(filter ? serializeContact(filterForDevice(parseContact(b.bytes), filter), CT_OF[to].verCt as '2.1' | '3.0' | '4.0') : convertContact(b.bytes, to));
      } catch (err) {
        problems.push(problem(opts.file, b, err));
      }
    }
  } else {
    const cal = await loadCalendar();
    const to = opts.to as (typeof CALENDAR_FORMATS)[number];
    for (const b of found) {
      try {
        const calOpts: Parameters<CalendarModule['convertCalendar']>[2] = {};
        if (profile?.defaultTimezone !== undefined) calOpts.defaultTimezone = profile.defaultTimezone;
        if (profile?.priorityScale !== undefined) calOpts.priorityScale = profile.priorityScale;
        io.write(cal.convertCalendar(b.bytes, to, calOpts));
      } catch (err) {
        problems.push(problem(opts.file, b, err));
      }
    }
  }
  if (unterminated !== undefined) problems.push(`${opts.file}:${unterminated}: BEGIN:${kind} is never closed by END:${kind}`);
  if (problems.length > 0) {
    throw new GatewayError('INVALID_ITEM', `${problems.length} of ${found.length + (unterminated !== undefined ? 1 : 0)} item(s) could not be converted:\n${problems.join('\n')}`);
  }
}
