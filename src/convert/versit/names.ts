// Property names a legacy device writes that iCalendar/vCard 3.0+ forbid (RFC 5545 §3.1, RFC 6350
// §3.3: letters, digits and '-'), such as KDE's `X-messaging/aim-All` or `X-BAD/SLASH`. Servers
// refuse the whole item over one such line, so the value is stored under a valid X- name and the
// name the device used travels in a parameter; reading it back restores that name for the device.
import type { VersitParam } from './types.js';

/** Parameter carrying the device's own property name next to the storable one. */
export const DEVICE_NAME_PARAM = 'X-SYNCML-NAME';

const VALID_NAME = /^[A-Za-z0-9-]+$/;

/** Whether `name` may be written as a property name in iCalendar and vCard 3.0/4.0. */
export function isStorableName(name: string): boolean {
  return VALID_NAME.test(name);
}

/**
 * The valid X- name for an invalid one: each run of forbidden characters becomes one '-'
 * (`X-MESSAGING/AIM-ALL` -> `X-MESSAGING-AIM-ALL`), `X-` is prefixed when missing.
 */
export function storableName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'UNNAMED';
  return /^X-/i.test(cleaned) ? cleaned : `X-${cleaned}`;
}

/**
 * Where a value cannot be stored under the device's name (an invalid name, a second N, a value the
 * property's type does not allow), the X- name it is kept under, with the device's name in
 * DEVICE_NAME_PARAM.
 */
export function standIn(name: string): { name: string; param: VersitParam } {
  return { name: storableName(name), param: { name: DEVICE_NAME_PARAM, value: name } };
}

/**
 * The device's name of a property read from the server: the DEVICE_NAME_PARAM value when this
 * property is its stand-in (a parameter that does not match is left alone), and the other
 * parameters.
 */
export function deviceName(name: string, params: readonly VersitParam[]): { name: string; params: VersitParam[] } | undefined {
  const p = params.find((x) => x.name.toUpperCase() === DEVICE_NAME_PARAM);
  if (p === undefined || storableName(p.value).toUpperCase() !== name.toUpperCase()) return undefined;
  return { name: p.value.toUpperCase(), params: params.filter((x) => x !== p) };
}
