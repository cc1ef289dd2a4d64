// Frame construction for tests, scenarios and benchmarks: Ethernet II carrying ARP, IPv4 or IPv6,
// and TCP, UDP or ICMP inside, with correct lengths and checksums so that the same bytes are valid
// on a real wire (bmv2 on veth pairs) as in the software target. No FCS: neither bmv2 nor a veth
// carries one.

import { parseIPv4, parseIPv6, parseMac } from '../p4runtime/values';

export type TrafficErrorCode = 'BAD_ADDRESS' | 'BAD_FIELD' | 'BAD_SIZE' | 'FAMILY_MISMATCH';

export class TrafficError extends Error {
  override readonly name = 'TrafficError';
  constructor(
    readonly code: TrafficErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const EtherType = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const;
export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, HOP_BY_HOP: 0 } as const;
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export const ETHERNET_HEADER = 14;
export const IPV4_HEADER = 20;
export const IPV6_HEADER = 40;
export const TCP_HEADER = 20;
export const UDP_HEADER = 8;
export const ICMP_ECHO_HEADER = 8;

/** A MAC or IP address as text ("02:00:00:00:00:01", "10.0.0.1", "2001:db8::1") or as an integer. */
export type Address = string | bigint;
export type IpFamily = 4 | 6;

export function macValue(mac: Address): bigint {
  const value = typeof mac === 'string' ? parseMac(mac) : mac;
  if (value < 0n || value >= 1n << 48n) throw new TrafficError('BAD_ADDRESS', `${mac} is not a MAC address`);
  return value;
}

/** The family of an address: text by its form, an integer by the family given or its size. */
export function familyOf(ip: Address, family?: IpFamily): IpFamily {
  if (family !== undefined) return family;
  if (typeof ip === 'string') return ip.includes(':') ? 6 : 4;
  return ip <= 0xffffffffn ? 4 : 6;
}

export function ipValue(ip: Address, family: IpFamily): bigint {
  const value = typeof ip === 'string' ? (family === 4 ? parseIPv4(ip) : parseIPv6(ip)) : ip;
  const bits = family === 4 ? 32n : 128n;
  if (value < 0n || value >= 1n << bits) {
    throw new TrafficError('BAD_ADDRESS', `${ip} is not an IPv${family} address`);
  }
  return value;
}

function writeUint(buf: Uint8Array, offset: number, value: bigint, bytes: number): void {
  let v = value;
  for (let i = bytes - 1; i >= 0; i--) {
    buf[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function put16(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 8) & 0xff;
  buf[offset + 1] = value & 0xff;
}

function put32(buf: Uint8Array, offset: number, value: number): void {
  put16(buf, offset, (value >>> 16) & 0xffff);
  put16(buf, offset + 2, value & 0xffff);
}

function checkUint(label: string, value: number, bits: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new TrafficError('BAD_FIELD', `${label} ${value} does not fit in ${bits} bits`);
  }
}

/**
 * RFC 1071 ones'-complement sum of 16-bit words, folded, not yet complemented; `initial` chains a
 * pseudo-header's sum into the segment's.
 */
export function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  // An odd trailing byte is padded with a zero byte on the right (RFC 1071 §4.1).
  if (even !== bytes.length) sum += bytes[even] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The Internet checksum (RFC 1071) of `bytes`, with an optional pseudo-header sum. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return ~onesComplementSum(bytes, initial) & 0xffff;
}

/** Pattern payload: deterministic, recognisable in a capture, different at every offset mod 256. */
export function patternPayload(size: number, seed = 0): Uint8Array {
  checkUint('payload size', size, 32);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i + seed) & 0xff;
  return out;
}

// ------------------------------------------------------------------------------------ link layer

export interface EthernetSpec {
  dst: Address;
  src: Address;
  etherType: number;
  payload: Uint8Array;
}

export function ethernet(spec: EthernetSpec): Uint8Array {
  checkUint('ether_type', spec.etherType, 16);
  const out = new Uint8Array(ETHERNET_HEADER + spec.payload.length);
  writeUint(out, 0, macValue(spec.dst), 6);
  writeUint(out, 6, macValue(spec.src), 6);
  put16(out, 12, spec.etherType);
  out.set(spec.payload, ETHERNET_HEADER);
  return out;
}

