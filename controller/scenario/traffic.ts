// The frames of one scenario flow. TCP and UDP come from the traffic library's MTU-sized flows;
// ICMP is a train of echo requests answered by echo replies, sized the same way, since a ping of
// N bytes is how people test ICMP reachability.

import {
  ICMP_ECHO_HEADER,
  IPV4_HEADER,
  IPV6_HEADER,
  ipFrame,
  familyOf,
  type Address,
} from '../traffic/frames';
import { flowPackets, type Direction, type FlowPacket } from '../traffic/flows';

export interface ScenarioFlowSpec {
  readonly agent: {
    readonly switchPort: number;
    readonly mac: Address;
    readonly ip: Address;
    readonly l4Port?: number;
  };
  readonly host: { readonly ip: Address; readonly l4Port: number };
  readonly gatewayMac: Address;
  readonly uplinkPort: number;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly sendBytes: number;
  readonly receiveBytes?: number;
  readonly mtu: number;
}

export function scenarioFlowPackets(spec: ScenarioFlowSpec): Iterable<FlowPacket> {
  if (spec.protocol !== 'icmp') {
    return flowPackets({ ...spec, protocol: spec.protocol });
  }
  return echoPackets(spec);
}

function* echoPackets(spec: ScenarioFlowSpec): Generator<FlowPacket> {
  const family = familyOf(spec.agent.ip);
  const room = spec.mtu - (family === 4 ? IPV4_HEADER : IPV6_HEADER) - ICMP_ECHO_HEADER;
  const train = function* (direction: Direction, total: number): Generator<FlowPacket> {
    const fromAgent = direction === 'send';
    let sequence = 0;
    for (let offset = 0; offset < total; offset += room) {
      const size = Math.min(room, total - offset);
      yield {
        direction,
        ingressPort: fromAgent ? spec.agent.switchPort : spec.uplinkPort,
        frame: ipFrame({
          srcMac: fromAgent ? spec.agent.mac : spec.gatewayMac,
          dstMac: fromAgent ? spec.gatewayMac : spec.agent.mac,
          src: fromAgent ? spec.agent.ip : spec.host.ip,
          dst: fromAgent ? spec.host.ip : spec.agent.ip,
          transport: { proto: 'icmp', identifier: 0x4e47, sequence: sequence++ & 0xffff, reply: !fromAgent },
          payloadSize: size,
        }),
        payloadBytes: size,
      };
    }
  };
  yield* train('send', spec.sendBytes);
  yield* train('receive', spec.receiveBytes ?? 0);
}
