// Device profiles (config/devices/*.yaml): matched on DevInf Man/Mod, they correct or supply a
// device's field filter (CTCap), force its item format and give it a default time zone.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import iconv from 'iconv-lite';
import { z } from 'zod';
import { GatewayError } from '../../errors.js';
import { selectFilter } from './ctcap.js';
import type { FieldFilter, PropertyCap } from './ctcap.js';

const regexString = z.string().min(1).refine((s) => {
  try {
    new RegExp(s, 'i');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'not a known IANA time zone');

// YAML reads `2.1` (and `3.0` as 3) as a number; versions are strings.
const version = z.union([z.string(), z.number()]).transform((v) => (typeof v === 'number' && Number.isInteger(v) ? v.toFixed(1) : String(v)));

/** null removes a limit the device declared (`maxSize: null`: PHOTO of any size). */
const propertyPatch = z.union([
  z.literal(false),
  z.object({
    maxOccur: z.number().int().positive().nullable().optional(),
    maxSize: z.number().int().positive().nullable().optional(),
    noTruncate: z.boolean().nullable().optional(),
    params: z.record(z.string().min(1), z.array(z.string())).nullable().optional(),
    valEnum: z.array(z.string()).nullable().optional(),
  }).strict(),
]);

const filterPatch = z.object({
  ctType: z.string().min(1),
  verCt: version.optional(),
  /**
   * patch: change the device's CTCap (nothing when it sent none); fill: the same, but used as the
   * whole filter when the device sent no CTCap; replace: always the whole filter.
   */
  mode: z.enum(['patch', 'fill', 'replace']).default('patch'),
  properties: z.record(z.string().min(1), propertyPatch).default({}),
}).strict();

const profileSchema = z.object({
  name: z.string().min(1).optional(),
  /** Regular expressions (case-insensitive) on DevInf fields; an empty match fits every device. */
  match: z.object({ man: regexString.optional(), mod: regexString.optional(), fwV: regexString.optional(), swV: regexString.optional() }).strict().default({}),
  /** Highest wins when several profiles match; default.yaml uses a negative one. */
  priority: z.number().int().default(0),
  format: z.object({
    contacts: z.enum(['vcard21', 'vcard30', 'vcard40']).optional(),
    events: z.enum(['vcal10', 'ical20']).optional(),
    tasks: z.enum(['vcal10', 'ical20']).optional(),
  }).strict().optional(),
  defaultTimezone: timeZone.optional(),
  /** vCalendar PRIORITY scale: 3 levels (phones, default), 5 (Palm), 9 (Psion/Epoc, desktop PIMs). */
  priorityScale: z.union([z.literal(3), z.literal(5), z.literal(9)]).optional(),
  /** Charset of the device's unlabelled 8-bit data (SHIFT_JIS, ISO-8859-5 …), as iconv-lite names it. */
  charset: z.string().min(1).refine((c) => iconv.encodingExists(c), 'not a charset iconv-lite knows').optional(),
  filters: z.array(filterPatch).default([]),
}).strict();

export type PropertyPatch = Exclude<z.infer<typeof propertyPatch>, false>;
export type ProfileFilter = z.infer<typeof filterPatch>;

export interface DeviceProfile {
  name: string;
  /** File it came from (for messages). */
  file: string;
  priority: number;
  match: { man?: RegExp; mod?: RegExp; fwV?: RegExp; swV?: RegExp };
  format?: { contacts?: 'vcard21' | 'vcard30' | 'vcard40'; events?: 'vcal10' | 'ical20'; tasks?: 'vcal10' | 'ical20' };
  defaultTimezone?: string;
  priorityScale?: 3 | 5 | 9;
  charset?: string;
  filters: ProfileFilter[];
}

/** DevInf identity fields a profile is matched on. */
export interface DeviceIdentity {
  man?: string;
  mod?: string;
  fwV?: string;
  swV?: string;
}

/** Parses one profile file's text; errors name the file and the field. */
export function parseDeviceProfile(text: string, file: string): DeviceProfile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new GatewayError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const result = profileSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.') || '(top level)';
    throw new GatewayError('CONFIG_INVALID', `${file}: field ${field}: ${issue.message}`);
  }
  const d = result.data;
  const match: DeviceProfile['match'] = {};
  for (const k of ['man', 'mod', 'fwV', 'swV'] as const) {
    const src = d.match[k];
    if (src !== undefined) match[k] = new RegExp(src, 'i');
  }
  const profile: DeviceProfile = {
    name: d.name ?? path.basename(file).replace(/\.ya?ml$/i, ''),
    file,
    priority: d.priority,
    match,
    filters: d.filters,
  };
  if (d.format) profile.format = d.format;
  if (d.defaultTimezone !== undefined) profile.defaultTimezone = d.defaultTimezone;
  if (d.priorityScale !== undefined) profile.priorityScale = d.priorityScale;
  if (d.charset !== undefined) profile.charset = d.charset;
  return profile;
}

