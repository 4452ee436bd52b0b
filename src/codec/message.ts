// Mapping between the element tree (tree.ts) and the typed message model (model.ts).
// Both encodings share it, so the protocol engine cannot tell XML from WBXML.
import { GatewayError } from '../errors.js';
import type {
  Anchor, Chal, Command, Cred, Item, ItemData, LocRef, MapItem, Meta, SyncHdr, SyncMLMessage, SyncMLVersion,
} from './model.js';
import { METINF_NS, NAMESPACES } from './model.js';
import { childElements, childText, el, firstChild, isElement, isOpaque, textOf, type SmlElement, type SmlNode } from './tree.js';
import { decodeXml } from './xml.js';


// ---------------------------------------------------------------- tree -> model

export function treeToMessage(root: SmlElement): SyncMLMessage {
  if (root.name !== 'SyncML') throw new GatewayError('BAD_MESSAGE', `root element is <${root.name}>, not <SyncML>`);
  const hdrEl = firstChild(root, 'SyncHdr');
  if (!hdrEl) throw new GatewayError('BAD_MESSAGE', 'SyncML message without SyncHdr');
  const bodyEl = firstChild(root, 'SyncBody');
  if (!bodyEl) throw new GatewayError('BAD_MESSAGE', 'SyncML message without SyncBody');
  const header = readHeader(hdrEl);
  const version = versionOf(header, root.ns);
  const body: Command[] = [];
  let final = false;
  for (const c of childElements(bodyEl)) {
    if (c.name === 'Final') final = true;
    else body.push(readCommand(c));
  }
  return { version, header, body, final };
}

function versionOf(header: SyncHdr, ns: string | undefined): SyncMLVersion {
  const v = header.verDTD.trim();
  if (v === '1.0' || v === '1.1' || v === '1.2') return v;
  // Some devices send VerDTD "1.2.1"-like values; the namespace decides then.
  const fromNs = ns?.toUpperCase().match(/SYNCML1\.(\d)/);
  if (fromNs && ['0', '1', '2'].includes(fromNs[1]!)) return `1.${fromNs[1]}` as SyncMLVersion;
  throw new GatewayError('UNSUPPORTED_VERSION', `unsupported VerDTD ${JSON.stringify(header.verDTD)}`);
}

function req(parent: SmlElement, name: string): string {
  const v = childText(parent, name);
  if (v === undefined) throw new GatewayError('BAD_MESSAGE', `<${parent.name}> without <${name}>`);
  return v;
}

function readLoc(e: SmlElement | undefined): LocRef | undefined {
  if (!e) return undefined;
  const locURI = childText(e, 'LocURI');
  if (locURI === undefined) throw new GatewayError('BAD_MESSAGE', `<${e.name}> without <LocURI>`);
  const locName = childText(e, 'LocName');
  return locName === undefined ? { locURI } : { locURI, locName };
}

function readHeader(h: SmlElement): SyncHdr {
  const target = readLoc(firstChild(h, 'Target'));
  const source = readLoc(firstChild(h, 'Source'));
  if (!target || !source) throw new GatewayError('BAD_MESSAGE', 'SyncHdr without Target or Source');
  const hdr: SyncHdr = {
    verDTD: req(h, 'VerDTD'),
    verProto: req(h, 'VerProto'),
    sessionId: req(h, 'SessionID'),
    msgId: req(h, 'MsgID'),
    target,
    source,
  };
  const respURI = childText(h, 'RespURI');
  if (respURI !== undefined) hdr.respURI = respURI;
  if (firstChild(h, 'NoResp')) hdr.noResp = true;
  const cred = readCred(firstChild(h, 'Cred'));
  if (cred) hdr.cred = cred;
  const meta = readMeta(firstChild(h, 'Meta'));
  if (meta) hdr.meta = meta;
  return hdr;
}

function readCred(e: SmlElement | undefined): Cred | undefined {
  if (!e) return undefined;
  const cred: Cred = { data: credData(firstChild(e, 'Data')) };
  const meta = readMeta(firstChild(e, 'Meta'));
  if (meta) cred.meta = meta;
  return cred;
}

