// A protobuf wire-format writer for the bulk write path. Building plain objects and handing them to
// protobufjs costs several allocations per field; for 100k-entry writes that garbage, not the
// network, is the bottleneck. This writer appends straight into one growing buffer.
//
// Nested messages are length-delimited with the length in front, unknown until the message is
// written. begin() reserves one byte for it; end() fills it in and, in the rare case the message
// is 128 bytes or longer, moves the body to make room for a longer varint.

import { maxValue } from './values';

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

export class WireWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): void {
    this.pos = 0;
  }

  /** The bytes written so far (a view: copy before reuse of the writer). */
  view(start = 0, end = this.pos): Buffer {
    return this.buf.subarray(start, end);
  }

  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Unsigned varint of a non-negative safe integer. */
  varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (value > 0x7f) {
      buf[pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /** Varint of a uint64 given as a bigint. */
  varintBig(value: bigint): void {
    if (value <= 0x1fffffffffffffn) {
      this.varint(Number(value));
      return;
    }
    this.ensure(10);
    while (value > 0x7fn) {
      this.buf[this.pos++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buf[this.pos++] = Number(value);
  }

  tag(field: number, wireType: number): void {
    // Every field number in p4runtime.proto that we write is below 16, so the tag is one byte.
    this.ensure(1);
    this.buf[this.pos++] = (field << 3) | wireType;
  }

  /** A uint32/int32(non-negative)/enum field; proto3 defaults (0) are left out. */
  uintField(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.tag(field, WIRE_LEN);
    this.varint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  stringField(field: number, text: string): void {
    if (text === '') return;
    const len = Buffer.byteLength(text);
    this.tag(field, WIRE_LEN);
    this.varint(len);
    this.ensure(len);
    this.buf.write(text, this.pos);
    this.pos += len;
  }

  /** Starts a length-delimited sub-message; pass the result to end(). */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    return this.pos++;
  }

  end(lengthAt: number): void {
    const len = this.pos - lengthAt - 1;
    if (len < 0x80) {
      this.buf[lengthAt] = len;
      return;
    }
    let extra = 0;
    for (let rest = len >>> 7; rest > 0; rest >>>= 7) extra++;
    this.ensure(extra);
    const bodyStart = lengthAt + 1;
    this.buf.copyWithin(bodyStart + extra, bodyStart, this.pos);
    let pos = lengthAt;
    let value = len;
    while (value > 0x7f) {
      this.buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buf[pos] = value;
    this.pos += extra;
  }

  /**
   * A bytes field holding `value` as a canonical P4Runtime bytestring (P4Runtime §8.3: shortest
   * big-endian form, zero as one 0x00 byte). The caller has checked that the value fits its width.
   */
  p4BytesField(field: number, value: bigint): void {
    this.tag(field, WIRE_LEN);
    if (value <= 0xffffffffn) {
      let n = Number(value);
      const len = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
      this.ensure(len + 1);
      const buf = this.buf;
      buf[this.pos] = len;
      let pos = this.pos + len;
      for (let i = 0; i < len; i++) {
        buf[pos--] = n & 0xff;
        n >>>= 8;
      }
      this.pos += len + 1;
      return;
    }
    // Whole 32-bit words from the low end, then the top word's significant bytes.
    let words = 0;
    let top = value;
    while (top > 0xffffffffn) {
      top >>= 32n;
      words++;
    }
    let topNum = Number(top);
    const topLen = topNum > 0xffffff ? 4 : topNum > 0xffff ? 3 : topNum > 0xff ? 2 : 1;
    const len = topLen + 4 * words;
    this.varint(len);
    this.ensure(len);
    const start = this.pos;
    let rest = value;
    for (let at = start + len - 4; at >= start + topLen; at -= 4) {
      this.buf.writeUInt32BE(Number(rest & 0xffffffffn), at);
      rest >>= 32n;
    }
    for (let i = topLen - 1; i >= 0; i--) {
      this.buf[start + i] = topNum & 0xff;
      topNum >>>= 8;
    }
    this.pos += len;
  }
}

/** Whether a non-negative bigint fits in `bitwidth` bits. */
export function fits(value: bigint, bitwidth: number): boolean {
  return value >= 0n && value <= maxValue(bitwidth);
}
