import { strict as assert } from 'assert';
import fc from 'fast-check';
import {
  Prefix,
  formatPrefix,
  normalizePrefixes,
  parseAddress,
  parseCidr,
  prefixContainsAddress,
  prefixSetContains,
  subtractPrefixes,
} from './addr';

const cidr = (text: string): Prefix => {
  const r = parseCidr(text);
  assert.ok('prefix' in r, text);
  return r.prefix;
};

describe('addresses', () => {
  it('accepts only unambiguous spellings', () => {
    assert.equal(parseAddress('10.0.0.1')?.value, 0x0a000001n);
    for (const bad of ['127.1', '010.0.0.1', '10.0.0.256', 'fe80::1%eth0', '1.2.3.4.5', ' 10.0.0.1']) {
      assert.equal(parseAddress(bad), null, bad);
    }
    assert.equal(parseAddress('10.0.0.1', 6), null);
    assert.equal(parseAddress('2001:DB8::1', 6)?.family, 6);
  });

  it('normalizes CIDRs and refuses host bits', () => {
    assert.equal(formatPrefix(cidr('2001:0DB8:0000::/32')), '2001:db8::/32');
    assert.equal(formatPrefix(cidr('192.0.2.7')), '192.0.2.7/32');
    const r = parseCidr('10.0.0.1/8');
    assert.ok('error' in r && r.expected.includes('10.0.0.0/8'));
  });

  it('merges sibling and covered prefixes', () => {
    const merged = normalizePrefixes(['192.0.2.0/25', '192.0.2.128/25', '192.0.2.5/32'].map(cidr)).map(
      formatPrefix,
    );
    assert.deepEqual(merged, ['192.0.2.0/24']);
  });

  it('subtracts exactly: an address is in A - B iff it is in A and not in B', () => {
    const universe = fc.constantFrom(
      ...[
        '10.0.0.0/8',
        '10.0.0.0/9',
        '10.128.0.0/9',
        '10.1.2.0/24',
        '10.1.2.3/32',
        '10.200.0.0/16',
        '11.0.0.0/8',
      ].map(cidr),
    );
    fc.assert(
      fc.property(
        fc.array(universe, { maxLength: 3 }),
        fc.array(universe, { maxLength: 3 }),
        fc.array(fc.integer({ min: 0x0a000000, max: 0x0bffffff }), { maxLength: 30 }),
        (a, b, probes) => {
          const diff = subtractPrefixes(a, b);
          for (const p of [...probes, 0x0a010203, 0x0a010204, 0x0a800000, 0x0a7fffff]) {
            const addr = { family: 4 as const, value: BigInt(p) };
            const inA = a.some((x) => prefixContainsAddress(x, addr));
            const inB = b.some((x) => prefixContainsAddress(x, addr));
            assert.equal(
              diff.some((x) => prefixContainsAddress(x, addr)),
              inA && !inB,
            );
          }
          assert.ok(prefixSetContains(a, diff));
          for (let i = 1; i < diff.length; i++)
            assert.ok(diff[i - 1].value < diff[i].value, 'disjoint and sorted');
        },
      ),
    );
  });
});