/** WBXML phones may send an MD5 digest as 16 raw OPAQUE bytes: carry it as base64 like XML does. */
function credData(d: SmlElement | undefined): string {
  if (!d) return '';
  const opaque = d.children.find(isOpaque);
  if (opaque && d.children.length === 1) {
    const bytes = opaque.opaque;
    const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
    return printable ? new TextDecoder().decode(bytes).trim() : Buffer.from(bytes).toString('base64');
  }
  return textOf(d)?.trim() ?? '';
}

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number.parseInt(s, 10);
  return Number.isFinite(n) ? n : undefined;
}

/** MetInf may appear directly in Meta or (SyncML 1.0 style) wrapped in <MetInf>. */
export function readMeta(e: SmlElement | undefined): Meta | undefined {
  if (!e) return undefined;
  const meta: Meta = {};
  const kids = childElements(e).flatMap((c) => (c.name === 'MetInf' ? childElements(c) : [c]));
  for (const c of kids) {
    const t = textOf(c)?.trim() ?? '';
    switch (c.name) {
      case 'Format': meta.format = t; break;
      case 'Type': meta.type = t; break;
      case 'Mark': meta.mark = t; break;
      case 'Size': { const n = num(t); if (n !== undefined) meta.size = n; break; }
      case 'Anchor': meta.anchor = readAnchor(c); break;
      case 'Version': meta.version = t; break;
      case 'NextNonce': meta.nextNonce = t; break;
      case 'MaxMsgSize': { const n = num(t); if (n !== undefined) meta.maxMsgSize = n; break; }
      case 'MaxObjSize': { const n = num(t); if (n !== undefined) meta.maxObjSize = n; break; }
      case 'FieldLevel': meta.fieldLevel = true; break;
      default: (meta.extra ??= []).push(c);
    }
  }
  return meta;
}

function readAnchor(e: SmlElement): Anchor {
  const a: Anchor = {};
  const last = childText(e, 'Last');
  const next = childText(e, 'Next');
  if (last !== undefined) a.last = last;
  if (next !== undefined) a.next = next;
  return a;
}

function readItem(e: SmlElement): Item {
  const item: Item = {};
  const target = readLoc(firstChild(e, 'Target'));
  if (target) item.target = target;
  const source = readLoc(firstChild(e, 'Source'));
  if (source) item.source = source;
  const sp = firstChild(e, 'SourceParent');
  if (sp) item.sourceParent = childText(sp, 'LocURI') ?? '';
  const tp = firstChild(e, 'TargetParent');
  if (tp) item.targetParent = childText(tp, 'LocURI') ?? '';
  const meta = readMeta(firstChild(e, 'Meta'));
  if (meta) item.meta = meta;
  const data = firstChild(e, 'Data');
  if (data) item.data = readData(data);
  if (firstChild(e, 'MoreData')) item.moreData = true;
  return item;
}

/**
 * Data holds text, or one structured element (DevInf, Anchor) in a foreign namespace. Some
 * SyncML 1.0 XML clients send their DevInf as text (`<![CDATA[<DevInf …>]]>` or escaped): such
 * text is parsed, so it reads like the element the WBXML form carries.
 */
function readData(e: SmlElement): ItemData {
  const elems = childElements(e);
  if (elems.length === 1) return elems[0]!;
  const text = textOf(e) ?? '';
  return devInfFromText(text) ?? text;
}

const DEVINF_TEXT_RE = /^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<DevInf[\s>]/;

function devInfFromText(text: string): SmlElement | undefined {
  if (!DEVINF_TEXT_RE.test(text)) return undefined;
  try {
    const root = decodeXml(text.trim());
    return root.name === 'DevInf' ? root : undefined;
  } catch {
    return undefined; // not well-formed: left as text (the engine answers as before)
  }
}

function base(e: SmlElement): { cmdId: string; noResp?: boolean; cred?: Cred; meta?: Meta } {
  const b: { cmdId: string; noResp?: boolean; cred?: Cred; meta?: Meta } = { cmdId: req(e, 'CmdID') };
  if (firstChild(e, 'NoResp')) b.noResp = true;
  const cred = readCred(firstChild(e, 'Cred'));
  if (cred) b.cred = cred;
  const meta = readMeta(firstChild(e, 'Meta'));
  if (meta) b.meta = meta;
  return b;
}

