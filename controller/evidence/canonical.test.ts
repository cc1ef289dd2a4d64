import assert from 'node:assert/strict';
import fc from 'fast-check';
import { counterSampleRecord, leafText, optional } from './arbitraries';
import { EvidenceError } from './errors';
import {
  CanonicalValue,
  canonicalJson,
  decodeLeaf,
  encodeLeaf,
  encodeRecordLeafWithFixedPlan,
  encodeRecordLeafWithHashPrefix,
  fixBodyMembers,
} from './canonical';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EvidenceError);
    return e.code;
  }
  return 'none';
}

describe('canonical leaf encoding', () => {
  it('sorts members by code point, drops undefined, keeps null, adds no whitespace', () => {
    assert.equal(
      canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, A: {} }),
      '{"A":{},"a":[true,null,"x"],"b":1}',
    );
  });

  it('orders keys by UTF-8 bytes, not UTF-16 units', () => {
    // U+FF5E sorts before U+1F600 in UTF-8 but after its surrogates in UTF-16.
    assert.equal(canonicalJson({ '\u{1F600}': 1, '\uFF5E': 2 }), '{"\uFF5E":2,"\u{1F600}":1}');
  });

  it('writes integers beyond 2^53 - 1 as decimal strings and refuses lossy numbers', () => {
    assert.equal(canonicalJson({ n: 9007199254740991n }), '{"n":9007199254740991}');
    assert.equal(canonicalJson({ n: 9007199254740992n }), '{"n":"9007199254740992"}');
    assert.equal(canonicalJson({ n: -0 }), '{"n":0}');
    assert.equal(
      code(() => canonicalJson({ n: 1.5 })),
      'BAD_RECORD',
    );
    assert.equal(
      code(() => canonicalJson({ n: 2 ** 60 })),
      'BAD_RECORD',
    );
    assert.equal(
      code(() => canonicalJson({ n: NaN })),
      'BAD_RECORD',
    );
  });

  it('escapes only what JSON requires and rejects lone surrogates', () => {
    assert.equal(canonicalJson('a"\\\n\u0001\u007f\u2028é'), '"a\\"\\\\\\n\\u0001\u007f\u2028é"');
    assert.equal(
      code(() => canonicalJson('\ud800')),
      'BAD_RECORD',
    );
    assert.equal(
      code(() => canonicalJson({ ['\udc00']: 1 })),
      'BAD_RECORD',
    );
  });

  it('rejects values that have no canonical form', () => {
    assert.equal(
      code(() => canonicalJson({ d: new Date(0) })),
      'BAD_RECORD',
    );
    assert.equal(
      code(() => canonicalJson([undefined])),
      'BAD_RECORD',
    );
    assert.equal(
      code(() => canonicalJson({ f: () => 1 })),
      'BAD_RECORD',
    );
  });

  it('lays out the header exactly as specified', () => {
    const leaf = encodeLeaf('denial', 0x0102030405, 1_700_000_000_123, { z: 'q', a: 1 });
    assert.equal(
      leaf.toString('hex'),
      '0105' + '0000000102030405' + '0000018bcfe5687b' + Buffer.from('{"a":1,"z":"q"}').toString('hex'),
    );
    const d = decodeLeaf(leaf);
    assert.deepEqual(d, {
      kind: 'denial',
      seq: 0x0102030405,
      timeMs: 1_700_000_000_123,
      body: { a: 1, z: 'q' },
    });
  });

  it('refuses to decode leaves that are not canonical', () => {
    const leaf = encodeLeaf('push', 1, 2, { a: 1, b: 2 });
    const swap = Buffer.concat([leaf.subarray(0, 18), Buffer.from('{"b":2,"a":1}')]);
    assert.equal(
      code(() => decodeLeaf(swap)),
      'BAD_LEAF',
    );
    const spaced = Buffer.concat([leaf.subarray(0, 18), Buffer.from('{"a": 1,"b":2}')]);
    assert.equal(
      code(() => decodeLeaf(spaced)),
      'BAD_LEAF',
    );
    const bigNumber = Buffer.concat([leaf.subarray(0, 18), Buffer.from('{"a":9007199254740993}')]);
    assert.equal(
      code(() => decodeLeaf(bigNumber)),
      'BAD_LEAF',
    );
    const badKind = Buffer.from(leaf);
    badKind[1] = 99;
    assert.equal(
      code(() => decodeLeaf(badKind)),
      'BAD_LEAF',
    );
    const badVersion = Buffer.from(leaf);
    badVersion[0] = 2;
    assert.equal(
      code(() => decodeLeaf(badVersion)),
      'BAD_LEAF',
    );
  });
});