/** Every `*.yaml`/`*.yml` of a directory, in file name order. */
export function loadDeviceProfiles(dir: string): DeviceProfile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n)).sort();
  } catch (err) {
    throw new GatewayError('CONFIG_INVALID', `device profile directory ${dir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const out: DeviceProfile[] = [];
  for (const n of names) {
    const file = path.join(dir, n);
    const p = parseDeviceProfile(readFileSync(file, 'utf8'), file);
    const dup = out.find((o) => o.name === p.name);
    if (dup) throw new GatewayError('CONFIG_INVALID', `${file}: field name: profile "${p.name}" is already defined in ${dup.file}`);
    out.push(p);
  }
  return out;
}

/** The matching profile with the highest priority (the first in file order on a tie). */
export function matchDeviceProfile(profiles: readonly DeviceProfile[], device: DeviceIdentity): DeviceProfile | undefined {
  let best: DeviceProfile | undefined;
  for (const p of profiles) {
    const fits = (['man', 'mod', 'fwV', 'swV'] as const).every((k) => {
      const re = p.match[k];
      if (re === undefined) return true;
      const v = device[k];
      return v !== undefined && re.test(v);
    });
    if (fits && (best === undefined || p.priority > best.priority)) best = p;
  }
  return best;
}

function clone(f: FieldFilter): FieldFilter {
  return structuredClone(f);
}

function applyPatch(filter: FieldFilter, props: ProfileFilter['properties']): void {
  for (const [rawName, patch] of Object.entries(props)) {
    const name = rawName.toUpperCase();
    if (patch === false) {
      delete filter.properties[name];
      continue;
    }
    // A patch that only lifts limits does not add a property the device never listed.
    const values = Object.values(patch).filter((v) => v !== undefined);
    const liftsOnly = values.length > 0 && values.every((v) => v === null || v === false);
    if (filter.properties[name] === undefined && liftsOnly) continue;
    const cap: PropertyCap = (filter.properties[name] ??= {});
    if (patch.maxOccur === null) delete cap.maxOccur;
    else if (patch.maxOccur !== undefined) cap.maxOccur = patch.maxOccur;
    if (patch.maxSize === null) delete cap.maxSize;
    else if (patch.maxSize !== undefined) cap.maxSize = patch.maxSize;
    if (patch.noTruncate === null || patch.noTruncate === false) delete cap.noTruncate;
    else if (patch.noTruncate === true) cap.noTruncate = true;
    if (patch.valEnum === null) delete cap.valEnum;
    else if (patch.valEnum !== undefined) cap.valEnum = patch.valEnum.slice();
    if (patch.params === null) delete cap.params;
    else if (patch.params !== undefined) {
      cap.params = {};
      for (const [k, v] of Object.entries(patch.params)) cap.params[k.toUpperCase()] = v.map((x) => x.toUpperCase());
    }
  }
}

/**
 * The filter to use for one content type: the device's own CTCap for it, corrected by the
 * profile's entries for that type (and VerCT, when both give one). Undefined when neither the
 * device nor a `fill`/`replace` profile entry describes the type (then nothing is filtered).
 */
export function effectiveFilter(
  filters: readonly FieldFilter[],
  profile: DeviceProfile | undefined,
  ctType: string,
  verCt?: string,
): FieldFilter | undefined {
  const t = ctType.toLowerCase();
  const base = selectFilter(filters, t, verCt);
  let result = base ? clone(base) : undefined;
  const entries = (profile?.filters ?? []).filter(
    (e) => e.ctType.toLowerCase() === t && (e.verCt === undefined || verCt === undefined || e.verCt === verCt),
  );
  // A whole filter first (replace, or fill for a device without CTCap), then the patches.
  for (const e of entries) {
    if (e.mode === 'replace' || (e.mode === 'fill' && base === undefined)) {
      result = { ctType: t, properties: {} };
      const v = e.verCt ?? verCt;
      if (v !== undefined) result.verCt = v;
      applyPatch(result, e.properties);
    }
  }
  for (const e of entries) {
    if (e.mode === 'patch' || (e.mode === 'fill' && base !== undefined)) {
      if (result) applyPatch(result, e.properties);
    }
  }
  // Declarations, not restrictions: an empty property list filters nothing.
  if (profile?.priorityScale !== undefined && t.includes('calendar')) {
    result ??= { ctType: t, properties: {}, ...(verCt !== undefined ? { verCt } : {}) };
    result.priorityScale = profile.priorityScale;
  }
  if (profile?.charset !== undefined) {
    result ??= { ctType: t, properties: {}, ...(verCt !== undefined ? { verCt } : {}) };
    result.charset = profile.charset;
  }
  return result;
}
