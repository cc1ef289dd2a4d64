import { strict as assert } from 'assert';
import fc from 'fast-check';
import {
  canonicalBytes,
  decodeFieldMatch,
  decodeUnsigned,
  encodeFieldMatch,
  encodeUnsigned,
  exactMatch,
  formatIPv4,
  formatIPv6,
  formatMac,
  lpmMatch,
  MatchFieldSpec,
  optionalMatch,
  P4ValueError,
  P4ValueErrorCode,
  parseInteger,
  parseIPv4,
  parseIPv6,
  parseMac,
  parseValue,
  rangeMatch,
  ternaryMatch,
  toBigInt,
} from './values';

const hexOf = (buf: Buffer | null | undefined) => buf?.toString('hex');
const bytes = (hex: string) => Buffer.from(hex, 'hex');

function throwsP4(fn: () => unknown, code: P4ValueErrorCode, message?: RegExp, status?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof P4ValueError, `expected P4ValueError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    if (status) assert.equal(err.status, status);
    return true;
  });
}

const dst: MatchFieldSpec = { id: 1, name: 'hdr.ipv4.dst_addr', bitwidth: 32, matchType: 'LPM' };
const proto: MatchFieldSpec = { id: 2, name: 'hdr.ipv4.protocol', bitwidth: 8, matchType: 'TERNARY' };
const port: MatchFieldSpec = { id: 3, name: 'meta.l4_dport', bitwidth: 16, matchType: 'RANGE' };
const agent: MatchFieldSpec = { id: 4, name: 'meta.agent_id', bitwidth: 12, matchType: 'EXACT' };
const vlan: MatchFieldSpec = { id: 5, name: 'meta.vlan', bitwidth: 12, matchType: 'OPTIONAL' };
const v6: MatchFieldSpec = { id: 6, name: 'hdr.ipv6.dst_addr', bitwidth: 128, matchType: 'LPM' };

describe('p4runtime/values', () => {
  describe('encodeUnsigned (P4Runtime §8.3 canonical form)', () => {
    it('encodes zero as a single zero byte', () => {
      assert.equal(hexOf(encodeUnsigned(0, 8)), '00');
      assert.equal(hexOf(encodeUnsigned(0n, 128)), '00');
      assert.equal(hexOf(encodeUnsigned('0', 1)), '00');
    });

    it('uses the shortest big-endian string', () => {
      assert.equal(hexOf(encodeUnsigned(99, 16)), '63');
      assert.equal(hexOf(encodeUnsigned(12388, 16)), '3064');
      assert.equal(hexOf(encodeUnsigned(255, 8)), 'ff');
      assert.equal(hexOf(encodeUnsigned(256, 9)), '0100');
      assert.equal(hexOf(encodeUnsigned(1, 1)), '01');
      assert.equal(hexOf(encodeUnsigned(2 ** 53 - 1, 53)), '1fffffffffffff');
    });

    it('encodes 64- and 128-bit values', () => {
      assert.equal(hexOf(encodeUnsigned(1n << 64n, 65)), '01' + '00'.repeat(8));
      assert.equal(hexOf(encodeUnsigned((1n << 128n) - 1n, 128)), 'ff'.repeat(16));
      assert.equal(hexOf(encodeUnsigned(0x0102030405060708090an, 80)), '0102030405060708090a');
      assert.equal(hexOf(encodeUnsigned('2001:db8::1', 128)), '20010db8' + '00'.repeat(11) + '01');
    });

    it('accepts every input form for the same value', () => {
      for (const input of [10n, 10, '10', '0xa', '0XA', bytes('000a')]) {
        assert.equal(hexOf(encodeUnsigned(input, 8)), '0a', `input ${String(input)}`);
      }
      assert.equal(hexOf(encodeUnsigned('10.0.0.1', 32)), '0a000001');
      assert.equal(hexOf(encodeUnsigned('00:00:5e:00:53:01', 48)), '5e005301');
    });

    it('rejects values wider than the field, naming the limit', () => {
      throwsP4(
        () => encodeUnsigned(256, 8, 'param port'),
        'OUT_OF_RANGE',
        /^param port: 256 does not fit in 8 bits \(max 255\)$/,
      );
      throwsP4(
        () => encodeUnsigned(1n << 128n, 128),
        'OUT_OF_RANGE',
        /does not fit in 128 bits/,
        'OUT_OF_RANGE',
      );
      throwsP4(() => encodeUnsigned('0x1000', 12), 'OUT_OF_RANGE', /"?0x1000"? does not fit in 12 bits/);
      throwsP4(() => encodeUnsigned(bytes('1063'), 12), 'OUT_OF_RANGE', /13-bit value; at most 12 bits/);
    });

    it('rejects negative, fractional and unsafe numbers and bad bitwidths', () => {
      throwsP4(() => encodeUnsigned(-1n, 8), 'OUT_OF_RANGE', /negative/);
      throwsP4(() => encodeUnsigned(-1, 8), 'BAD_FORMAT');
      throwsP4(() => encodeUnsigned(1.5, 8), 'BAD_FORMAT');
      throwsP4(() => encodeUnsigned(2 ** 60, 64), 'BAD_FORMAT', /use a bigint/);
      throwsP4(() => encodeUnsigned(1, 0), 'BAD_BITWIDTH');
      throwsP4(() => encodeUnsigned(1, 2.5), 'BAD_BITWIDTH');
    });
  });

  describe('decodeUnsigned / canonicalBytes (P4Runtime §8.3 receiving rules)', () => {
    // The valid and invalid examples of the specification's bytestring tables.
    const valid: [number, string, bigint][] = [
      [8, '63', 99n],
      [16, '0063', 99n],
      [16, '63', 99n],
      [16, '3064', 12388n],
      [16, '003064', 12388n],
      [12, '0063', 99n],
      [12, '63', 99n],
      [12, '000063', 99n],
    ];
    for (const [width, hex, value] of valid) {
      it(`accepts bit<${width}> 0x${hex}`, () => {
        assert.equal(decodeUnsigned(bytes(hex), width), value);
        assert.equal(hexOf(canonicalBytes(bytes(hex), width)), value.toString(16).padStart(2, '0'));
      });
    }
    const invalid: [number, string][] = [
      [8, '0163'],
      [16, '010063'],
      [12, '1063'],
      [12, '010063'],
      [12, '004063'],
    ];
    for (const [width, hex] of invalid) {
      it(`rejects bit<${width}> 0x${hex} as out of range`, () => {
        throwsP4(
          () => decodeUnsigned(bytes(hex), width, 'x'),
          'OUT_OF_RANGE',
          /at most \d+ bits expected/,
          'OUT_OF_RANGE',
        );
      });
    }

    it('rejects the empty string', () => {
      throwsP4(
        () => decodeUnsigned(Buffer.alloc(0), 8, 'x'),
        'EMPTY_BYTESTRING',
        /^x: empty bytestring/,
        'OUT_OF_RANGE',
      );
    });

    it('decodes zero in any padding and wide values exactly', () => {
      assert.equal(decodeUnsigned(bytes('00'), 1), 0n);
      assert.equal(decodeUnsigned(bytes('00000000'), 1), 0n);
      assert.equal(decodeUnsigned(bytes('ff'.repeat(16)), 128), (1n << 128n) - 1n);
      assert.equal(decodeUnsigned(bytes('00' + 'ff'.repeat(16)), 128), (1n << 128n) - 1n);
      assert.equal(decodeUnsigned(bytes('0102030405060708090a'), 80), 0x0102030405060708090an);
      assert.equal(decodeUnsigned(new Uint8Array([1, 0]), 9), 256n);
    });

    it('returns a view of the canonical part without copying', () => {
      const padded = bytes('00000a0b');
      const canonical = canonicalBytes(padded, 16);
      assert.equal(hexOf(canonical), '0a0b');
      assert.equal(canonical.buffer, padded.buffer);
    });
  });

  describe('text forms', () => {
    it('parses strict dotted-quad IPv4 only', () => {
      assert.equal(parseIPv4('0.0.0.0'), 0n);
      assert.equal(parseIPv4('255.255.255.255'), 0xffffffffn);
      assert.equal(parseIPv4('10.1.2.3'), 0x0a010203n);
      for (const bad of [
        '127.1',
        '1.2.3',
        '1.2.3.4.5',
        '01.2.3.4',
        '1.2.3.256',
        '1..2.3',
        '1.2.3.4 ',
        '',
        'a.b.c.d',
        '0x1.2.3.4',
      ]) {
        throwsP4(() => parseIPv4(bad, 'dst'), 'BAD_FORMAT', /^dst: cannot read .* as an IPv4 address/);
      }
      throwsP4(
        () => parseValue('127.1', 32, 'dst'),
        'BAD_FORMAT',
        /^dst: cannot read "127\.1" as an IPv4 address \(four dot-separated decimal octets/,
      );
      assert.equal(formatIPv4(0x0a010203n), '10.1.2.3');
      assert.equal(formatIPv4(0xffffffff), '255.255.255.255');
    });

    it('parses IPv6 in full, compressed and IPv4-tail forms', () => {
      assert.equal(parseIPv6('::'), 0n);
      assert.equal(parseIPv6('::1'), 1n);
      assert.equal(parseIPv6('1::'), 1n << 112n);
      assert.equal(parseIPv6('2001:db8::1'), 0x20010db8000000000000000000000001n);
      assert.equal(parseIPv6('2001:0DB8:0000:0000:0000:0000:0000:0001'), 0x20010db8000000000000000000000001n);
      assert.equal(parseIPv6('1:2:3:4:5:6:7::'), 0x00010002000300040005000600070000n);
      assert.equal(parseIPv6('::ffff:10.0.0.1'), 0xffff0a000001n);
      assert.equal(parseIPv6('ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'), (1n << 128n) - 1n);
      for (const bad of [
        '1::2::3',
        '12345::',
        '1:2:3:4:5:6:7:8:9',
        '1:2:3:4:5:6:7',
        ':1::',
        '1:2:3:4:5:6:7:8::',
        'fe80::1%eth0',
        '::1.2.3.4:5',
        '::127.1',
        'g::1',
        '',
      ]) {
        throwsP4(() => parseIPv6(bad), 'BAD_FORMAT', /as an IPv(6|4) address/);
      }
    });

    it('formats IPv6 per RFC 5952', () => {
      assert.equal(formatIPv6(0n), '::');
      assert.equal(formatIPv6(1n), '::1');
      assert.equal(formatIPv6(0x20010db8000000000001000000000001n), '2001:db8::1:0:0:1');
      assert.equal(formatIPv6(0x20010db8000000010001000100010001n), '2001:db8:0:1:1:1:1:1');
      assert.equal(formatIPv6(0x20010db8000000000000000100000000n), '2001:db8::1:0:0');
      assert.equal(formatIPv6(parseIPv6('fe80::abcd')), 'fe80::abcd');
    });

    it('parses and formats MAC addresses', () => {
      assert.equal(parseMac('aa:bb:cc:dd:ee:ff'), 0xaabbccddeeffn);
      assert.equal(parseMac('AA:bb:CC:00:00:01'), 0xaabbcc000001n);
      assert.equal(formatMac(0xaabbcc000001n), 'aa:bb:cc:00:00:01');
      assert.equal(formatMac(0), '00:00:00:00:00:00');
      for (const bad of ['aa-bb-cc-dd-ee-ff', 'aa:bb:cc:dd:ee', 'a:bb:cc:dd:ee:ff', 'aabb.ccdd.eeff']) {
        throwsP4(() => parseMac(bad), 'BAD_FORMAT', /as a MAC address/);
      }
    });

    it('parses integers strictly', () => {
      assert.equal(parseInteger('0'), 0n);
      assert.equal(parseInteger('340282366920938463463374607431768211455'), (1n << 128n) - 1n);
      assert.equal(parseInteger('0xFFff'), 0xffffn);
      for (const bad of ['', ' 1', '-1', '+1', '0b101', '0o7', '1_000', '0x', '1e3']) {
        throwsP4(() => parseInteger(bad), 'BAD_FORMAT', /decimal or 0x-hex integer/);
      }
    });

    it('checks parsed text against the bitwidth', () => {
      assert.equal(parseValue('aa:bb:cc:dd:ee:ff', 48), 0xaabbccddeeffn);
      throwsP4(
        () => parseValue('2001:db8::1', 32, 'dst'),
        'OUT_OF_RANGE',
        /^dst: "?2001:db8::1"? does not fit in 32 bits$/,
      );
      throwsP4(() => parseValue('hello', 32), 'BAD_FORMAT');
      assert.equal(toBigInt(bytes('00ff'), 8), 255n);
      throwsP4(() => toBigInt(256, 8), 'OUT_OF_RANGE');
    });
  });

  describe('field-match builders (P4Runtime §9.1.1)', () => {
    it('builds exact matches, never omitted even for zero', () => {
      assert.deepStrictEqual(exactMatch(agent, 0), { field_id: 4, exact: { value: bytes('00') } });
      assert.deepStrictEqual(exactMatch(agent, 0xfff), { field_id: 4, exact: { value: bytes('0fff') } });
      throwsP4(
        () => exactMatch(agent, 0x1000),
        'OUT_OF_RANGE',
        /^match field 'meta\.agent_id' \(bit<12>\): 4096 does not fit in 12 bits/,
      );
    });

    it('builds LPM matches, omitting prefix 0 and allowing the full prefix', () => {
      assert.equal(lpmMatch(dst, '0.0.0.0', 0), null);
      assert.deepStrictEqual(lpmMatch(dst, '10.0.0.0', 8), {
        field_id: 1,
        lpm: { value: bytes('0a000000'), prefix_len: 8 },
      });
      assert.deepStrictEqual(lpmMatch(dst, '10.0.0.1', 32), {
        field_id: 1,
        lpm: { value: bytes('0a000001'), prefix_len: 32 },
      });
      assert.equal(hexOf(lpmMatch(v6, '2001:db8::', 32)?.lpm?.value), '20010db8' + '00'.repeat(12));
    });

    it('rejects LPM prefixes out of range and host bits set', () => {
      throwsP4(() => lpmMatch(dst, '10.0.0.0', 33), 'BAD_PREFIX', /prefix length 33 is outside 0\.\.32/);
      throwsP4(() => lpmMatch(dst, '10.0.0.0', -1), 'BAD_PREFIX');
      throwsP4(
        () => lpmMatch(dst, '10.0.0.1', 8),
        'NONZERO_BEYOND_PREFIX',
        /^match field 'hdr\.ipv4\.dst_addr' \(bit<32>\): value 0xa000001 has bits set beyond the \/8 prefix; expected 0xa000000$/,
      );
      throwsP4(() => lpmMatch(dst, '10.0.0.0', 0), 'NONZERO_BEYOND_PREFIX');
    });

    it('builds ternary matches, omitting a zero mask', () => {
      assert.equal(ternaryMatch(proto, 0, 0), null);
      assert.deepStrictEqual(ternaryMatch(proto, 6, 0xff), {
        field_id: 2,
        ternary: { value: bytes('06'), mask: bytes('ff') },
      });
      assert.deepStrictEqual(ternaryMatch(proto, 0, 0x80), {
        field_id: 2,
        ternary: { value: bytes('00'), mask: bytes('80') },
      });
      throwsP4(
        () => ternaryMatch(proto, 0x55, 0xf0),
        'NONZERO_OUTSIDE_MASK',
        /value 0x55 has bits set outside mask 0xf0; expected 0x50$/,
      );
      throwsP4(() => ternaryMatch(proto, 1, 0x100), 'OUT_OF_RANGE', /mask: 256 does not fit in 8 bits/);
    });

    it('builds range matches, omitting the full range', () => {
      assert.equal(rangeMatch(port, 0, 0xffff), null);
      assert.deepStrictEqual(rangeMatch(port, 0, 1023), {
        field_id: 3,
        range: { low: bytes('00'), high: bytes('03ff') },
      });
      assert.deepStrictEqual(rangeMatch(port, 443, 443), {
        field_id: 3,
        range: { low: bytes('01bb'), high: bytes('01bb') },
      });
      throwsP4(() => rangeMatch(port, 10, 5), 'BAD_RANGE', /range low 0xa is greater than high 0x5/);
    });

    it('builds optional matches, omitting the wildcard', () => {
      assert.equal(optionalMatch(vlan, null), null);
      assert.deepStrictEqual(optionalMatch(vlan, 0), { field_id: 5, optional: { value: bytes('00') } });
    });
  });

  describe('decodeFieldMatch (server-side validation, P4Runtime §9.1.1)', () => {
    it('normalizes each match kind, accepting padded bytestrings', () => {
      assert.deepStrictEqual(decodeFieldMatch({ field_id: 4, exact: { value: bytes('0000002a') } }, agent), {
        kind: 'EXACT',
        fieldId: 4,
        value: 42n,
      });
      assert.deepStrictEqual(
        decodeFieldMatch(
          { field_id: 1, field_match_type: 'lpm', lpm: { value: bytes('0a000000'), prefix_len: 8 } },
          dst,
        ),
        { kind: 'LPM', fieldId: 1, value: 0x0a000000n, prefixLen: 8 },
      );
      assert.deepStrictEqual(
        decodeFieldMatch({ field_id: 2, ternary: { value: bytes('0006'), mask: bytes('ff') } }, proto),
        {
          kind: 'TERNARY',
          fieldId: 2,
          value: 6n,
          mask: 0xffn,
        },
      );
      assert.deepStrictEqual(
        decodeFieldMatch({ field_id: 3, range: { low: bytes('00'), high: bytes('03ff') } }, port),
        {
          kind: 'RANGE',
          fieldId: 3,
          value: 0n,
          high: 1023n,
        },
      );
      assert.deepStrictEqual(decodeFieldMatch({ field_id: 5, optional: { value: bytes('07') } }, vlan), {
        kind: 'OPTIONAL',
        fieldId: 5,
        value: 7n,
      });
    });

    it('rejects values too wide for the field with INVALID_ARGUMENT', () => {
      throwsP4(
        () => decodeFieldMatch({ field_id: 4, exact: { value: bytes('1000') } }, agent),
        'OUT_OF_RANGE',
        /^match field 'meta\.agent_id' \(bit<12>\) value: bytestring 0x1000 holds a 13-bit value; at most 12 bits expected$/,
        'INVALID_ARGUMENT',
      );
      throwsP4(
        () => decodeFieldMatch({ field_id: 4, exact: {} }, agent),
        'EMPTY_BYTESTRING',
        undefined,
        'INVALID_ARGUMENT',
      );
    });

    it('rejects LPM matches with prefix 0, bad prefix or trailing bits', () => {
      throwsP4(
        () => decodeFieldMatch({ field_id: 1, lpm: { value: bytes('00') } }, dst),
        'DONT_CARE_NOT_OMITTED',
        /prefix length 0 is a don't-care match; omit the field/,
      );
      throwsP4(
        () => decodeFieldMatch({ field_id: 1, lpm: { value: bytes('0a'), prefix_len: 40 } }, dst),
        'BAD_PREFIX',
      );
      throwsP4(
        () => decodeFieldMatch({ field_id: 1, lpm: { value: bytes('0a000100'), prefix_len: 16 } }, dst),
        'NONZERO_BEYOND_PREFIX',
        /beyond the \/16 prefix; expected 0xa000000/,
        'INVALID_ARGUMENT',
      );
    });

    it('rejects ternary don-care and masked-out bits, and range don-care and inversion', () => {
      throwsP4(
        () => decodeFieldMatch({ field_id: 2, ternary: { value: bytes('00'), mask: bytes('00') } }, proto),
        'DONT_CARE_NOT_OMITTED',
      );
      throwsP4(
        () => decodeFieldMatch({ field_id: 2, ternary: { value: bytes('11'), mask: bytes('f0') } }, proto),
        'NONZERO_OUTSIDE_MASK',
      );
      throwsP4(
        () => decodeFieldMatch({ field_id: 3, range: { low: bytes('00'), high: bytes('ffff') } }, port),
        'DONT_CARE_NOT_OMITTED',
      );
      throwsP4(
        () => decodeFieldMatch({ field_id: 3, range: { low: bytes('05'), high: bytes('04') } }, port),
        'BAD_RANGE',
      );
    });

    it('rejects a match kind other than the one P4Info declares, or none', () => {
      throwsP4(
        () => decodeFieldMatch({ field_id: 1, exact: { value: bytes('0a000000') } }, dst),
        'MATCH_KIND_MISMATCH',
        /got a EXACT match but P4Info declares LPM/,
      );
      throwsP4(() => decodeFieldMatch({ field_id: 1 }, dst), 'MISSING_MATCH');
      throwsP4(
        () => decodeFieldMatch({ field_id: 1, other: { type_url: 'x' } }, dst),
        'UNSUPPORTED_MATCH_KIND',
      );
      throwsP4(
        () => decodeFieldMatch({ field_id: 9, lpm: { value: bytes('0a'), prefix_len: 8 } }, dst),
        'FIELD_ID_MISMATCH',
      );
    });
  });

  describe('properties', () => {
    const widthAndValue = fc
      .integer({ min: 1, max: 128 })
      .chain((w) => fc.tuple(fc.constant(w), fc.bigInt({ min: 0n, max: (1n << BigInt(w)) - 1n })));

    it('encode then decode returns the input for bitwidths 1..128', () => {
      fc.assert(
        fc.property(widthAndValue, fc.integer({ min: 0, max: 3 }), ([w, v], pad) => {
          const encoded = encodeUnsigned(v, w);
          // Independent reference for the canonical form: hex digits, padded to whole bytes.
          const digits = v.toString(16);
          assert.equal(encoded.toString('hex'), digits.length % 2 ? '0' + digits : digits);
          assert.equal(decodeUnsigned(encoded, w), v);
          const padded = Buffer.concat([Buffer.alloc(pad), encoded]);
          assert.equal(decodeUnsigned(padded, w), v);
          assert.deepStrictEqual(canonicalBytes(padded, w), encoded);
        }),
        { numRuns: 2000 },
      );
    });

    it('rejects any value one bit too wide', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 127 }), (w) => {
          const tooWide = encodeUnsigned(1n << BigInt(w), w + 1);
          throwsP4(() => decodeUnsigned(tooWide, w), 'OUT_OF_RANGE');
        }),
      );
    });

    it('LPM matches survive encode and decode', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 128 }),
          fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
          (prefixLen, raw) => {
            const host = 128n - BigInt(prefixLen);
            const value = (raw >> host) << host;
            const wire = encodeFieldMatch(v6, { kind: 'LPM', fieldId: 6, value, prefixLen });
            assert.ok(wire);
            assert.deepStrictEqual(decodeFieldMatch(wire, v6), { kind: 'LPM', fieldId: 6, value, prefixLen });
          },
        ),
      );
    });
  });
});