export interface ArpSpec {
  op: 'request' | 'reply';
  senderMac: Address;
  senderIp: Address;
  /** All zeros in a request when omitted. */
  targetMac?: Address;
  targetIp: Address;
}

/** An ARP packet for IPv4 over Ethernet (RFC 826): the payload of an EtherType 0x0806 frame. */
export function arp(spec: ArpSpec): Uint8Array {
  const out = new Uint8Array(28);
  put16(out, 0, 1); // hardware type: Ethernet
  put16(out, 2, EtherType.IPV4);
  out[4] = 6;
  out[5] = 4;
  put16(out, 6, spec.op === 'request' ? 1 : 2);
  writeUint(out, 8, macValue(spec.senderMac), 6);
  writeUint(out, 14, ipValue(spec.senderIp, 4), 4);
  writeUint(out, 18, spec.targetMac === undefined ? 0n : macValue(spec.targetMac), 6);
  writeUint(out, 24, ipValue(spec.targetIp, 4), 4);
  return out;
}

// ------------------------------------------------------------------------------------ network layer

/** What a transport checksum covers besides its own segment (RFC 793 §3.1, RFC 8200 §8.1). */
export interface PseudoHeader {
  family: IpFamily;
  src: bigint;
  dst: bigint;
}

function pseudoHeaderSum(ph: PseudoHeader, protocol: number, length: number): number {
  const addrBytes = ph.family === 4 ? 4 : 16;
  const buf = new Uint8Array(2 * addrBytes + (ph.family === 4 ? 4 : 8));
  writeUint(buf, 0, ph.src, addrBytes);
  writeUint(buf, addrBytes, ph.dst, addrBytes);
  const at = 2 * addrBytes;
  if (ph.family === 4) {
    buf[at + 1] = protocol;
    put16(buf, at + 2, length);
  } else {
    put32(buf, at, length);
    buf[at + 7] = protocol;
  }
  return onesComplementSum(buf);
}

export interface Ipv4Spec {
  src: Address;
  dst: Address;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  tos?: number;
  identification?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** In units of 8 bytes, as on the wire. */
  fragmentOffset?: number;
  /** Raw option bytes; padded with End-of-Options (zero) to a multiple of four. */
  options?: Uint8Array;
}

export function ipv4(spec: Ipv4Spec): Uint8Array {
  const optionBytes = spec.options ? (spec.options.length + 3) & ~3 : 0;
  if (optionBytes > 40) throw new TrafficError('BAD_SIZE', `IPv4 options of ${optionBytes} bytes exceed 40`);
  const headerBytes = IPV4_HEADER + optionBytes;
  const total = headerBytes + spec.payload.length;
  if (total > 0xffff) throw new TrafficError('BAD_SIZE', `IPv4 packet of ${total} bytes exceeds 65535`);
  const ttl = spec.ttl ?? 64;
  const fragmentOffset = spec.fragmentOffset ?? 0;
  checkUint('protocol', spec.protocol, 8);
  checkUint('ttl', ttl, 8);
  checkUint('fragment offset', fragmentOffset, 13);
  const out = new Uint8Array(total);
  out[0] = 0x40 | (headerBytes / 4);
  out[1] = spec.tos ?? 0;
  put16(out, 2, total);
  put16(out, 4, spec.identification ?? 0);
  const flags = (spec.dontFragment ? 0x4000 : 0) | (spec.moreFragments ? 0x2000 : 0);
  put16(out, 6, flags | fragmentOffset);
  out[8] = ttl;
  out[9] = spec.protocol;
  writeUint(out, 12, ipValue(spec.src, 4), 4);
  writeUint(out, 16, ipValue(spec.dst, 4), 4);
  if (spec.options) out.set(spec.options, IPV4_HEADER);
  put16(out, 10, internetChecksum(out.subarray(0, headerBytes)));
  out.set(spec.payload, headerBytes);
  return out;
}

export interface Ipv6Spec {
  src: Address;
  dst: Address;
  /** The upper-layer protocol of the payload. */
  nextHeader: number;
  payload: Uint8Array;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** Put an (empty, padded) Hop-by-Hop Options header in front of the payload (RFC 8200 §4.3). */
  hopByHop?: boolean;
}

