// Pieces of the Sync handler: bounded parallel applies (results in input order, nothing left
// running behind an error) and the Size check of assembled chunks.
import assert from 'node:assert/strict';
import { APPLY_CONCURRENCY, mapBounded } from '../../../src/protocol/commands/sync.js';
import { sizeMatches } from '../../../src/protocol/commands/sync-item.js';

describe('protocol/commands/sync', function () {
  it('mapBounded keeps input order and never runs more than the limit at once', async function () {
    let running = 0;
    let most = 0;
    const out = await mapBounded([30, 5, 20, 1, 10, 2], 2, async (ms) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return ms * 10;
    });
    assert.deepEqual(out, [300, 50, 200, 10, 100, 20]);
    assert.equal(most, 2);
    assert.equal(APPLY_CONCURRENCY, 4);
  });

  it('mapBounded waits for every call to settle before rethrowing the first failure', async function () {
    const settled: number[] = [];
    await assert.rejects(mapBounded([1, 2, 3, 4], 4, async (n) => {
      await new Promise((r) => setTimeout(r, n * 5));
      settled.push(n);
      if (n === 1) throw new Error('first');
      if (n === 3) throw new Error('third');
      return n;
    }), /first/);
    assert.deepEqual(settled.sort(), [1, 2, 3, 4]);
  });

  it('sizeMatches: bytes as sent, bytes with the CRs XML parsing dropped, or characters', function () {
    const text = 'a\nb€';
    const bytes = new TextEncoder().encode(text); // 6 bytes, 1 LF, 4 characters
    assert.ok(sizeMatches(bytes, text, 6));
    assert.ok(sizeMatches(bytes, text, 7));
    assert.ok(sizeMatches(bytes, text, 4));
    assert.ok(!sizeMatches(bytes, text, 5));
    assert.ok(!sizeMatches(bytes, text, 8));
  });
});
