import { strict as assert } from 'assert';
import fc from 'fast-check';
import { PlainDataHasher, samePlainData } from './plainData';

// Small domains, so that random pairs are often equal or nearly so.
const smallJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('a', 'b', 'TCP', ''),
    fc.constantFrom(0, -0, 1, 443, 1.5, 2 ** 40),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('cidr', 'except', 'port'), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** The same data as new objects, built member by member in the same order. */
function rebuilt(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebuilt);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = rebuilt((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

describe('samePlainData', () => {
  it('only calls values the same when JSON.stringify writes them alike', () => {
    fc.assert(
      fc.property(smallJson, smallJson, (a, b) => {
        if (samePlainData(a, b)) assert.equal(JSON.stringify(a), JSON.stringify(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('calls data rebuilt as new objects the same, and hashes it alike', () => {
    fc.assert(
      fc.property(smallJson, (a) => {
        const b = rebuilt(a);
        assert.equal(samePlainData(a, b), true);
        const hasher = new PlainDataHasher();
        assert.equal(hasher.hash(a), hasher.hash(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('tells apart what JSON.stringify would hide or what it writes differently', () => {
    assert.equal(samePlainData({ a: 1, b: 2 }, { b: 2, a: 1 }), false, 'key order');
    assert.equal(samePlainData([undefined], [null]), false, 'undefined against null');
    assert.equal(samePlainData({ a: undefined }, {}), false, 'a member that JSON leaves out');
    assert.equal(samePlainData([NaN], [NaN]), false, 'two NaNs');
    assert.equal(samePlainData(new Date(0), {}), false, 'a Date');
    assert.equal(samePlainData([1, 2], { 0: 1, 1: 2 }), false, 'array against object');
    assert.equal(samePlainData([1, 2], [1, 2, 3]), false, 'lengths');
    assert.equal(samePlainData(0, -0), true, 'JSON writes -0 as 0');
    assert.equal(samePlainData({ a: undefined }, { a: undefined }), true);
  });

  it('hashes different data differently, mostly', () => {
    const hasher = new PlainDataHasher();
    const values = [
      [{ cidr: '10.0.0.0/8', except: [] }],
      [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }],
      [{ protocol: 'TCP', port: 443 }],
      [{ protocol: 'TCP', port: 444 }],
      [{ port: 443, protocol: 'TCP' }],
      ['a', 'b'],
      ['ab'],
      [['a'], 'b'],
      [1.5],
      ['1.5'],
      [true],
      [null],
      [],
    ];
    const hashes = new Set(values.map((v) => hasher.hash(v)));
    assert.equal(hashes.size, values.length);
  });
});