export function ipv6(spec: Ipv6Spec): Uint8Array {
  const ext = spec.hopByHop ? 8 : 0;
  const payloadLength = ext + spec.payload.length;
  if (payloadLength > 0xffff) throw new TrafficError('BAD_SIZE', `IPv6 payload of ${payloadLength} bytes`);
  const trafficClass = spec.trafficClass ?? 0;
  const flowLabel = spec.flowLabel ?? 0;
  checkUint('traffic class', trafficClass, 8);
  checkUint('flow label', flowLabel, 20);
  checkUint('next header', spec.nextHeader, 8);
  const out = new Uint8Array(IPV6_HEADER + payloadLength);
  put32(out, 0, ((6 << 28) | (trafficClass << 20) | flowLabel) >>> 0);
  put16(out, 4, payloadLength);
  out[6] = spec.hopByHop ? IpProto.HOP_BY_HOP : spec.nextHeader;
  out[7] = spec.hopLimit ?? 64;
  writeUint(out, 8, ipValue(spec.src, 6), 16);
  writeUint(out, 24, ipValue(spec.dst, 6), 16);
  if (spec.hopByHop) {
    // Next header, length 0 (8 bytes), then a PadN option filling the remaining six bytes.
    out[IPV6_HEADER] = spec.nextHeader;
    out[IPV6_HEADER + 2] = 1;
    out[IPV6_HEADER + 3] = 4;
  }
  out.set(spec.payload, IPV6_HEADER + ext);
  return out;
}

// ------------------------------------------------------------------------------------ transport

export interface TcpSpec {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** TcpFlag bits; ACK alone by default. */
  flags?: number;
  window?: number;
  payload: Uint8Array;
}

export function tcp(spec: TcpSpec, ph: PseudoHeader): Uint8Array {
  checkUint('source port', spec.srcPort, 16);
  checkUint('destination port', spec.dstPort, 16);
  const out = new Uint8Array(TCP_HEADER + spec.payload.length);
  put16(out, 0, spec.srcPort);
  put16(out, 2, spec.dstPort);
  put32(out, 4, (spec.seq ?? 0) >>> 0);
  put32(out, 8, (spec.ack ?? 0) >>> 0);
  out[12] = (TCP_HEADER / 4) << 4;
  out[13] = spec.flags ?? TcpFlag.ACK;
  put16(out, 14, spec.window ?? 65535);
  out.set(spec.payload, TCP_HEADER);
  put16(out, 16, internetChecksum(out, pseudoHeaderSum(ph, IpProto.TCP, out.length)));
  return out;
}

