// The server's package against the client's MaxMsgSize: what fits goes out, what does not waits
// for the next message, a large item is chunked on character boundaries, Final only at the end.
import assert from 'node:assert/strict';
import type { ItemCmd, SyncCmd } from '../../../src/codec/model.js';
import { sendServerChanges } from '../../../src/protocol/package-builder.js';
import { advancePackages } from '../../../src/protocol/packages.js';
import { byteLength, utf8Slice } from '../../../src/protocol/utf8.js';
import fc from 'fast-check';
import type { MessageContext } from '../../../src/protocol/message-context.js';
import { context, datastore, fakeSync, FRAME, session } from './support.js';

const bytes = (s: string): number => new TextEncoder().encode(s).length;

/** The Sync command of a built reply and its item commands. */
function serverSync(ctx: MessageContext): ItemCmd[] {
  const msg = ctx.reply.build(ctx.msg.header, '1.2');
  const sync = msg.body.find((c): c is SyncCmd => c.kind === 'Sync');
  return (sync?.commands ?? []) as ItemCmd[];
}

describe('protocol/package-builder: server changes by MaxMsgSize', function () {
  const budget = 1000;
  // After the Sync's own frame, an item command of FRAME + n bytes fits when n <= room.
  const roomForData = (used: number): number => budget - FRAME - used - FRAME;

  it('an item that exactly fits the room left goes out in the same message', async function () {
    const first = 'a'.repeat(100);
    const items = { h1: first, h2: 'b'.repeat(roomForData(FRAME + 100)) };
    const ds = datastore();
    const sess = session([ds]);
    const ctx = context(sess, fakeSync(items), budget);
    await sendServerChanges(ctx);
    assert.deepEqual(serverSync(ctx).map((c) => c.items[0]!.source!.locURI), ['h1', 'h2']);
    assert.equal(ctx.reply.room, 0);
    assert.equal(ds.serverDone, true);
    assert.deepEqual(Object.keys(sess.sent).sort(), ['3:2:0', '3:3:0']);
    assert.deepEqual(Object.keys(ds.awaitingMap).sort(), ['h1', 'h2']);
  });

  it("an Add's details are stored once: awaitingMap has them, its Status record only the guid", async function () {
    const ds = datastore();
    const sess = session([ds]);
    await sendServerChanges(context(sess, fakeSync({ h1: 'a', h2: 'b' }), budget));
    assert.deepEqual(sess.sent, {
      '3:2:0': { ds: 'contacts', op: 'Add', guid: 'h1' },
      '3:3:0': { ds: 'contacts', op: 'Add', guid: 'h2' },
    });
    assert.deepEqual(ds.awaitingMap['h1'], { op: 'Add', href: 'h1', etag: '"h1"', guid: 'h1' });
  });

  it('one byte over: the item waits for the next message and the package is not done', async function () {
    const items = { h1: 'a'.repeat(100), h2: 'b'.repeat(roomForData(FRAME + 100) + 1) };
    const ds = datastore();
    const sess = session([ds]);
    const sync = fakeSync(items);
    const ctx = context(sess, sync, budget);
    await sendServerChanges(ctx);
    assert.deepEqual(serverSync(ctx).map((c) => c.items[0]!.source!.locURI), ['h1']);
    assert.equal(ds.serverDone, false);
    assert.deepEqual(ds.outgoing.map((c) => c.href), ['h2']);
    const next = context(sess, sync, budget);
    await sendServerChanges(next);
    assert.deepEqual(serverSync(next).map((c) => c.items[0]!.source!.locURI), ['h2']);
    assert.equal(ds.serverDone, true);
  });

  it('an item larger than any message, without large-object support, is left out (not chunked)', async function () {
    const items = { big: 'x'.repeat(roomForData(0) + 1), small: 'y' };
    const ds = datastore();
    const sess = session([ds]);
    const ctx = context(sess, fakeSync(items), budget);
    await sendServerChanges(ctx);
    assert.deepEqual(serverSync(ctx).map((c) => c.items[0]!.source!.locURI), ['small']);
    assert.equal(sess.outChunk, undefined);
    assert.equal(ds.serverDone, true);
  });

  it('MaxObjSize: an item over the device limit is not sent, one at the limit is', async function () {
    const items = { over: 'x'.repeat(11), at: 'y'.repeat(10) };
    const ds = datastore();
    const sess = session([ds], { clientMaxObjSize: 10 });
    const ctx = context(sess, fakeSync(items), budget);
    await sendServerChanges(ctx);
    assert.deepEqual(serverSync(ctx).map((c) => c.items[0]!.source!.locURI), ['at']);
  });

  it('large objects: chunks are cut on UTF-8 character boundaries, Size in the first, MoreData in all but the last', async function () {
    const text = '€'.repeat(1000); // 3 bytes each: the chunk room (550 bytes) falls inside a character
    const ds = datastore();
    const sess = session([ds], { deviceInfo: { supportLargeObjs: true, datastores: [] } as never });
    const sync = fakeSync({ big: text });
    const chunks: ItemCmd[] = [];
    for (let n = 0; n < 20 && !ds.serverDone; n++) {
      const ctx = context(sess, sync, budget);
      await sendServerChanges(ctx);
      const cmds = serverSync(ctx);
      assert.equal(cmds.length, 1, 'one chunk per message');
      chunks.push(cmds[0]!);
    }
    assert.equal(ds.serverDone, true);
    assert.ok(chunks.length > 2);
    const data = chunks.map((c) => c.items[0]!.data as string);
    for (const d of data) assert.ok(!d.includes('\uFFFD') && bytes(d) % 3 === 0, 'no character split');
    assert.equal(data.join(''), text);
    assert.equal(chunks[0]!.items[0]!.meta?.size, bytes(text));
    assert.ok(chunks.slice(1).every((c) => c.items[0]!.meta?.size === undefined));
    assert.deepEqual(chunks.map((c) => !!c.items[0]!.moreData), [...chunks.slice(1).map(() => true), false]);
    assert.equal(sess.outChunk, undefined);
    // Only the complete item is recorded, under the message and command of its last chunk.
    assert.equal(Object.keys(sess.sent).length, 1);
    assert.deepEqual(Object.keys(ds.awaitingMap), ['big']);
  });

  it('utf8Slice never splits a character, also a 4-byte one', function () {
    assert.deepEqual(utf8Slice('a😀b', 0, 3), { text: 'a', bytes: 1 });
    assert.deepEqual(utf8Slice('a😀b', 1, 4), { text: '😀', bytes: 4 });
    assert.deepEqual(utf8Slice('a😀b', 1, 5), { text: '😀b', bytes: 5 });
    assert.deepEqual(utf8Slice('éé', 0, 3), { text: 'é', bytes: 2 });
  });

  it('byteLength counts what TextEncoder writes, lone surrogates included (fast-check)', function () {
    const unit = fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udfff', '\u0000');
    fc.assert(fc.property(fc.string({ unit, maxLength: 30 }), (s) => assert.equal(byteLength(s), new TextEncoder().encode(s).length)), { numRuns: 3000 });
  });

  it('keep-alive: past the reply deadline the message goes out after the current batch', async function () {
    const items = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`h${i}`, 'z']));
    const ds = datastore();
    const sess = session([ds]);
    const sync = fakeSync(items);
    const ctx = context(sess, sync, 100_000);
    ctx.deadline = Date.now() - 1;
    await sendServerChanges(ctx);
    assert.equal(serverSync(ctx).length, 25);
    assert.equal(ds.serverDone, false);
    const next = context(sess, sync, 100_000);
    await sendServerChanges(next);
    assert.equal(serverSync(next).length, 5);
    assert.equal(ds.serverDone, true);
  });

  it('large items: after the first batch only about what fits is fetched and converted, each item sent once in order', async function () {
    // ~3 items of 250 bytes fit into a 1000-byte message. A batch of 25 per message materialised
    // each item ~8 times before (photo contacts: 3 of 25 fitted).
    const items = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`h${String(i).padStart(2, '0')}`, 'p'.repeat(250)]));
    const ds = datastore();
    const sess = session([ds]);
    const sync = fakeSync(items);
    const take = sync.takeOutgoing.bind(sync);
    let materialised = 0;
    sync.takeOutgoing = async (s, max) => {
      const got = await take(s, max);
      materialised += got.length;
      return got;
    };
    const sent: string[] = [];
    let messages = 0;
    while (!ds.serverDone && messages < 100) {
      const ctx = context(sess, sync, budget);
      await sendServerChanges(ctx);
      messages++;
      const got = serverSync(ctx).map((c) => c.items[0]!.source!.locURI!);
      assert.ok(got.length > 0, `message ${messages} carries changes`);
      sent.push(...got);
    }
    assert.deepEqual(sent, Object.keys(items));
    // The first batch (25, nothing known yet) plus at most one change per message that did not fit.
    assert.ok(materialised <= 60 + 25 + messages, `materialised ${materialised} for 60 items in ${messages} messages`);
    assert.ok(ds.outgoingItemBytes! > 250 && ds.outgoingItemBytes! < 400, String(ds.outgoingItemBytes));
  });

  it('small items still go 25 at a time once their size is known', async function () {
    const items = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`h${i}`, 'z']));
    const ds = datastore();
    const sess = session([ds]);
    const sync = fakeSync(items);
    const take = sync.takeOutgoing.bind(sync);
    const maxes: number[] = [];
    sync.takeOutgoing = async (s, max) => {
      maxes.push(max);
      return take(s, max);
    };
    await sendServerChanges(context(sess, sync, 100_000));
    assert.equal(ds.serverDone, true);
    assert.deepEqual(maxes, [25, 25, 25]);
  });

  it('Final only in the last message of the server package; then the session waits for the Map', async function () {
    const items = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`h${i}`, 'q'.repeat(300)]));
    const ds = datastore({ clientDone: false });
    const sess = session([ds]);
    const sync = fakeSync(items);
    const finals: boolean[] = [];
    for (let n = 0; n < 10 && sess.phase === 'sync'; n++) {
      // The client's package 3 ends with Final in its first message; later ones carry only statuses.
      const ctx = context(sess, sync, budget, { final: n === 0 });
      await advancePackages(ctx);
      finals.push(ctx.reply.final);
      assert.ok(serverSync(ctx).length > 0);
    }
    assert.ok(finals.length > 1);
    assert.deepEqual(finals, [...finals.slice(1).map(() => false), true]);
    assert.equal(sess.phase, 'map');
  });
});
