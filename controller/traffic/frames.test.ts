import { strict as assert } from 'assert';
import fc from 'fast-check';
import {
  arpFrame,
  EtherType,
  internetChecksum,
  IpProto,
  ipFrame,
  ipv4,
  TcpFlag,
  TrafficError,
} from './frames';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];

// An independent reading of RFC 1071 used to check what the builders wrote: the 16-bit ones'
// complement sum over everything the checksum covers, checksum included, must be 0xffff.
function verifySum(parts: Uint8Array[]): number {
  const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += (all[i] << 8) + (i + 1 < all.length ? all[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

function pseudo(frame: Uint8Array): { header: Uint8Array; segment: Uint8Array } {
  const etherType = u16(frame, 12);
  if (etherType === EtherType.IPV4) {
    const ihl = (frame[14] & 0x0f) * 4;
    const segment = frame.subarray(14 + ihl);
    const header = new Uint8Array(12);
    header.set(frame.subarray(26, 34), 0);
    header[9] = frame[23];
    header[10] = segment.length >> 8;
    header[11] = segment.length & 0xff;
    return { header, segment };
  }
  const segment = frame.subarray(54);
  const header = new Uint8Array(40);
  header.set(frame.subarray(22, 54), 0);
  header[34] = segment.length >> 8;
  header[35] = segment.length & 0xff;
  header[39] = frame[20];
  return { header, segment };
}

describe('traffic frames', () => {
  it('computes the IPv4 header checksum of a known header', () => {
    // A header commonly used to illustrate the checksum: 192.168.0.1 -> 192.168.0.199, UDP,
    // total length 0x73, DF, TTL 64; its checksum is 0xb861.
    const packet = ipv4({
      src: '192.168.0.1',
      dst: '192.168.0.199',
      protocol: IpProto.UDP,
      ttl: 64,
      dontFragment: true,
      payload: new Uint8Array(0x73 - 20),
    });
    assert.equal(hex(packet.subarray(0, 20)), '450000730000400040' + '11b861c0a80001c0a800c7');
  });

  it('treats an odd trailing byte as padded on the right', () => {
    assert.equal(internetChecksum(Uint8Array.of(0x01)), ~0x0100 & 0xffff);
    assert.equal(internetChecksum(Uint8Array.of(0x00, 0x01, 0xf2)), ~(0x0001 + 0xf200) & 0xffff);
  });

  it('builds an IPv4 TCP frame with every length and checksum right', () => {
    const frame = ipFrame({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:fe',
      src: '10.0.0.1',
      dst: '93.184.216.34',
      transport: { proto: 'tcp', srcPort: 40000, dstPort: 443, seq: 7, flags: TcpFlag.SYN },
      payloadSize: 100,
    });
    assert.equal(frame.length, 14 + 20 + 20 + 100);
    assert.equal(hex(frame.subarray(0, 14)), '0200000000fe' + '020000000001' + '0800');
    assert.equal(u16(frame, 16), 140, 'total length');
    assert.equal(frame[23], IpProto.TCP);
    assert.equal(verifySum([frame.subarray(14, 34)]), 0xffff, 'IPv4 header checksum');
    const { header, segment } = pseudo(frame);
    assert.equal(verifySum([header, segment]), 0xffff, 'TCP checksum');
    assert.equal(u16(segment, 0), 40000);
    assert.equal(u16(segment, 2), 443);
    assert.equal(segment[13], TcpFlag.SYN);
  });

  it('builds IPv6 UDP and ICMPv6 frames whose checksums cover the pseudo-header', () => {
    const udpFrame = ipFrame({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:fe',
      src: '2001:db8::1',
      dst: '2001:db8:1::53',
      transport: { proto: 'udp', srcPort: 5353, dstPort: 53 },
      payloadSize: 33,
    });
    assert.equal(u16(udpFrame, 12), EtherType.IPV6);
    assert.equal(u16(udpFrame, 18), 8 + 33, 'payload length');
    assert.equal(udpFrame[20], IpProto.UDP);
    let p = pseudo(udpFrame);
    assert.equal(verifySum([p.header, p.segment]), 0xffff);
    const ping = ipFrame({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:fe',
      src: '2001:db8::1',
      dst: '2001:db8::2',
      transport: { proto: 'icmp', identifier: 9, sequence: 1 },
      payloadSize: 56,
    });
    assert.equal(ping[20], IpProto.ICMPV6);
    assert.equal(ping[54], 128, 'echo request');
    p = pseudo(ping);
    assert.equal(verifySum([p.header, p.segment]), 0xffff);
  });

  it('builds an ICMPv4 echo whose checksum covers only the message', () => {
    const ping = ipFrame({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:fe',
      src: '10.0.0.1',
      dst: '10.0.0.2',
      transport: { proto: 'icmp', identifier: 1, sequence: 2 },
      payloadSize: 5,
    });
    assert.equal(ping[23], IpProto.ICMP);
    assert.equal(ping[34], 8);
    assert.equal(verifySum([ping.subarray(34)]), 0xffff);
  });

  it('carries IPv4 options, fragment fields and an IPv6 hop-by-hop header', () => {
    const withOptions = ipFrame({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:fe',
      src: '10.0.0.1',
      dst: '10.0.0.2',
      transport: { proto: 'udp', srcPort: 1, dstPort: 2 },
      ipv4: { options: Uint8Array.of(0x94, 0x04, 0x00, 0x00) },
    });
    assert.equal(withOptions[14] & 0x0f, 6, 'IHL counts the option word');
    assert.equal(verifySum([withOptions.subarray(14, 38)]), 0xffff);
    const fragment = ipFrame({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:fe',
      src: '10.0.0.1',
      dst: '10.0.0.2',
      transport: { proto: 'raw', protocol: IpProto.UDP },
      payloadSize: 16,
      ipv4: { fragmentOffset: 185, moreFragments: true },
    });
    assert.equal(u16(fragment, 20), 0x2000 | 185);
    const hbh = ipFrame({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:fe',
      src: '2001:db8::1',
      dst: '2001:db8::2',
      transport: { proto: 'tcp', srcPort: 1, dstPort: 443 },
      ipv6: { hopByHop: true },
    });
    assert.equal(hbh[20], IpProto.HOP_BY_HOP);
    assert.equal(hbh[54], IpProto.TCP, 'the extension header names TCP next');
    assert.equal(u16(hbh, 18), 8 + 20);
  });

  it('builds ARP requests to broadcast', () => {
    const frame = arpFrame({
      op: 'request',
      senderMac: '02:00:00:00:00:01',
      senderIp: '10.0.0.1',
      targetIp: '10.0.0.254',
    });
    assert.equal(frame.length, 14 + 28);
    assert.equal(hex(frame.subarray(0, 6)), 'ffffffffffff');
    assert.equal(u16(frame, 12), EtherType.ARP);
    assert.equal(u16(frame, 20), 1, 'request opcode');
    assert.equal(hex(frame.subarray(38, 42)), '0a0000fe');
  });

  it('rejects mixed families, bad ports and oversize packets with typed errors', () => {
    const code = (fn: () => unknown, expected: string) =>
      assert.throws(fn, (e: unknown) => e instanceof TrafficError && e.code === expected);
    const base = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' };
    code(
      () => ipFrame({ ...base, src: '10.0.0.1', dst: '::1', transport: { proto: 'raw', protocol: 0 } }),
      'FAMILY_MISMATCH',
    );
    code(
      () =>
        ipFrame({
          ...base,
          src: '10.0.0.1',
          dst: '10.0.0.2',
          transport: { proto: 'udp', srcPort: 70000, dstPort: 1 },
        }),
      'BAD_FIELD',
    );
    code(
      () =>
        ipFrame({
          ...base,
          src: '10.0.0.1',
          dst: '10.0.0.2',
          transport: { proto: 'raw', protocol: 0 },
          payloadSize: 65516,
        }),
      'BAD_SIZE',
    );
  });

  it('writes valid checksums for any ports and payload size (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 1472 }),
        fc.boolean(),
        fc.boolean(),
        (sport, dport, size, v6, isTcp) => {
          const frame = ipFrame({
            srcMac: '02:00:00:00:00:01',
            dstMac: '02:00:00:00:00:02',
            src: v6 ? 'fd00::1' : '10.1.2.3',
            dst: v6 ? 'fd00::ffff:2' : '172.16.5.4',
            transport: isTcp
              ? { proto: 'tcp', srcPort: sport, dstPort: dport }
              : { proto: 'udp', srcPort: sport, dstPort: dport },
            payloadSize: size,
          });
          const { header, segment } = pseudo(frame);
          assert.equal(verifySum([header, segment]), 0xffff);
          if (!v6) assert.equal(verifySum([frame.subarray(14, 34)]), 0xffff);
        },
      ),
      { numRuns: 200 },
    );
  });
});
