import { strict as assert } from 'assert';
import { HandleTracker, exactKeyPart, toWords } from './tables';

describe('softnic table indexes', () => {
  it('allocates bmv2 handles: lowest free slot, kept while the entry lives and across modify', () => {
    const t = new HandleTracker();
    const handles = (...sequences: number[]) => sequences.map((s) => t.handle(s));
    t.update([], [2, 0, 1]);
    assert.deepEqual(handles(0, 1, 2), [0, 1, 2], 'in insertion order');
    // Entries 0 and 1 deleted, 3 and 4 inserted: they reuse slots 0 and 1, entry 2 keeps slot 2.
    t.update([0, 1], [3, 4]);
    assert.deepEqual(handles(2, 3, 4), [2, 0, 1]);
    t.update([], [5]);
    assert.equal(t.handle(5), 3);
    // Entry 3 modified (same sequence out and in) keeps its slot; entry 2 deleted frees slot 2.
    t.update([3, 2], [3, 6]);
    assert.deepEqual(handles(3, 6), [0, 2]);
  });

  it('splits wide values into big-endian words and keys narrow ones as numbers', () => {
    assert.deepEqual(
      toWords(0x0102030405060708090a0b0c0d0e0f10n, 128),
      [0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10],
    );
    assert.deepEqual(toWords(0xffffffffn, 32), [0xffffffff]);
    assert.equal(exactKeyPart(0x020000000007n, 48), String(0x020000000007));
    assert.equal(exactKeyPart(1n << 64n, 128), '0.1.0.0');
  });
});