export interface UdpSpec {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function udp(spec: UdpSpec, ph: PseudoHeader): Uint8Array {
  checkUint('source port', spec.srcPort, 16);
  checkUint('destination port', spec.dstPort, 16);
  const length = UDP_HEADER + spec.payload.length;
  if (length > 0xffff) throw new TrafficError('BAD_SIZE', `UDP datagram of ${length} bytes exceeds 65535`);
  const out = new Uint8Array(length);
  put16(out, 0, spec.srcPort);
  put16(out, 2, spec.dstPort);
  put16(out, 4, length);
  out.set(spec.payload, UDP_HEADER);
  const sum = internetChecksum(out, pseudoHeaderSum(ph, IpProto.UDP, length));
  // A computed zero is sent as all ones: zero means "no checksum" in IPv4 and is invalid in IPv6
  // (RFC 768, RFC 8200 §8.1).
  put16(out, 6, sum === 0 ? 0xffff : sum);
  return out;
}

export interface IcmpEchoSpec {
  reply?: boolean;
  identifier?: number;
  sequence?: number;
  payload: Uint8Array;
}

/** ICMP (RFC 792) or ICMPv6 (RFC 4443, with its pseudo-header) echo request or reply. */
export function icmpEcho(spec: IcmpEchoSpec, ph: PseudoHeader): Uint8Array {
  const out = new Uint8Array(ICMP_ECHO_HEADER + spec.payload.length);
  if (ph.family === 4) out[0] = spec.reply ? 0 : 8;
  else out[0] = spec.reply ? 129 : 128;
  put16(out, 4, spec.identifier ?? 0);
  put16(out, 6, spec.sequence ?? 0);
  out.set(spec.payload, ICMP_ECHO_HEADER);
  const initial = ph.family === 6 ? pseudoHeaderSum(ph, IpProto.ICMPV6, out.length) : 0;
  put16(out, 2, internetChecksum(out, initial));
  return out;
}

// ------------------------------------------------------------------------------------ whole frames

export type Transport =
  | { proto: 'tcp'; srcPort: number; dstPort: number; seq?: number; ack?: number; flags?: number }
  | { proto: 'udp'; srcPort: number; dstPort: number }
  | { proto: 'icmp'; identifier?: number; sequence?: number; reply?: boolean }
  /** Any other protocol number: the payload is carried as is. */
  | { proto: 'raw'; protocol: number };

export interface IpFrameSpec {
  srcMac: Address;
  dstMac: Address;
  src: Address;
  dst: Address;
  /** Needed only when the addresses are integers that do not tell. */
  family?: IpFamily;
  transport: Transport;
  /** Application bytes; a pattern of `payloadSize` bytes when absent. */
  payload?: Uint8Array;
  payloadSize?: number;
  ipv4?: Pick<
    Ipv4Spec,
    'ttl' | 'tos' | 'identification' | 'dontFragment' | 'moreFragments' | 'fragmentOffset' | 'options'
  >;
  ipv6?: Pick<Ipv6Spec, 'hopLimit' | 'trafficClass' | 'flowLabel' | 'hopByHop'>;
}

function transportProtocol(t: Transport, family: IpFamily): number {
  switch (t.proto) {
    case 'tcp':
      return IpProto.TCP;
    case 'udp':
      return IpProto.UDP;
    case 'icmp':
      return family === 4 ? IpProto.ICMP : IpProto.ICMPV6;
    case 'raw':
      return t.protocol;
  }
}

/** Bytes the transport header adds in front of the application payload. */
export function transportHeaderBytes(t: Transport): number {
  switch (t.proto) {
    case 'tcp':
      return TCP_HEADER;
    case 'udp':
      return UDP_HEADER;
    case 'icmp':
      return ICMP_ECHO_HEADER;
    case 'raw':
      return 0;
  }
}

/** A complete Ethernet + IPv4/IPv6 + transport frame with valid lengths and checksums. */
export function ipFrame(spec: IpFrameSpec): Uint8Array {
  const family = familyOf(spec.src, spec.family);
  if (familyOf(spec.dst, spec.family) !== family) {
    throw new TrafficError(
      'FAMILY_MISMATCH',
      `source ${spec.src} and destination ${spec.dst} differ in family`,
    );
  }
  const ph: PseudoHeader = { family, src: ipValue(spec.src, family), dst: ipValue(spec.dst, family) };
  const payload = spec.payload ?? patternPayload(spec.payloadSize ?? 0);
  const t = spec.transport;
  let segment: Uint8Array;
  switch (t.proto) {
    case 'tcp':
      segment = tcp({ ...t, payload }, ph);
      break;
    case 'udp':
      segment = udp({ ...t, payload }, ph);
      break;
    case 'icmp':
      segment = icmpEcho({ ...t, payload }, ph);
      break;
    case 'raw':
      segment = payload;
      break;
  }
  const protocol = transportProtocol(t, family);
  const packet =
    family === 4
      ? ipv4({ ...spec.ipv4, src: ph.src, dst: ph.dst, protocol, payload: segment })
      : ipv6({ ...spec.ipv6, src: ph.src, dst: ph.dst, nextHeader: protocol, payload: segment });
  return ethernet({
    dst: spec.dstMac,
    src: spec.srcMac,
    etherType: family === 4 ? EtherType.IPV4 : EtherType.IPV6,
    payload: packet,
  });
}

export interface ArpFrameSpec extends ArpSpec {
  /** Broadcast for a request, the target's MAC for a reply, when omitted. */
  dstMac?: Address;
}

export function arpFrame(spec: ArpFrameSpec): Uint8Array {
  const dst = spec.dstMac ?? (spec.op === 'request' ? 0xffffffffffffn : (spec.targetMac ?? 0xffffffffffffn));
  return ethernet({ dst, src: spec.senderMac, etherType: EtherType.ARP, payload: arp(spec) });
}
