// WBXML token tables for SyncML (page 0), MetInf (page 1 in SyncML documents) and DevInf,
// public identifiers and charset MIBenums. Facts: libwbxml wbxml_tables.c, libsynthesis
// xlttags.c (see docs in shared/spec/wbxml.md sections 3-6).

export type SyncMlVersion = '1.0' | '1.1' | '1.2';
export type WbxmlLanguage = 'syncml' | 'devinf' | 'metinf';

export const NS_METINF = 'syncml:metinf';
export const NS_DEVINF = 'syncml:devinf';
export const syncMlNamespace = (v: SyncMlVersion): string => `SYNCML:SYNCML${v}`;

/** Global tokens (WAP-192-WBXML section 7.1), valid in every code page. */
export const T = {
  SWITCH_PAGE: 0x00,
  END: 0x01,
  ENTITY: 0x02,
  STR_I: 0x03,
  LITERAL: 0x04,
  EXT_I_0: 0x40,
  EXT_I_2: 0x42,
  PI: 0x43,
  EXT_T_0: 0x80,
  EXT_T_2: 0x82,
  STR_T: 0x83,
  EXT_0: 0xc0,
  EXT_2: 0xc2,
  OPAQUE: 0xc3,
} as const;

/** Tag bit flags on a tag token. */
export const TAG_HAS_CONTENT = 0x40;
export const TAG_HAS_ATTRS = 0x80;
export const TAG_ID_MASK = 0x3f;

/** Table index = token; first real token is 0x05, so five leading holes. */
function table(first: number, names: readonly (string | undefined)[]): (string | undefined)[] {
  const t: (string | undefined)[] = new Array<string | undefined>(first).fill(undefined);
  return t.concat(names);
}

/** SyncML code page 0; 1.2 additions (0x35-0x3C) accepted in every version, as libwbxml does. */
export const SYNCML_PAGE0 = table(0x05, [
  'Add', 'Alert', 'Archive', 'Atomic', 'Chal', 'Cmd', 'CmdID', 'CmdRef', 'Copy', 'Cred', 'Data',
  'Delete', 'Exec', 'Final', 'Get', 'Item', 'Lang', 'LocName', 'LocURI', 'Map', 'MapItem', 'Meta',
  'MsgID', 'MsgRef', 'NoResp', 'NoResults', 'Put', 'Replace', 'RespURI', 'Results', 'Search',
  'Sequence', 'SessionID', 'SftDel', 'Source', 'SourceRef', 'Status', 'Sync', 'SyncBody', 'SyncHdr',
  'SyncML', 'Target', 'TargetRef', undefined /* 0x30 reserved */, 'VerDTD', 'VerProto',
  'NumberOfChanges', 'MoreData', 'Field', 'Filter', 'Record', 'FilterType', 'SourceParent',
  'TargetParent', 'Move', 'Correlator',
]);

/** MetInf: code page 1 inside SyncML documents (page 0 of a stand-alone MetInf 1.2 document). */
export const METINF_PAGE = table(0x05, [
  'Anchor', 'EMI', 'Format', 'FreeID', 'FreeMem', 'Last', 'Mark', 'MaxMsgSize', 'Mem', 'MetInf',
  'Next', 'NextNonce', 'SharedMem', 'Size', 'Type', 'Version', 'MaxObjSize', 'FieldLevel',
]);

/** DevInf code page 0; token 0x1C is `Size` in DevInf 1.0/1.1 and `MaxSize` in 1.2. */
const DEVINF_COMMON = [
  'CTCap', 'CTType', 'DataStore', 'DataType', 'DevID', 'DevInf', 'DevTyp', 'DisplayName', 'DSMem',
  'Ext', 'FwV', 'HwV', 'Man', 'MaxGUIDSize', 'MaxID', 'MaxMem', 'Mod', 'OEM', 'ParamName',
  'PropName', 'Rx', 'Rx-Pref', 'SharedMem', 'MaxSize', 'SourceRef', 'SwV', 'SyncCap', 'SyncType',
  'Tx', 'Tx-Pref', 'ValEnum', 'VerCT', 'VerDTD', 'XNam', 'XVal', 'UTC', 'SupportNumberOfChanges',
  'SupportLargeObjs', 'Property', 'PropParam', 'MaxOccur', 'NoTruncate', undefined /* 0x2F */,
  'Filter-Rx', 'FilterCap', 'FilterKeyword', 'FieldLevel', 'SupportHierarchicalSync',
];
export const DEVINF_PAGE_12 = table(0x05, DEVINF_COMMON);
export const DEVINF_PAGE_11 = DEVINF_PAGE_12.map((n, i) => (i === 0x1c ? 'Size' : n));
export const DEVINF_SIZE_TOKEN = 0x1c;

/** Reverse map name -> token for one page. */
export function reverse(page: readonly (string | undefined)[]): Map<string, number> {
  const m = new Map<string, number>();
  page.forEach((n, i) => {
    if (n !== undefined) m.set(n, i);
  });
  return m;
}

export const SYNCML_TOKENS = reverse(SYNCML_PAGE0);
export const METINF_TOKENS = reverse(METINF_PAGE);
/** Both `Size` and `MaxSize` encode as 0x1C (libsynthesis treats them as aliases). */
export const DEVINF_TOKENS = reverse(DEVINF_PAGE_12).set('Size', DEVINF_SIZE_TOKEN);

