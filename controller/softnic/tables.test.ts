import { strict as assert } from 'assert';
import { HandleTracker, exactKeyPart, toWords } from './tables';
import type { StoredEntry } from './state';

const entries = (...sequences: number[]) => sequences.map((sequence) => ({ sequence }) as StoredEntry);

describe('softnic table indexes', () => {
  it('allocates bmv2 handles: lowest free slot, kept while the entry lives', () => {
    const t = new HandleTracker();
    let h = t.sync(entries(0, 1, 2));
    assert.deepEqual([h.get(0), h.get(1), h.get(2)], [0, 1, 2]);
    // Entries 0 and 1 deleted, 3 and 4 inserted: they reuse slots 0 and 1, entry 2 keeps slot 2.
    h = t.sync(entries(2, 3, 4));
    assert.deepEqual([h.get(2), h.get(3), h.get(4)], [2, 0, 1]);
    h = t.sync(entries(2, 3, 4, 5));
    assert.equal(h.get(5), 3);
    h = t.sync(entries(3, 4, 5, 6));
    assert.equal(h.get(6), 2, 'the slot entry 2 left');
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