export function readCommand(e: SmlElement): Command {
  const items = (): Item[] => childElements(e, 'Item').map(readItem);
  switch (e.name) {
    case 'Alert': {
      const data = childText(e, 'Data');
      return { kind: 'Alert', ...base(e), ...(data !== undefined ? { data } : {}), items: items() };
    }
    case 'Add': case 'Replace': case 'Delete': case 'Copy': case 'Move':
      return {
        kind: e.name, ...base(e), items: items(),
        ...(firstChild(e, 'Archive') ? { archive: true } : {}),
        ...(firstChild(e, 'SftDel') ? { sftDel: true } : {}),
      };
    case 'Sync': {
      const cmd: Command = { kind: 'Sync', ...base(e), commands: [] };
      const target = readLoc(firstChild(e, 'Target'));
      if (target) cmd.target = target;
      const source = readLoc(firstChild(e, 'Source'));
      if (source) cmd.source = source;
      const noc = num(childText(e, 'NumberOfChanges'));
      if (noc !== undefined) cmd.numberOfChanges = noc;
      for (const c of childElements(e)) if (isCommandName(c.name)) cmd.commands.push(readCommand(c));
      return cmd;
    }
    case 'Put': case 'Get': {
      const lang = childText(e, 'Lang');
      return { kind: e.name, ...base(e), ...(lang !== undefined ? { lang } : {}), items: items() };
    }
    case 'Results': {
      const r: Command = { kind: 'Results', ...base(e), cmdRef: req(e, 'CmdRef'), items: items() };
      const msgRef = childText(e, 'MsgRef');
      if (msgRef !== undefined) r.msgRef = msgRef;
      const tr = childText(e, 'TargetRef');
      if (tr !== undefined) r.targetRef = tr;
      const sr = childText(e, 'SourceRef');
      if (sr !== undefined) r.sourceRef = sr;
      return r;
    }
    case 'Status': {
      const s: Command = {
        kind: 'Status',
        cmdId: req(e, 'CmdID'),
        msgRef: req(e, 'MsgRef'),
        cmdRef: req(e, 'CmdRef'),
        cmd: req(e, 'Cmd'),
        targetRefs: childElements(e, 'TargetRef').map((x) => textOf(x)!.trim()),
        sourceRefs: childElements(e, 'SourceRef').map((x) => textOf(x)!.trim()),
        data: req(e, 'Data'),
        items: items(),
      };
      const cred = readCred(firstChild(e, 'Cred'));
      if (cred) s.cred = cred;
      const chalEl = firstChild(e, 'Chal');
      if (chalEl) s.chal = { meta: readMeta(firstChild(chalEl, 'Meta')) ?? {} } satisfies Chal;
      return s;
    }
    case 'Map': {
      const target = readLoc(firstChild(e, 'Target'));
      const source = readLoc(firstChild(e, 'Source'));
      if (!target || !source) throw new GatewayError('BAD_MESSAGE', 'Map without Target or Source');
      const mapItems: MapItem[] = childElements(e, 'MapItem').map((mi) => {
        const t = readLoc(firstChild(mi, 'Target'));
        const s = readLoc(firstChild(mi, 'Source'));
        if (!t || !s) throw new GatewayError('BAD_MESSAGE', 'MapItem without Target or Source');
        return { target: t, source: s };
      });
      return { kind: 'Map', ...base(e), target, source, mapItems };
    }
    case 'Atomic': case 'Sequence':
      return { kind: e.name, ...base(e), commands: childElements(e).filter((c) => isCommandName(c.name)).map(readCommand) };
    default: {
      const cmdId = childText(e, 'CmdID') ?? '';
      return { kind: 'Other', name: e.name, cmdId, ...(firstChild(e, 'NoResp') ? { noResp: true } : {}), raw: e };
    }
  }
}

const NON_COMMAND_CHILDREN = new Set([
  'CmdID', 'NoResp', 'Cred', 'Meta', 'Target', 'Source', 'NumberOfChanges', 'Item', 'Archive', 'SftDel', 'Lang',
]);

