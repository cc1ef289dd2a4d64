// NicguardParser of p4/nicguard.p4, as bmv2 runs it: headers are extracted in the order of the
// parse graph; when the frame is too short for the next header, bmv2 raises PacketTooShort, that
// header stays invalid, parsing stops, and the packet still enters ingress (v1model does not drop
// on parser errors; the error only shows in standard_metadata.parser_error, which the program
// ignores).
//
// One ParsedFrame is reused for every packet: the model's hot path allocates nothing here.

import { CPU_PORT } from '../pipeline/contract';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const PROTO_TCP = 6;
const PROTO_UDP = 17;

export const PACKET_OUT_BYTES = 2;
const ETHERNET_BYTES = 14;
const IPV4_BYTES = 20;
const IPV6_BYTES = 40;
const L4_PORT_BYTES = 4;

export type ParserError = 'NONE' | 'PACKET_TOO_SHORT';

/**
 * The headers of one frame. Fields of an invalid header are zero: bmv2 would leave whatever an
 * earlier packet put in its reused PHV there, which no program should rely on; this one reads
 * an invalid header's fields only as keys that no entry can be written to match on purpose.
 */
export class ParsedFrame {
  /** Frame bytes as received: bmv2's packet_length, packet_out header included on the CPU port. */
  length = 0;
  /** Where the unparsed payload begins: what the deparser appends after the emitted headers. */
  offset = 0;
  parserError: ParserError = 'NONE';

  packetOutValid = false;
  packetOutIngressPort = 0;
  packetOutReport = 0;

  ethernetValid = false;
  /** 48-bit MAC addresses as exact integers. */
  dstMac = 0;
  srcMac = 0;
  etherType = 0;

  ipv4Valid = false;
  ipv4Ihl = 0;
  ipv4FragOffset = 0;
  ipv4Protocol = 0;
  /** Unsigned 32-bit. */
  ipv4Src = 0;
  ipv4Dst = 0;

  ipv6Valid = false;
  ipv6NextHdr = 0;
  /** Big-endian 32-bit words, most significant first. */
  readonly ipv6Src = new Uint32Array(4);
  readonly ipv6Dst = new Uint32Array(4);

  l4Valid = false;
  srcPort = 0;
  dstPort = 0;

  reset(length: number): void {
    this.length = length;
    this.offset = 0;
    this.parserError = 'NONE';
    this.packetOutValid = false;
    this.packetOutIngressPort = 0;
    this.packetOutReport = 0;
    this.ethernetValid = false;
    this.dstMac = 0;
    this.srcMac = 0;
    this.etherType = 0;
    this.ipv4Valid = false;
    this.ipv4Ihl = 0;
    this.ipv4FragOffset = 0;
    this.ipv4Protocol = 0;
    this.ipv4Src = 0;
    this.ipv4Dst = 0;
    this.ipv6Valid = false;
    this.ipv6NextHdr = 0;
    this.ipv6Src.fill(0);
    this.ipv6Dst.fill(0);
    this.l4Valid = false;
    this.srcPort = 0;
    this.dstPort = 0;
  }
}

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function u48(b: Uint8Array, at: number): number {
  return u16(b, at) * 0x100000000 + u32(b, at + 2);
}

/** A 128-bit address from four big-endian words. */
export function wordsToBigInt(words: Uint32Array): bigint {
  return (BigInt(words[0]) << 96n) | (BigInt(words[1]) << 64n) | (BigInt(words[2]) << 32n) | BigInt(words[3]);
}

function tooShort(out: ParsedFrame): ParsedFrame {
  out.parserError = 'PACKET_TOO_SHORT';
  return out;
}

/** Runs the parse graph over `frame` as it arrives on `ingressPort`, filling `out`. */
export function parseFrame(ingressPort: number, frame: Uint8Array, out: ParsedFrame): ParsedFrame {
  const len = frame.length;
  out.reset(len);
  let at = 0;

  if (ingressPort === CPU_PORT) {
    if (len < PACKET_OUT_BYTES) return tooShort(out);
    // packet_out_t: ingress_port (9 bits), report (1), _pad (6), most significant bit first.
    const word = u16(frame, 0);
    out.packetOutValid = true;
    out.packetOutIngressPort = word >>> 7;
    out.packetOutReport = (word >>> 6) & 1;
    at = PACKET_OUT_BYTES;
  }

  if (len - at < ETHERNET_BYTES) {
    out.offset = at;
    return tooShort(out);
  }
  out.ethernetValid = true;
  out.dstMac = u48(frame, at);
  out.srcMac = u48(frame, at + 6);
  out.etherType = u16(frame, at + 12);
  at += ETHERNET_BYTES;
  out.offset = at;

  let toL4 = false;
  if (out.etherType === ETHERTYPE_IPV4) {
    if (len - at < IPV4_BYTES) return tooShort(out);
    out.ipv4Valid = true;
    out.ipv4Ihl = frame[at] & 0x0f;
    out.ipv4FragOffset = u16(frame, at + 6) & 0x1fff;
    out.ipv4Protocol = frame[at + 9];
    out.ipv4Src = u32(frame, at + 12);
    out.ipv4Dst = u32(frame, at + 16);
    // The fixed 20 bytes only: options are not extracted, so the "l4" header of a frame with
    // options would be read from inside them, which is why the select below demands ihl == 5.
    at += IPV4_BYTES;
    out.offset = at;
    toL4 =
      out.ipv4FragOffset === 0 &&
      out.ipv4Ihl === 5 &&
      (out.ipv4Protocol === PROTO_TCP || out.ipv4Protocol === PROTO_UDP);
  } else if (out.etherType === ETHERTYPE_IPV6) {
    if (len - at < IPV6_BYTES) return tooShort(out);
    out.ipv6Valid = true;
    out.ipv6NextHdr = frame[at + 6];
    for (let i = 0; i < 4; i++) {
      out.ipv6Src[i] = u32(frame, at + 8 + 4 * i);
      out.ipv6Dst[i] = u32(frame, at + 24 + 4 * i);
    }
    at += IPV6_BYTES;
    out.offset = at;
    toL4 = out.ipv6NextHdr === PROTO_TCP || out.ipv6NextHdr === PROTO_UDP;
  }

  if (toL4) {
    if (len - at < L4_PORT_BYTES) return tooShort(out);
    out.l4Valid = true;
    out.srcPort = u16(frame, at);
    out.dstPort = u16(frame, at + 2);
    at += L4_PORT_BYTES;
    out.offset = at;
  }
  return out;
}
