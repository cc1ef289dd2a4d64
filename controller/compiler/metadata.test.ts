import { strict as assert } from 'assert';
import fc from 'fast-check';
import { ProvenanceWriter, decodeProvenance, encodeProvenance, hex8 } from './metadata';

describe('provenance metadata', () => {
  it('writes the same bytes into shared blocks as into buffers of their own', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom('rule', 'agent', 'uplink', 'sensitive' as const),
            digest: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
            name: fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 20 })),
            quotaDestination: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
          }),
          { maxLength: 60 },
        ),
        (items) => {
          const writer = new ProvenanceWriter();
          const written = items.map((p) => writer.encode(p.kind, p.digest, p.name, p.quotaDestination));
          // Checked after all are written: a later one must not have overwritten an earlier one.
          items.forEach((p, i) => {
            const alone = encodeProvenance(p.kind, p.digest, p.name, p.quotaDestination);
            assert.deepEqual([...written[i]], [...alone]);
          });
        },
      ),
    );
  });

  it('fills blocks past their size with views that decode to what was written', () => {
    const writer = new ProvenanceWriter();
    const names = Array.from({ length: 5000 }, (_, i) => `agent-${i}-rule-${i % 7}`);
    const written = names.map((name, i) => writer.encode('rule', i * 7919, name));
    const buffers = new Set(written.map((bytes) => bytes.buffer));
    assert.ok(buffers.size > 1, 'several blocks');
    written.forEach((bytes, i) => {
      assert.deepEqual(decodeProvenance(bytes), {
        kind: 'rule',
        digest: hex8(i * 7919),
        name: names[i],
      });
    });
  });

  it('writes a digest as 8 hex digits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (value) => {
        assert.equal(hex8(value), value.toString(16).padStart(8, '0'));
      }),
    );
    assert.equal(hex8(0), '00000000');
    assert.equal(hex8(0xdeadbeef), 'deadbeef');
  });
});
