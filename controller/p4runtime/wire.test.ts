import { strict as assert } from 'assert';
import fc from 'fast-check';
import { decodeMessage } from './proto';
import { encodeUnsigned } from './values';
import { WireWriter } from './wire';

describe('wire writer', () => {
  it('writes bytestrings exactly as the value codec does (canonical, P4Runtime §8.3)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 1100n) - 1n }), (value) => {
        const w = new WireWriter(8);
        w.p4BytesField(1, value); // P4Data.bitstring is field 1, bytes
        const data = decodeMessage('p4.v1.P4Data', w.view());
        assert.ok(data.bitstring?.equals(encodeUnsigned(value, 1100)));
      }),
    );
  });

  it('frames nested messages of any length, moving bodies that outgrow a one-byte length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 0, max: 300 }), (size, after) => {
        // PacketOut { payload = 1 (bytes) }: a nested PacketOut written as the outer payload,
        // followed by a second payload field that must still parse after the move.
        const w = new WireWriter(16);
        const at = w.begin(2); // PacketOut.metadata is field 2: a PacketMetadata message
        w.bytesField(2, Buffer.alloc(size, 0xab)); // PacketMetadata.value
        w.end(at);
        w.bytesField(1, Buffer.alloc(after, 0xcd));
        const msg = decodeMessage('p4.v1.PacketOut', w.view());
        assert.equal(msg.metadata?.[0]?.value?.length ?? 0, size);
        assert.ok((msg.metadata?.[0]?.value ?? Buffer.alloc(0)).every((b) => b === 0xab));
        assert.equal(msg.payload?.length ?? 0, after);
      }),
      { numRuns: 60 },
    );
  });

  it('encodes uint64 varints beyond 2^53 exactly', () => {
    const w = new WireWriter(4);
    w.tag(1, 0);
    w.varintBig((1n << 64n) - 1n);
    assert.equal(decodeMessage('p4.v1.CapabilitiesRequest', w.view()).device_id, '18446744073709551615');
  });
});
