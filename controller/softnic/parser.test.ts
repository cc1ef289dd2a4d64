import { strict as assert } from 'assert';
import { ipFrame } from '../traffic/frames';
import { ParsedFrame, parseFrame, wordsToBigInt } from './parser';

const frame = ipFrame({
  srcMac: '02:00:00:00:00:01',
  dstMac: '02:00:00:00:00:02',
  src: '2001:db8::1',
  dst: '2001:db8::2',
  transport: { proto: 'udp', srcPort: 5353, dstPort: 53 },
  payloadSize: 3,
});

describe('softnic parser', () => {
  it('reads packet_out bits most significant first on the CPU port only', () => {
    const out = new ParsedFrame();
    const withHeader = Buffer.concat([Buffer.from([0xff, 0xc0]), frame]);
    parseFrame(255, withHeader, out);
    assert.deepEqual([out.packetOutValid, out.packetOutIngressPort, out.packetOutReport], [true, 511, 1]);
    assert.equal(out.srcMac, 0x020000000001);
    parseFrame(3, withHeader, out);
    assert.equal(out.packetOutValid, false, 'other ports have no packet_out header');
    assert.equal(out.dstMac, 0xffc002000000);
  });

  it('extracts IPv6 addresses and ports and marks where the payload starts', () => {
    const out = parseFrame(1, frame, new ParsedFrame());
    assert.equal(out.ipv6Valid, true);
    assert.equal(wordsToBigInt(out.ipv6Dst), 0x20010db8000000000000000000000002n);
    assert.deepEqual([out.ipv6NextHdr, out.srcPort, out.dstPort], [17, 5353, 53]);
    assert.equal(out.offset, 14 + 40 + 4);
    assert.equal(out.parserError, 'NONE');
  });

  it('stops at the first header that does not fit, leaving it and later ones invalid', () => {
    const out = parseFrame(1, frame.subarray(0, 14 + 39), new ParsedFrame());
    assert.deepEqual(
      [out.ethernetValid, out.ipv6Valid, out.l4Valid, out.parserError],
      [true, false, false, 'PACKET_TOO_SHORT'],
    );
    const cpu = parseFrame(255, Uint8Array.of(0x01), out);
    assert.deepEqual([cpu.packetOutValid, cpu.ethernetValid, cpu.length], [false, false, 1]);
  });
});
