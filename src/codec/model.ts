// Typed SyncML message model (OMA DS RepPro 1.0-1.2), shared by the XML and WBXML codecs.
// Vocabulary follows the DTD so code can be grepped against the spec.
import type { SmlElement } from './tree.js';

export type SyncMLVersion = '1.0' | '1.1' | '1.2';
export type WireEncoding = 'xml' | 'wbxml';

export interface LocRef {
  locURI: string;
  locName?: string;
}

export interface Anchor {
  last?: string;
  next?: string;
}

/** MetInf (syncml:metinf). Unknown children are kept in `extra` so nothing is dropped. */
export interface Meta {
  format?: string;
  type?: string;
  mark?: string;
  size?: number;
  anchor?: Anchor;
  version?: string;
  nextNonce?: string;
  maxMsgSize?: number;
  maxObjSize?: number;
  fieldLevel?: boolean;
  extra?: SmlElement[];
}

export interface Cred {
  meta?: Meta;
  data: string;
}

export interface Chal {
  meta: Meta;
}

/** Item `Data` is text (vCard, b64, status code…) or structured (DevInf, Anchor). */
export type ItemData = string | SmlElement;

export interface Item {
  target?: LocRef;
  source?: LocRef;
  sourceParent?: string;
  targetParent?: string;
  meta?: Meta;
  data?: ItemData;
  moreData?: boolean;
}

export interface SyncHdr {
  verDTD: string;
  verProto: string;
  sessionId: string;
  msgId: string;
  target: LocRef;
  source: LocRef;
  respURI?: string;
  noResp?: boolean;
  cred?: Cred;
  meta?: Meta;
}

interface CmdBase {
  cmdId: string;
  noResp?: boolean;
  cred?: Cred;
  meta?: Meta;
}

export interface AlertCmd extends CmdBase {
  kind: 'Alert';
  data?: string;
  items: Item[];
}

export type ItemCmdKind = 'Add' | 'Replace' | 'Delete' | 'Copy' | 'Move';

export interface ItemCmd extends CmdBase {
  kind: ItemCmdKind;
  items: Item[];
  archive?: boolean;
  sftDel?: boolean;
}

export interface SyncCmd extends CmdBase {
  kind: 'Sync';
  target?: LocRef;
  source?: LocRef;
  numberOfChanges?: number;
  commands: Command[];
}

export interface PutGetCmd extends CmdBase {
  kind: 'Put' | 'Get';
  lang?: string;
  items: Item[];
}

export interface ResultsCmd extends CmdBase {
  kind: 'Results';
  msgRef?: string;
  cmdRef: string;
  targetRef?: string;
  sourceRef?: string;
  items: Item[];
}

export interface StatusCmd {
  kind: 'Status';
  cmdId: string;
  msgRef: string;
  cmdRef: string;
  /** The `Cmd` element: name of the command this Status answers (`SyncHdr`, `Alert`, …). */
  cmd: string;
  targetRefs: string[];
  sourceRefs: string[];
  cred?: Cred;
  chal?: Chal;
  data: string;
  items: Item[];
}

export interface MapItem {
  target: LocRef;
  source: LocRef;
}

export interface MapCmd extends CmdBase {
  kind: 'Map';
  target: LocRef;
  source: LocRef;
  mapItems: MapItem[];
}

export interface ContainerCmd extends CmdBase {
  kind: 'Atomic' | 'Sequence';
  commands: Command[];
}

/** Exec, Search and anything unknown: kept raw so it can be answered (406) and re-serialized. */
export interface OtherCmd {
  kind: 'Other';
  name: string;
  cmdId: string;
  noResp?: boolean;
  raw: SmlElement;
}

export type Command =
  | AlertCmd
  | ItemCmd
  | SyncCmd
  | PutGetCmd
  | ResultsCmd
  | StatusCmd
  | MapCmd
  | ContainerCmd
  | OtherCmd;

export interface SyncMLMessage {
  version: SyncMLVersion;
  header: SyncHdr;
  body: Command[];
  final: boolean;
}

/** How a message was (or is to be) put on the wire; the reply reuses the request's. */
export interface WireFormat {
  encoding: WireEncoding;
  /** WBXML public id as the client sent it (number, or FPI string from the string table). */
  wbxmlPublicId?: number | string;
  wbxmlVersion?: number;
}

export const NAMESPACES: Record<SyncMLVersion, string> = {
  '1.0': 'SYNCML:SYNCML1.0',
  '1.1': 'SYNCML:SYNCML1.1',
  '1.2': 'SYNCML:SYNCML1.2',
};

export const DEVINF_URIS: Record<SyncMLVersion, string> = {
  '1.0': './devinf10',
  '1.1': './devinf11',
  '1.2': './devinf12',
};

export const METINF_NS = 'syncml:metinf';
export const DEVINF_NS = 'syncml:devinf';