function isCommandName(name: string): boolean {
  return !NON_COMMAND_CHILDREN.has(name);
}

// ---------------------------------------------------------------- model -> tree

export function messageToTree(msg: SyncMLMessage): SmlElement {
  const body: SmlNode[] = msg.body.map(writeCommand);
  if (msg.final) body.push(el('Final'));
  return el('SyncML', [writeHeader(msg.header), el('SyncBody', body)], NAMESPACES[msg.version]);
}

function text(name: string, value: string): SmlElement {
  return el(name, [value]);
}

function writeLoc(name: string, loc: LocRef): SmlElement {
  const kids: SmlNode[] = [text('LocURI', loc.locURI)];
  if (loc.locName !== undefined) kids.push(text('LocName', loc.locName));
  return el(name, kids);
}

function writeHeader(h: SyncHdr): SmlElement {
  const kids: SmlNode[] = [
    text('VerDTD', h.verDTD), text('VerProto', h.verProto), text('SessionID', h.sessionId), text('MsgID', h.msgId),
    writeLoc('Target', h.target), writeLoc('Source', h.source),
  ];
  if (h.respURI !== undefined) kids.push(text('RespURI', h.respURI));
  if (h.noResp) kids.push(el('NoResp'));
  if (h.cred) kids.push(writeCred(h.cred));
  if (h.meta) kids.push(writeMeta(h.meta));
  return el('SyncHdr', kids);
}

function writeCred(c: Cred): SmlElement {
  const kids: SmlNode[] = [];
  if (c.meta) kids.push(writeMeta(c.meta));
  kids.push(text('Data', c.data));
  return el('Cred', kids);
}

/** MetInf children carry the metinf namespace on each element, as libsynthesis writes it. */
export function writeMeta(m: Meta, name = 'Meta'): SmlElement {
  const kids: SmlNode[] = [];
  const mi = (n: string, v: string): SmlElement => el(n, [v], METINF_NS);
  if (m.format !== undefined) kids.push(mi('Format', m.format));
  if (m.type !== undefined) kids.push(mi('Type', m.type));
  if (m.mark !== undefined) kids.push(mi('Mark', m.mark));
  if (m.size !== undefined) kids.push(mi('Size', String(m.size)));
  if (m.anchor) kids.push(writeAnchor(m.anchor));
  if (m.version !== undefined) kids.push(mi('Version', m.version));
  if (m.nextNonce !== undefined) kids.push(mi('NextNonce', m.nextNonce));
  if (m.maxMsgSize !== undefined) kids.push(mi('MaxMsgSize', String(m.maxMsgSize)));
  if (m.maxObjSize !== undefined) kids.push(mi('MaxObjSize', String(m.maxObjSize)));
  if (m.fieldLevel) kids.push(el('FieldLevel', [], METINF_NS));
  if (m.extra) kids.push(...m.extra);
  return el(name, kids);
}

export function writeAnchor(a: Anchor): SmlElement {
  const kids: SmlNode[] = [];
  if (a.last !== undefined) kids.push(text('Last', a.last));
  if (a.next !== undefined) kids.push(text('Next', a.next));
  return el('Anchor', kids, METINF_NS);
}

function writeItem(item: Item): SmlElement {
  const kids: SmlNode[] = [];
  if (item.target) kids.push(writeLoc('Target', item.target));
  if (item.source) kids.push(writeLoc('Source', item.source));
  if (item.sourceParent !== undefined) kids.push(el('SourceParent', [text('LocURI', item.sourceParent)]));
  if (item.targetParent !== undefined) kids.push(el('TargetParent', [text('LocURI', item.targetParent)]));
  if (item.meta) kids.push(writeMeta(item.meta));
  if (item.data !== undefined) kids.push(el('Data', [typeof item.data === 'string' ? item.data : item.data]));
  if (item.moreData) kids.push(el('MoreData'));
  return el('Item', kids);
}

