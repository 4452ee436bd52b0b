// XML codec and message mapping against real captures: every well-formed SyncML message parses,
// serialize∘parse keeps the model (and so the command sequence), broken files fail cleanly.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeXml, encodeXml, formatXml } from '../../../src/codec/xml.js';
import { commandNames, messageToTree, treeToMessage } from '../../../src/codec/message.js';
import { childElements, firstChild, type SmlElement } from '../../../src/codec/tree.js';
import { isGatewayError } from '../../../src/errors.js';
import { listFilesBelow as walk, requireShared, SHARED_DIR as shared } from '../../support/shared.js';

const files = [...walk(path.join(shared, 'corpus')), ...walk(path.join(shared, 'fixtures', 'syncevolution'))]
  .filter((f) => /\.(xml|txt)$/.test(f) && !f.endsWith('.decoded.xml'))
  .filter((f) => /<SyncML[\s>]/.test(readFileSync(f, 'latin1')));

/** Files the corpus marks as not well-formed (see corpus/VALIDATION.md). */
const MALFORMED = new Set(['funambol-cpp-client-api/testcases/devInfResults2.xml', 'funambol-cpp-client-api/testcases/wrongex.xml']);

function bodyNames(root: SmlElement): string[] {
  const body = firstChild(root, 'SyncBody');
  return body ? childElements(body).map((c) => c.name).filter((n) => n !== 'Final') : [];
}

describe('XML codec on real captures', function () {
  before(function () {
    requireShared(this);
  });
  it('finds the captures', function () {
    assert.ok(files.length > 150, `found ${files.length}`);
  });

  let complete = 0;
  after(function () {
    if (files.length === 0) return; // requireShared() said why
    assert.ok(complete > 150, `only ${complete} complete messages`);
  });

  for (const file of files) {
    const rel = path.relative(path.join(shared, 'corpus'), file);
    it(path.relative(shared, file), function () {
      let bytes = readFileSync(file);
      // Some captures keep the HTTP request line and headers in front of the XML.
      const start = bytes.indexOf('<');
      if (start > 0 && !/^\s*$/.test(bytes.subarray(0, start).toString('latin1'))) bytes = bytes.subarray(bytes.indexOf('<?xml') >= 0 ? bytes.indexOf('<?xml') : start);
      if (MALFORMED.has(rel)) {
        assert.throws(() => decodeXml(bytes), (e: unknown) => isGatewayError(e, 'BAD_MESSAGE'));
        return;
      }
      const tree = decodeXml(bytes);
      if (tree.name !== 'SyncML' || !firstChild(tree, 'SyncHdr') || !firstChild(tree, 'SyncBody')) return; // fragment
      let msg;
      try {
        msg = treeToMessage(tree);
      } catch (err) {
        // Deliberately incomplete captures (buteo respinvalid*) must fail with a reason, never crash.
        assert.ok(isGatewayError(err, 'BAD_MESSAGE'), String(err));
        return;
      }
      complete++;
      assert.deepEqual(commandNames(msg), bodyNames(tree), 'command order preserved');
      const again = treeToMessage(decodeXml(encodeXml(messageToTree(msg))));
      assert.deepEqual(again, msg);
      assert.ok(formatXml(messageToTree(msg)).includes('<SyncHdr>'));
    });
  }
});

describe('XML codec edge cases', function () {
  it('keeps CDATA and entity-escaped text exactly (line ends normalised to LF, as XML 1.0 §2.11 requires)', function () {
    const tree = decodeXml('<SyncML><Data><![CDATA[BEGIN:VCARD\r\nN:A&B;<x>\r\nEND:VCARD]]></Data><D2>a &amp; b &lt;c&gt;</D2></SyncML>');
    assert.equal((tree.children[0] as SmlElement).children[0], 'BEGIN:VCARD\nN:A&B;<x>\nEND:VCARD');
    assert.equal((tree.children[1] as SmlElement).children[0], 'a & b <c>');
  });

  it('accepts a DOCTYPE without internal subset and compares namespaces case-insensitively', function () {
    const msg = treeToMessage(decodeXml(
      '<?xml version="1.0"?><!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.1//EN" "http://www.syncml.org/docs/syncml_represent_v11_20020213.dtd">' +
      '<SyncML xmlns="syncml:syncml1.1"><SyncHdr><VerDTD>1.1</VerDTD><VerProto>SyncML/1.1</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>' +
      '<Target><LocURI>http://x/</LocURI></Target><Source><LocURI>IMEI:1</LocURI></Source></SyncHdr><SyncBody><Final/></SyncBody></SyncML>'));
    assert.equal(msg.version, '1.1');
    assert.equal(msg.final, true);
  });

  it('rejects nesting deeper than the limit', function () {
    const deep = '<a>'.repeat(100) + '</a>'.repeat(100);
    assert.throws(() => decodeXml(deep), /nesting deeper/);
  });

  it('rejects an unsupported VerDTD with UNSUPPORTED_VERSION', function () {
    const xml = '<SyncML><SyncHdr><VerDTD>3.0</VerDTD><VerProto>SyncML/3.0</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>' +
      '<Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI></Source></SyncHdr><SyncBody/></SyncML>';
    assert.throws(() => treeToMessage(decodeXml(xml)), (e: unknown) => isGatewayError(e, 'UNSUPPORTED_VERSION'));
  });
});
