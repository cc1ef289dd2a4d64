import { strict as assert } from 'assert';
import { FlowSpec, flowPackets, flowTotals, frameLength, segmentPayload } from './flows';
import { TcpFlag, TrafficError } from './frames';

const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];

function spec(overrides: Partial<FlowSpec> = {}): FlowSpec {
  return {
    agent: { mac: '02:00:00:00:00:01', ip: '10.0.0.1', switchPort: 3 },
    host: { ip: '93.184.216.34', l4Port: 443 },
    gatewayMac: '02:00:00:00:00:fe',
    uplinkPort: 1,
    protocol: 'tcp',
    sendBytes: 4000,
    receiveBytes: 1460,
    ...overrides,
  };
}

describe('traffic flows', () => {
  it('splits the data into MTU-sized packets in each direction', () => {
    const packets = [...flowPackets(spec())];
    const send = packets.filter((p) => p.direction === 'send');
    const receive = packets.filter((p) => p.direction === 'receive');
    // 1500 - 20 (IPv4) - 20 (TCP) = 1460 bytes per segment: 4000 = 1460 + 1460 + 1080.
    assert.deepEqual(
      send.map((p) => p.payloadBytes),
      [1460, 1460, 1080],
    );
    assert.deepEqual(
      receive.map((p) => p.payloadBytes),
      [1460],
    );
    assert.deepEqual(
      send.map((p) => p.frame.length),
      [1514, 1514, 1134],
    );
    for (const p of send) {
      assert.equal(p.ingressPort, 3);
      assert.equal(u16(p.frame, 34), 40000, 'agent source port');
      assert.equal(u16(p.frame, 36), 443);
      assert.equal(Buffer.from(p.frame.subarray(0, 6)).toString('hex'), '0200000000fe');
    }
    assert.equal(receive[0].ingressPort, 1);
    assert.equal(
      Buffer.from(receive[0].frame.subarray(0, 6)).toString('hex'),
      '020000000001',
      'to the agent MAC',
    );
    assert.equal(u16(receive[0].frame, 34), 443);
  });

  it('advances TCP sequence numbers with the data', () => {
    const send = [...flowPackets(spec())].filter((p) => p.direction === 'send');
    const seq = (f: Uint8Array) => Buffer.from(f).readUInt32BE(14 + 20 + 4);
    assert.equal(seq(send[1].frame) - seq(send[0].frame), 1460);
    assert.equal(seq(send[2].frame) - seq(send[1].frame), 1460);
  });

  it('frames a handshake and close around the data when asked', () => {
    const packets = [...flowPackets(spec({ handshake: true, sendBytes: 10, receiveBytes: 0 }))];
    const flags = packets.map((p) => p.frame[14 + 20 + 13]);
    assert.deepEqual(flags, [
      TcpFlag.SYN,
      TcpFlag.SYN | TcpFlag.ACK,
      TcpFlag.ACK,
      TcpFlag.ACK | TcpFlag.PSH,
      TcpFlag.FIN | TcpFlag.ACK,
      TcpFlag.FIN | TcpFlag.ACK,
      TcpFlag.ACK,
    ]);
    assert.deepEqual(
      packets.map((p) => p.direction),
      ['send', 'receive', 'send', 'send', 'send', 'receive', 'send'],
    );
  });

  it('uses the IPv6 and UDP header sizes for segmenting', () => {
    assert.equal(segmentPayload(6, 'udp', 1280), 1280 - 40 - 8);
    const packets = [
      ...flowPackets(
        spec({
          protocol: 'udp',
          agent: { mac: '02:00:00:00:00:01', ip: 'fd00::1', switchPort: 3 },
          host: { ip: '2001:db8::53', l4Port: 53 },
          mtu: 1280,
          sendBytes: 2464,
          receiveBytes: 0,
        }),
      ),
    ];
    assert.deepEqual(
      packets.map((p) => p.frame.length),
      [1294, 1294],
    );
  });

  it('totals agree with the packets generated, including pure ACKs', () => {
    for (const s of [
      spec(),
      spec({ acks: true, handshake: true }),
      spec({ protocol: 'udp', sendBytes: 0 }),
    ]) {
      const totals = flowTotals(s);
      for (const direction of ['send', 'receive'] as const) {
        const ps = [...flowPackets(s)].filter((p) => p.direction === direction);
        assert.equal(totals[direction].packets, ps.length, direction);
        assert.equal(
          totals[direction].frameBytes,
          ps.reduce((n, p) => n + p.frame.length, 0),
        );
        assert.equal(
          totals[direction].payloadBytes,
          ps.reduce((n, p) => n + p.payloadBytes, 0),
        );
      }
    }
    assert.equal(frameLength(4, 'tcp', 0), 54);
  });

  it('rejects an MTU with no room for data and mixed families', () => {
    assert.throws(
      () => [...flowPackets(spec({ mtu: 40 }))],
      (e: unknown) => e instanceof TrafficError && e.code === 'BAD_SIZE',
    );
    assert.throws(
      () => [...flowPackets(spec({ host: { ip: '::1', l4Port: 1 } }))],
      (e: unknown) => e instanceof TrafficError && e.code === 'FAMILY_MISMATCH',
    );
  });
});