function writeBase(c: { cmdId: string; noResp?: boolean; cred?: Cred; meta?: Meta }, withMeta = true): SmlNode[] {
  const kids: SmlNode[] = [text('CmdID', c.cmdId)];
  if (c.noResp) kids.push(el('NoResp'));
  if (c.cred) kids.push(writeCred(c.cred));
  if (withMeta && c.meta) kids.push(writeMeta(c.meta));
  return kids;
}

export function writeCommand(c: Command): SmlElement {
  switch (c.kind) {
    case 'Alert': {
      const kids = writeBase(c, false);
      if (c.data !== undefined) kids.push(text('Data', c.data));
      kids.push(...c.items.map(writeItem));
      return el('Alert', kids);
    }
    case 'Add': case 'Replace': case 'Delete': case 'Copy': case 'Move': {
      const kids: SmlNode[] = [text('CmdID', c.cmdId)];
      if (c.noResp) kids.push(el('NoResp'));
      if (c.archive) kids.push(el('Archive'));
      if (c.sftDel) kids.push(el('SftDel'));
      if (c.cred) kids.push(writeCred(c.cred));
      if (c.meta) kids.push(writeMeta(c.meta));
      kids.push(...c.items.map(writeItem));
      return el(c.kind, kids);
    }
    case 'Sync': {
      const kids = writeBase(c, false);
      if (c.target) kids.push(writeLoc('Target', c.target));
      if (c.source) kids.push(writeLoc('Source', c.source));
      if (c.meta) kids.push(writeMeta(c.meta));
      if (c.numberOfChanges !== undefined) kids.push(text('NumberOfChanges', String(c.numberOfChanges)));
      kids.push(...c.commands.map(writeCommand));
      return el('Sync', kids);
    }
    case 'Put': case 'Get': {
      const kids: SmlNode[] = [text('CmdID', c.cmdId)];
      if (c.noResp) kids.push(el('NoResp'));
      if (c.lang !== undefined) kids.push(text('Lang', c.lang));
      if (c.cred) kids.push(writeCred(c.cred));
      if (c.meta) kids.push(writeMeta(c.meta));
      kids.push(...c.items.map(writeItem));
      return el(c.kind, kids);
    }
    case 'Results': {
      const kids: SmlNode[] = [text('CmdID', c.cmdId)];
      if (c.msgRef !== undefined) kids.push(text('MsgRef', c.msgRef));
      kids.push(text('CmdRef', c.cmdRef));
      if (c.meta) kids.push(writeMeta(c.meta));
      if (c.targetRef !== undefined) kids.push(text('TargetRef', c.targetRef));
      if (c.sourceRef !== undefined) kids.push(text('SourceRef', c.sourceRef));
      kids.push(...c.items.map(writeItem));
      return el('Results', kids);
    }
    case 'Status': {
      const kids: SmlNode[] = [
        text('CmdID', c.cmdId), text('MsgRef', c.msgRef), text('CmdRef', c.cmdRef), text('Cmd', c.cmd),
        ...c.targetRefs.map((r) => text('TargetRef', r)), ...c.sourceRefs.map((r) => text('SourceRef', r)),
      ];
      if (c.cred) kids.push(writeCred(c.cred));
      if (c.chal) kids.push(el('Chal', [writeMeta(c.chal.meta)]));
      kids.push(text('Data', c.data));
      kids.push(...c.items.map(writeItem));
      return el('Status', kids);
    }
    case 'Map': {
      const kids = writeBase(c, false);
      kids.push(writeLoc('Target', c.target), writeLoc('Source', c.source));
      if (c.meta) kids.push(writeMeta(c.meta));
      kids.push(...c.mapItems.map((mi) => el('MapItem', [writeLoc('Target', mi.target), writeLoc('Source', mi.source)])));
      return el('Map', kids);
    }
    case 'Atomic': case 'Sequence': {
      const kids = writeBase(c);
      kids.push(...c.commands.map(writeCommand));
      return el(c.kind, kids);
    }
    case 'Other':
      return c.raw;
  }
}

/** Command names in a body, in order (used by tests and logs). */
export function commandNames(msg: SyncMLMessage): string[] {
  return msg.body.map((c) => (c.kind === 'Other' ? c.name : c.kind));
}

export { isElement };