describe('record leaf encoding', () => {
  const event = fc.record({
    kind: fc.constant('device_event' as const),
    time: fc.nat(),
    device: leafText,
    event: fc.constant('note' as const),
    detail: optional(
      fc
        .jsonValue()
        .map(
          (v) =>
            JSON.parse(
              JSON.stringify(v, (_k, x) => (typeof x === 'number' ? Math.trunc(x) : x)),
            ) as CanonicalValue,
        ),
    ),
  });

  it('writes the same bytes as the general encoder over the record minus kind and time', () => {
    fc.assert(
      fc.property(fc.oneof(counterSampleRecord, event), fc.nat(), fc.boolean(), (record, seq, reset) => {
        const derived =
          record.kind === 'counter_sample' ? { deltaPackets: record.packets, deltaBytes: 0, reset } : {};
        const { kind, time, ...fields } = record;
        let expected: Buffer | string;
        try {
          expected = encodeLeaf(kind, seq, time, { ...fields, ...derived });
        } catch (e) {
          expected = code(() => {
            throw e;
          });
        }
        let actual: Buffer | string;
        try {
          actual = encodeRecordLeafWithHashPrefix(record, seq, derived).subarray(1);
        } catch (e) {
          actual = code(() => {
            throw e;
          });
        }
        assert.deepEqual(actual, expected);
        if (Buffer.isBuffer(actual))
          assert.deepEqual(decodeLeaf(actual).body, JSON.parse(actual.subarray(18).toString()));
      }),
      { numRuns: 2000 },
    );
  });
  it('writes the same bytes with members fixed in advance, into a given buffer or a new one', () => {
    const names = ['device', 'table', 'ruleId', 'ruleName', 'agent', 'policyVersion', 'epoch'] as const;
    fc.assert(
      fc.property(
        counterSampleRecord,
        fc.subarray([...names]),
        fc.nat(),
        fc.boolean(),
        fc.nat({ max: 600 }),
        (record, fixedNames, seq, reset, room) => {
          const derived = { deltaPackets: record.packets, deltaBytes: 0, reset };
          let expected: Buffer | undefined;
          try {
            expected = encodeRecordLeafWithHashPrefix(record, seq, derived);
          } catch {
            return;
          }
          const fixed: Record<string, unknown> = {};
          for (const name of fixedNames) fixed[name] = record[name];
          const plan = fixBodyMembers('counter_sample', fixed);
          const into = Buffer.alloc(room, 0xee);
          const actual = encodeRecordLeafWithFixedPlan(plan, record, seq, derived, into);
          assert.deepEqual(actual, expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
  it('writes the same bytes with members fixed at integer boundaries of the byte writer', () => {
    const plan = fixBodyMembers('counter_sample', {
      device: 'd',
      table: 't',
      ruleId: 'r',
      policyVersion: 'p',
    });
    const values = [0, 9, 10, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 10 ** 15, Number.MAX_SAFE_INTEGER];
    for (const v of values) {
      const record = {
        kind: 'counter_sample' as const,
        time: v,
        device: 'd',
        table: 't',
        ruleId: 'r',
        policyVersion: 'p',
        packets: v,
        bytes: v,
      };
      const derived = { deltaPackets: v, deltaBytes: 0, reset: true };
      const into = Buffer.alloc(512);
      assert.deepEqual(
        encodeRecordLeafWithFixedPlan(plan, record, v, derived, into),
        encodeRecordLeafWithHashPrefix(record, v, derived),
        String(v),
      );
    }
  });
});
