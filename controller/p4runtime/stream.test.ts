import { strict as assert } from 'assert';
import { FIXTURE_IDS, fixtureP4InfoIndex } from '../../test/support/p4info-fixture';
import { P4InfoError } from './p4info';
import { decodeMessage, encodeMessage } from './proto';
import { decodeDigestList, decodePacketMetadata, encodePacketMetadata } from './stream';
import { encodeUnsigned } from './values';

const p4info = fixtureP4InfoIndex();

describe('stream: digest lists (P4Runtime §16.3)', () => {
  it('names struct members by the digest type and keeps list id and timestamp', () => {
    const list = decodeMessage(
      'p4.v1.DigestList',
      encodeMessage('p4.v1.DigestList', {
        digest_id: FIXTURE_IDS.digest,
        list_id: '18446744073709551615',
        timestamp: '1234',
        data: [
          {
            struct: {
              members: [
                { bitstring: encodeUnsigned(0xaabbccddeeffn, 48) },
                { bitstring: encodeUnsigned(511n, 9) },
              ],
            },
          },
          { struct: { members: [{ bitstring: Buffer.from([0, 0, 1]) }, { bitstring: Buffer.from([0]) }] } },
        ],
      }),
    );
    assert.deepStrictEqual(decodeDigestList(list, p4info), {
      digest: 'learn_t',
      digestId: FIXTURE_IDS.digest,
      listId: (1n << 64n) - 1n,
      timestamp: 1234n,
      data: [
        { src: 0xaabbccddeeffn, port: 511n },
        { src: 1n, port: 0n },
      ],
    });
  });

  it('rejects members wider than their declared type', () => {
    assert.throws(
      () =>
        decodeDigestList(
          {
            digest_id: FIXTURE_IDS.digest,
            data: [
              { struct: { members: [{ bitstring: Buffer.from([1]) }, { bitstring: Buffer.from([2, 0]) }] } },
            ],
          },
          p4info,
        ),
      /port/,
    );
  });
});

describe('stream: packet metadata (P4Runtime §16.1)', () => {
  it('sends every packet_out field once, zero when not given', () => {
    assert.deepEqual(encodePacketMetadata(p4info, 'packet_out', {}), [
      { metadata_id: 1, value: Buffer.from([0]) },
    ]);
    assert.deepEqual(encodePacketMetadata(p4info, 'packet_out', { egress_port: 300 }), [
      { metadata_id: 1, value: Buffer.from([1, 44]) },
    ]);
  });

  it('refuses unknown fields and values too wide', () => {
    assert.throws(() => encodePacketMetadata(p4info, 'packet_out', { vlan: 1n }), P4InfoError);
    assert.throws(
      () => encodePacketMetadata(p4info, 'packet_out', { egress_port: 512n }),
      /does not fit in 9 bits/,
    );
  });

  it('names packet_in fields from their ids', () => {
    assert.deepEqual(
      decodePacketMetadata(p4info, 'packet_in', [
        { metadata_id: 2, value: Buffer.from([7]) },
        { metadata_id: 1, value: Buffer.from([1, 0]) },
      ]),
      { reason: 7n, ingress_port: 256n },
    );
    assert.throws(
      () => decodePacketMetadata(p4info, 'packet_in', [{ metadata_id: 3, value: Buffer.from([1]) }]),
      P4InfoError,
    );
  });
});