/** Well-known public ids (libwbxml wbxml_tables.h). */
export const PUBLIC_ID = {
  SYNCML_10: 0x0fd1,
  DEVINF_10: 0x0fd2,
  SYNCML_11: 0x0fd3,
  DEVINF_11: 0x0fd4,
  SYNCML_12: 0x1201,
  METINF_12: 0x1202,
  DEVINF_12: 0x1203,
  UNKNOWN: 0x01,
} as const;

export interface DocType {
  language: WbxmlLanguage;
  version?: SyncMlVersion;
}

const BY_NUMBER = new Map<number, DocType>([
  [PUBLIC_ID.SYNCML_10, { language: 'syncml', version: '1.0' }],
  [PUBLIC_ID.DEVINF_10, { language: 'devinf', version: '1.0' }],
  [PUBLIC_ID.SYNCML_11, { language: 'syncml', version: '1.1' }],
  [PUBLIC_ID.DEVINF_11, { language: 'devinf', version: '1.1' }],
  [PUBLIC_ID.SYNCML_12, { language: 'syncml', version: '1.2' }],
  [PUBLIC_ID.METINF_12, { language: 'metinf', version: '1.2' }],
  [PUBLIC_ID.DEVINF_12, { language: 'devinf', version: '1.2' }],
]);

const FPI_RE = /^-\/\/SYNCML\/\/DTD (SyncML|DevInf|MetInf) (1\.[012])\/\/EN/i;

export function fpi(language: WbxmlLanguage, version: SyncMlVersion): string {
  const l = language === 'syncml' ? 'SyncML' : language === 'devinf' ? 'DevInf' : 'MetInf';
  return `-//SYNCML//DTD ${l} ${version}//EN`;
}

/** What a public id (number or string-table FPI) says about the document; undefined = unknown. */
export function docTypeOf(publicId: number | string): DocType | undefined {
  if (typeof publicId === 'number') return BY_NUMBER.get(publicId);
  const m = FPI_RE.exec(publicId.trim());
  if (!m) return undefined;
  const l = m[1].toLowerCase() as WbxmlLanguage;
  return { language: l, version: m[2] as SyncMlVersion };
}

/** The public id to write for a document (libsynthesis: 1.0 via string-table FPI, else numeric). */
export function publicIdFor(language: WbxmlLanguage, version: SyncMlVersion): number | string {
  for (const [id, d] of BY_NUMBER) {
    if (d.language === language && d.version === version && version !== '1.0') return id;
  }
  return fpi(language, version);
}

/** Charsets: IANA MIBenum -> iconv-lite name and width of the string terminator. */
export interface CharsetInfo {
  name: string;
  /** iconv-lite codec name when it differs from `name`. */
  iconv?: string;
  /** Bytes in the NUL terminator of STR_I / string-table strings. */
  nulWidth: 1 | 2;
}
export const MIB_UTF8 = 106;
export const CHARSETS = new Map<number, CharsetInfo>([
  [3, { name: 'US-ASCII', nulWidth: 1 }],
  [4, { name: 'ISO-8859-1', nulWidth: 1 }],
  [5, { name: 'ISO-8859-2', nulWidth: 1 }],
  [6, { name: 'ISO-8859-3', nulWidth: 1 }],
  [7, { name: 'ISO-8859-4', nulWidth: 1 }],
  [8, { name: 'ISO-8859-5', nulWidth: 1 }],
  [9, { name: 'ISO-8859-6', nulWidth: 1 }],
  [10, { name: 'ISO-8859-7', nulWidth: 1 }],
  [11, { name: 'ISO-8859-8', nulWidth: 1 }],
  [12, { name: 'ISO-8859-9', nulWidth: 1 }],
  [17, { name: 'Shift_JIS', nulWidth: 1 }],
  [18, { name: 'EUC-JP', nulWidth: 1 }],
  [38, { name: 'EUC-KR', nulWidth: 1 }],
  [106, { name: 'UTF-8', nulWidth: 1 }],
  [109, { name: 'ISO-8859-13', nulWidth: 1 }],
  [111, { name: 'ISO-8859-15', nulWidth: 1 }],
  [1000, { name: 'ISO-10646-UCS-2', iconv: 'UTF-16BE', nulWidth: 2 }], // big-endian per RFC 1641
  [1013, { name: 'UTF-16BE', nulWidth: 2 }],
  [1014, { name: 'UTF-16LE', nulWidth: 2 }],
  [1015, { name: 'UTF-16', nulWidth: 2 }],
  [2025, { name: 'GB2312', nulWidth: 1 }],
  [2026, { name: 'Big5', nulWidth: 1 }],
  [2084, { name: 'KOI8-R', nulWidth: 1 }],
  [2250, { name: 'windows-1250', nulWidth: 1 }],
  [2251, { name: 'windows-1251', nulWidth: 1 }],
  [2252, { name: 'windows-1252', nulWidth: 1 }],
]);

/** DevInf Meta/Type: the tree above the codec always says `+xml` (as wbxml2xml prints it). */
export const DEVINF_TYPE_XML = 'application/vnd.syncml-devinf+xml';
export const DEVINF_TYPE_WBXML = 'application/vnd.syncml-devinf+wbxml';
