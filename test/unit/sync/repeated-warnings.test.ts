import assert from 'node:assert/strict';
import { RepeatedWarnings } from '../../../src/sync/repeated-warnings.js';

describe('sync: RepeatedWarnings (each conversion warning text once per batch)', function () {
  it('says "log it" the first time only, counts the rest with a few of their items, and starts over after drain', function () {
    const w = new RepeatedWarnings();
    assert.equal(w.first('a', 'L1'), true);
    assert.equal(w.first('b', 'L1'), true);
    for (let i = 2; i <= 9; i++) assert.equal(w.first('a', `L${i}`), false);
    assert.deepEqual(w.drain(), [{ message: 'a', repeats: 8, luids: ['L2', 'L3', 'L4', 'L5', 'L6'] }]);
    assert.deepEqual(w.drain(), []);
    assert.equal(w.first('a', 'L10'), true);
  });

  it('follows at most 100 distinct texts; past that every warning is logged as it comes', function () {
    const w = new RepeatedWarnings();
    for (let i = 0; i < 100; i++) assert.equal(w.first(`m${i}`, 'L'), true);
    assert.equal(w.first('m100', 'L1'), true);
    assert.equal(w.first('m100', 'L2'), true, 'not followed, so never summed up: logged each time');
    assert.equal(w.first('m0', 'L3'), false);
    assert.deepEqual(w.drain(), [{ message: 'm0', repeats: 1, luids: ['L3'] }]);
  });
});
