// Fast path of the XML decoder: one scan for the shape SyncML clients send (elements, xmlns
// attributes, text with the five XML entities, CDATA), giving exactly the tree that
// fast-xml-parser's validator + parser + toElement give for it. A phone's Status and Map messages
// during a refresh cost ~28 µs per item through the two library passes, the largest codec cost.
// Anything else (comments, DOCTYPE, processing instructions, character references, other
// attributes' oddities, errors of any kind) returns undefined, and decodeXml takes the library
// path, which also words the errors. Why by hand: no maintained XML library builds this tree in
// one strict pass; the library path stays the reference, and tests hold the two equal.
import type { SmlElement, SmlNode } from './tree.js';

/** An element name, optionally with one prefix; the local name is group 1 of the match's end. */
const QNAME = '[A-Za-z_][\\w.-]*(?::[A-Za-z_][\\w.-]*)?';
/** An attribute whose value needs no normalising or entity decoding. */
const ATTR = `\\s+(${QNAME})\\s*=\\s*(?:"([^"<&\\t\\n]*)"|'([^'<&\\t\\n]*)')`;
const OPEN_TAG = new RegExp(`^(${QNAME})((?:${ATTR})*)\\s*(/?)$`);
const ONE_ATTR = new RegExp(ATTR, 'g');
const CLOSE_TAG = new RegExp(`^/(${QNAME})\\s*$`);
const QUOTED = `(?:"[^"<>]*"|'[^'<>]*')`;
const DOCTYPE_BODY = `<!DOCTYPE\\s+${QNAME}(?:\\s+(?:PUBLIC\\s+${QUOTED}\\s+${QUOTED}|SYSTEM\\s+${QUOTED}))?\\s*>`;
const DOCTYPE = new RegExp(`^${DOCTYPE_BODY}`);
const DOCTYPE_AFTER_DECLARATION = new RegExp(`^\\s*${DOCTYPE_BODY}`);
const DECLARATION = /^<\?xml(?:\s+[A-Za-z]+\s*=\s*(?:"[^"<>?]*"|'[^'<>?]*'))*\s*\?>/;

interface Open {
  qname: string;
  name: string;
  ns: string | undefined;
  children: SmlNode[];
  hasElement: boolean;
}

/** The root element, or undefined when the text is not of the plain shape (see above). */
export function scanXml(source: string, maxDepth: number): SmlElement | undefined {
  // XML line-end handling, as the library path does it for the whole text (CDATA included).
  const text = source.indexOf('\r') < 0 ? source : source.replace(/\r\n?/g, '\n');
  const n = text.length;
  let k = 0;
  const decl = DECLARATION.exec(text);
  if (decl) k = decl[0].length;
  // A DOCTYPE naming the public DTD, as some phones write it (one with an internal subset never
  // gets here: decodeXml refuses it first).
  // The library refuses whitespace before it unless a declaration comes first.
  const doctype = (decl ? DOCTYPE_AFTER_DECLARATION : DOCTYPE).exec(text.slice(k, k + 400));
  if (doctype) k += doctype[0].length;
  const stack: Open[] = [];
  let root: SmlElement | undefined;
  while (k < n) {
    const lt = text.indexOf('<', k);
    const end = lt < 0 ? n : lt;
    if (end > k) {
      const top = stack[stack.length - 1];
      if (!top) {
        if (!isXmlSpace(text, k, end)) return undefined;
      } else {
        const decoded = decodeEntities(text.slice(k, end));
        if (decoded === undefined) return undefined;
        addText(top, decoded);
      }
    }
    if (lt < 0) break;
    if (text.startsWith('<![CDATA[', lt)) {
      const top = stack[stack.length - 1];
      const close = text.indexOf(']]>', lt + 9);
      if (!top || close < 0) return undefined;
      addText(top, text.slice(lt + 9, close));
      k = close + 3;
      continue;
    }
    const gt = text.indexOf('>', lt + 1);
    if (gt < 0) return undefined;
    const inner = text.slice(lt + 1, gt);
    k = gt + 1;
    if (inner.charCodeAt(0) === 0x2f) {
      const close = CLOSE_TAG.exec(inner);
      const open = stack.pop();
      if (!close || !open || open.qname !== close[1]) return undefined;
      const done = finish(open);
      const parent = stack[stack.length - 1];
      if (parent) addElement(parent, done);
      else root = done;
      continue;
    }
    const tag = OPEN_TAG.exec(inner);
    if (!tag || (stack.length === 0 && root !== undefined) || stack.length + 1 > maxDepth) return undefined;
    const qname = tag[1]!;
    let ns: string | undefined;
    if (tag[2]) {
      const seen = new Set<string>();
      ONE_ATTR.lastIndex = 0;
      for (let a = ONE_ATTR.exec(tag[2]); a; a = ONE_ATTR.exec(tag[2])) {
        const attrName = a[1]!;
        if (seen.has(attrName)) return undefined;
        seen.add(attrName);
        if (attrName === 'xmlns') ns = a[2] ?? a[3];
      }
    }
    const open: Open = { qname, name: localName(qname), ns, children: [], hasElement: false };
    if (tag[tag.length - 1] === '/') {
      const done = finish(open);
      const parent = stack[stack.length - 1];
      if (parent) addElement(parent, done);
      else root = done;
    } else {
      stack.push(open);
    }
  }
  return stack.length === 0 ? root : undefined;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

function addText(el: Open, s: string): void {
  const last = el.children.length - 1;
  // Adjacent text and CDATA sections form one text value.
  if (last >= 0 && typeof el.children[last] === 'string') el.children[last] = (el.children[last] as string) + s;
  else el.children.push(s);
}

function addElement(parent: Open, child: SmlElement): void {
  parent.hasElement = true;
  parent.children.push(child);
}

function finish(open: Open): SmlElement {
  // Whitespace between elements is formatting, not content.
  const kept = open.hasElement ? open.children.filter((c) => typeof c !== 'string' || c.trim() !== '') : open.children;
  const el: SmlElement = { name: open.name, children: kept };
  if (open.ns !== undefined) el.ns = open.ns;
  return el;
}

function isXmlSpace(text: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a) return false;
  }
  return true;
}

const ENTITIES = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['quot', '"'], ['apos', "'"]]);

/** Text with the five XML entities decoded; undefined for any other `&` (the library path's). */
function decodeEntities(s: string): string | undefined {
  let amp = s.indexOf('&');
  if (amp < 0) return s;
  let out = '';
  let from = 0;
  while (amp >= 0) {
    const semi = s.indexOf(';', amp + 1);
    const decoded = semi > amp && semi - amp <= 5 ? ENTITIES.get(s.slice(amp + 1, semi)) : undefined;
    if (decoded === undefined) return undefined;
    out += s.slice(from, amp) + decoded;
    from = semi + 1;
    amp = s.indexOf('&', from);
  }
  return out + s.slice(from);
}
