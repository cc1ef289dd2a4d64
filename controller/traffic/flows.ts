// Flows between an agent and a remote host, as the frames a bump-in-the-wire sees: the agent's
// frames entering on its own port, bound for the uplink, and the host's replies entering on the
// uplink, bound for the agent's MAC. Sizes follow the MTU so that byte budgets, meters and counters
// see what a real transfer of N bytes would put on the wire.

import {
  Address,
  familyOf,
  ipFrame,
  IpFamily,
  IPV4_HEADER,
  IPV6_HEADER,
  TCP_HEADER,
  TcpFlag,
  TrafficError,
  UDP_HEADER,
  ETHERNET_HEADER,
  patternPayload,
} from './frames';

export interface FlowAgent {
  mac: Address;
  ip: Address;
  /** The switch port the agent's frames enter on. */
  switchPort: number;
  /** Local L4 port; 40000 when absent. */
  l4Port?: number;
}

export interface FlowHost {
  ip: Address;
  l4Port: number;
}

export interface FlowSpec {
  agent: FlowAgent;
  host: FlowHost;
  /** MAC of the next hop beyond the uplink: the destination of the agent's frames, the source of replies. */
  gatewayMac: Address;
  uplinkPort: number;
  protocol: 'tcp' | 'udp';
  /** Application bytes the agent sends. */
  sendBytes: number;
  /** Application bytes the host sends back. */
  receiveBytes?: number;
  /** Largest IP packet, headers included; 1500 when absent. */
  mtu?: number;
  /** TCP only: SYN, SYN-ACK, ACK before the data and FIN, FIN-ACK, ACK after it. */
  handshake?: boolean;
  /** TCP only: a pure ACK from the receiver after every data segment. */
  acks?: boolean;
}

export type Direction = 'send' | 'receive';

export interface FlowPacket {
  direction: Direction;
  ingressPort: number;
  frame: Uint8Array;
  /** Application bytes carried (0 for handshake and pure ACK segments). */
  payloadBytes: number;
}

export interface FlowTotals {
  packets: number;
  /** Ethernet frame bytes, as bmv2's packet_length counts them for a frame entering on a port. */
  frameBytes: number;
  payloadBytes: number;
}

const DEFAULT_MTU = 1500;
const DEFAULT_AGENT_PORT = 40000;

/** Application bytes one packet of the flow can carry under the MTU. */
export function segmentPayload(family: IpFamily, protocol: 'tcp' | 'udp', mtu = DEFAULT_MTU): number {
  const overhead =
    (family === 4 ? IPV4_HEADER : IPV6_HEADER) + (protocol === 'tcp' ? TCP_HEADER : UDP_HEADER);
  if (!Number.isInteger(mtu) || mtu <= overhead) {
    throw new TrafficError(
      'BAD_SIZE',
      `an MTU of ${mtu} leaves no room for payload after ${overhead} header bytes`,
    );
  }
  return mtu - overhead;
}

/** Frame length of a packet of the flow carrying `payload` application bytes. */
export function frameLength(family: IpFamily, protocol: 'tcp' | 'udp', payload: number): number {
  return (
    ETHERNET_HEADER +
    (family === 4 ? IPV4_HEADER : IPV6_HEADER) +
    (protocol === 'tcp' ? TCP_HEADER : UDP_HEADER) +
    payload
  );
}

function checkCount(label: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new TrafficError('BAD_SIZE', `${label} ${value} is not a byte count`);
}

/**
 * The packets of one flow, in wire order: the handshake if asked, the agent's data, the host's
 * reply data, then the close. TCP sequence numbers advance with the data so a capture reads as
 * one connection.
 */
