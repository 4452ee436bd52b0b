// Version-neutral contact model: an ordered property list with decoded values, upper-case TYPE
// values and the remaining parameters, so field filters and merges can work on any vCard version.
import type { VersitParam } from '../versit/index.js';

export type VcardVersion = '2.1' | '3.0' | '4.0';

export interface ContactProperty {
  /** Group prefix (`item1` of `item1.TEL`). */
  group?: string;
  /**
   * Upper-case, version-neutral name: `X-ANNIVERSARY` is stored as `ANNIVERSARY`; everything else
   * as written.
   */
  name: string;
  /** Upper-case TYPE values, bare 2.1 params included (`CELL`, `VOICE`, `PREF`, `INTERNET`). */
  types: string[];
  /**
   * Other parameters (LANGUAGE, X-…, ALTID, SORT-AS …). Never ENCODING, CHARSET or TYPE; VALUE
   * only where it is not implied by the fields below.
   */
  params: VersitParam[];
  /**
   * Unescaped values. Structured properties (N, ADR, ORG, GENDER) and GEO ([lat, lon]): one entry
   * per component; list properties (CATEGORIES, NICKNAME): one per item; others: one entry. Line
   * breaks are `\n`. BDAY/ANNIVERSARY in canonical form: `YYYY-MM-DD`, `--MM-DD` or
   * `YYYY-MM-DDThh:mm:ss[Z|±hh:mm]` when recognised, else as written.
   */
  values: string[];
  /** PHOTO/LOGO/SOUND/KEY inline data: `values[0]` is base64. */
  binary?: boolean;
  /** PHOTO/LOGO/SOUND/KEY given by reference: `values[0]` is a URI. */
  uri?: boolean;
  /** Media type of binary or URI data, lower-case (`image/jpeg`), when known. */
  mediaType?: string;
  /**
   * A property this module does not interpret (X-…, unknown): `values[0]` is the value as written
   * (escapes kept) so it round-trips verbatim; only line breaks are converted between versions.
   */
  raw?: boolean;
  /** A raw value written in 2.1 syntax, where a comma is plain text (3.0/4.0 escape it as `\,`). */
  raw21?: boolean;
}

export interface Contact {
  /** Version of the input it was parsed from. */
  version: VcardVersion;
  properties: ContactProperty[];
}

export interface ContactFingerprint {
  /** Name tokens, case-folded, sorted, space-separated (order-insensitive: "Doe John"). */
  names: string;
  /** Phone numbers reduced to digits, sorted, unique. */
  phones: string[];
  /** Lower-case e-mail addresses, sorted, unique. */
  emails: string[];
}
