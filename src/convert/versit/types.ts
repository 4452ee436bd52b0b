// Data model of the versit line syntax (vCard 2.1/3.0/4.0, vCalendar 1.0, iCalendar 2.0):
// components hold properties and nested components; values are decoded text, escapes kept.

/** Target syntax for serialising; decides escaping, folding, parameter style and QP use. */
export type VersitVersion = '2.1' | '3.0' | '4.0' | 'vcal1.0' | 'ical2.0';

/** Normalised transfer encoding of a property value ('7BIT' and absent are both `undefined`). */
export type VersitEncoding = 'QUOTED-PRINTABLE' | 'BASE64' | 'B' | '8BIT';

export interface VersitParam {
  /**
   * Upper-case parameter name. A nameless vCard 2.1 parameter (`TEL;CELL;VOICE`) is named by its
   * value: QUOTED-PRINTABLE/BASE64/B/7BIT/8BIT -> `ENCODING`, INLINE/URL/URI/CID/CONTENT-ID ->
   * `VALUE`, any other -> `TYPE`; such params carry `bare: true` so the original form is known.
   */
  name: string;
  /** Value as written, surrounding double quotes removed; commas (value lists) are not split. */
  value: string;
  /** true: written without a name in the input; false: always write `TYPE=` in 2.1 output. */
  bare?: boolean;
}

export interface VersitProperty {
  /** Group prefix (`item1` in `item1.TEL`), as written. */
  group?: string;
  /** Upper-case property name. */
  name: string;
  params: VersitParam[];
  /**
   * The value as text: unfolded, quoted-printable and CHARSET decoded to a JS string. Version
   * escapes (`\;`, `\n`, `\,` …) are still in place: they depend on the property's value type,
   * use the helpers in text.ts. Base64 values stay base64 text (whitespace removed).
   */
  value: string;
  /** The value after unfolding (QP soft breaks joined) but before any decoding. */
  rawValue: string;
  encoding?: VersitEncoding;
  /** 1-based physical line number of the property's first line in the input. */
  line?: number;
}

export interface VersitComponent {
  /** Upper-case component name (`VCARD`, `VCALENDAR`, `VEVENT` …). */
  name: string;
  properties: VersitProperty[];
  /** Nested components (VEVENT in VCALENDAR, an inline AGENT vCard in a 2.1 VCARD). */
  components: VersitComponent[];
  line?: number;
}

export interface ParseVersitOptions {
  /**
   * Charset for 8-bit bytes without a CHARSET parameter (only relevant for Uint8Array input or
   * quoted-printable values). Default: UTF-8 when the bytes are valid UTF-8, else Windows-1252.
   */
  defaultCharset?: string;
  /** Called for tolerated faults (unparseable lines, unknown charsets, stray END lines). */
  onWarning?: (message: string) => void;
}

export interface SerializeVersitOptions {
  version: VersitVersion;
}