export function* flowPackets(spec: FlowSpec): Generator<FlowPacket> {
  checkCount('sendBytes', spec.sendBytes);
  checkCount('receiveBytes', spec.receiveBytes ?? 0);
  const family = familyOf(spec.agent.ip);
  if (familyOf(spec.host.ip) !== family) {
    throw new TrafficError(
      'FAMILY_MISMATCH',
      `agent ${spec.agent.ip} and host ${spec.host.ip} differ in family`,
    );
  }
  const mss = segmentPayload(family, spec.protocol, spec.mtu);
  const agentPort = spec.agent.l4Port ?? DEFAULT_AGENT_PORT;
  const tcp = spec.protocol === 'tcp';
  // Initial sequence numbers: arbitrary but fixed, so repeated runs produce identical frames.
  let agentSeq = 0x1000;
  let hostSeq = 0x8000;

  const frame = (direction: Direction, payload: Uint8Array, flags: number): FlowPacket => {
    const fromAgent = direction === 'send';
    const transport = tcp
      ? {
          proto: 'tcp' as const,
          srcPort: fromAgent ? agentPort : spec.host.l4Port,
          dstPort: fromAgent ? spec.host.l4Port : agentPort,
          seq: fromAgent ? agentSeq : hostSeq,
          ack: flags & TcpFlag.ACK ? (fromAgent ? hostSeq : agentSeq) : 0,
          flags,
        }
      : {
          proto: 'udp' as const,
          srcPort: fromAgent ? agentPort : spec.host.l4Port,
          dstPort: fromAgent ? spec.host.l4Port : agentPort,
        };
    return {
      direction,
      ingressPort: fromAgent ? spec.agent.switchPort : spec.uplinkPort,
      frame: ipFrame({
        srcMac: fromAgent ? spec.agent.mac : spec.gatewayMac,
        dstMac: fromAgent ? spec.gatewayMac : spec.agent.mac,
        src: fromAgent ? spec.agent.ip : spec.host.ip,
        dst: fromAgent ? spec.host.ip : spec.agent.ip,
        transport,
        payload,
      }),
      payloadBytes: payload.length,
    };
  };
  const empty = new Uint8Array(0);
  const advance = (direction: Direction, by: number) => {
    if (direction === 'send') agentSeq = (agentSeq + by) >>> 0;
    else hostSeq = (hostSeq + by) >>> 0;
  };

  const handshake = tcp && spec.handshake === true;
  if (handshake) {
    yield frame('send', empty, TcpFlag.SYN);
    advance('send', 1);
    yield frame('receive', empty, TcpFlag.SYN | TcpFlag.ACK);
    advance('receive', 1);
    yield frame('send', empty, TcpFlag.ACK);
  }

  function* data(direction: Direction, total: number): Generator<FlowPacket> {
    const other: Direction = direction === 'send' ? 'receive' : 'send';
    for (let offset = 0; offset < total; offset += mss) {
      const size = Math.min(mss, total - offset);
      yield frame(direction, patternPayload(size, offset), TcpFlag.ACK | TcpFlag.PSH);
      advance(direction, size);
      if (tcp && spec.acks) yield frame(other, empty, TcpFlag.ACK);
    }
  }
  yield* data('send', spec.sendBytes);
  yield* data('receive', spec.receiveBytes ?? 0);

  if (handshake) {
    yield frame('send', empty, TcpFlag.FIN | TcpFlag.ACK);
    advance('send', 1);
    yield frame('receive', empty, TcpFlag.FIN | TcpFlag.ACK);
    advance('receive', 1);
    yield frame('send', empty, TcpFlag.ACK);
  }
}

/** Packets, frame bytes and payload bytes per direction, computed without building frames. */
export function flowTotals(spec: FlowSpec): Record<Direction, FlowTotals> {
  const family = familyOf(spec.agent.ip);
  const mss = segmentPayload(family, spec.protocol, spec.mtu);
  const tcp = spec.protocol === 'tcp';
  const totals: Record<Direction, FlowTotals> = {
    send: { packets: 0, frameBytes: 0, payloadBytes: 0 },
    receive: { packets: 0, frameBytes: 0, payloadBytes: 0 },
  };
  const add = (direction: Direction, payload: number, count = 1) => {
    totals[direction].packets += count;
    totals[direction].frameBytes += count * frameLength(family, spec.protocol, payload);
    totals[direction].payloadBytes += count * payload;
  };
  const data = (direction: Direction, total: number) => {
    const full = Math.floor(total / mss);
    const rest = total - full * mss;
    add(direction, mss, full);
    if (rest > 0) add(direction, rest);
    if (tcp && spec.acks) add(direction === 'send' ? 'receive' : 'send', 0, full + (rest > 0 ? 1 : 0));
  };
  if (tcp && spec.handshake) {
    add('send', 0, 4);
    add('receive', 0, 2);
  }
  data('send', spec.sendBytes);
  data('receive', spec.receiveBytes ?? 0);
  return totals;
}
