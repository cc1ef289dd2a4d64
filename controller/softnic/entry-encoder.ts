// Serialises stored table entries for Read responses straight from their compact form (keys.ts),
// without building message objects: the bytes of a key are already the canonical bytestrings a
// TableEntry carries (P4Runtime §8.3), so reading back is copying them under protobuf framing.
//
// Field numbers are those of p4runtime.proto (TableEntry, FieldMatch, TableAction, Action, Param,
// CounterData, MeterConfig, Entity, ReadResponse).

import { KIND_TAG } from './keys';
import type { CompactEntry, CounterCell, MeterRates, TableState } from './state';

/** Protobuf writer into one growable buffer, with length-delimited sections closed in place. */
export class ProtoBuilder {
  private buf = Buffer.allocUnsafe(64 * 1024);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(n: number): void {
    this.room(10);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  /** int64/uint64 field value (non-negative here). */
  varint64(v: bigint): void {
    if (v <= 0x1fffffffffffffn) return this.varint(Number(v));
    this.room(10);
    let n = BigInt.asUintN(64, v);
    while (n > 0x7fn) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  uintField(field: number, n: number): void {
    this.tag(field, 0);
    this.varint(n);
  }

  /** A bytes field whose content is `len` latin1 characters of `s` from `start`. */
  latin1Field(field: number, s: string, start: number, len: number): void {
    this.tag(field, 2);
    this.varint(len);
    this.room(len);
    for (let i = 0; i < len; i++) this.buf[this.pos++] = s.charCodeAt(start + i);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, 2);
    this.varint(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Opens a length-delimited field; returns the mark to pass to close(). */
  open(field: number): number {
    this.tag(field, 2);
    this.room(1);
    return this.pos++;
  }

  /** Writes the length of the section opened at `mark`, moving its content if the length needs more bytes. */
  close(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    let extra = 0;
    for (let n = len; n > 0x7f; n = Math.floor(n / 128)) extra++;
    this.room(extra);
    this.buf.copy(this.buf, mark + 1 + extra, mark + 1, this.pos);
    this.pos += extra;
    let n = len;
    let p = mark;
    while (n > 0x7f) {
      this.buf[p++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[p] = n;
  }

  /** Copies out everything written so far and starts over. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

// FieldMatch member field numbers by key kind tag.
const MATCH_FIELD: Record<number, number> = {
  [KIND_TAG.EXACT]: 2,
  [KIND_TAG.TERNARY]: 3,
  [KIND_TAG.LPM]: 4,
  [KIND_TAG.RANGE]: 6,
  [KIND_TAG.OPTIONAL]: 7,
};

function u16At(s: string, i: number): number {
  return (s.charCodeAt(i) << 8) | s.charCodeAt(i + 1);
}

/** Writes a len16-prefixed key part as bytes field `field`; returns the position after it. */
function part(b: ProtoBuilder, field: number, s: string, pos: number): number {
  const len = u16At(s, pos);
  b.latin1Field(field, s, pos + 2, len);
  return pos + 2 + len;
}

export function writeCounterData(b: ProtoBuilder, field: number, c: CounterCell): void {
  const m = b.open(field);
  b.tag(1, 0);
  b.varint64(c.bytes);
  b.tag(2, 0);
  b.varint64(c.packets);
  b.close(m);
}

export function writeMeterConfig(b: ProtoBuilder, field: number, r: MeterRates): void {
  const m = b.open(field);
  const put = (f: number, v: bigint) => {
    b.tag(f, 0);
    b.varint64(v);
  };
  put(1, r.cir);
  put(2, r.cburst);
  put(3, r.pir);
  put(4, r.pburst);
  if (r.eburst !== 0n) put(5, r.eburst);
  b.close(m);
}

/**
 * Writes the TableEntry message body of `e` (table_id, match, action, priority, metadata, and the
 * direct resources when given).
 */
export function writeTableEntry(
  b: ProtoBuilder,
  table: TableState,
  e: CompactEntry,
  counter?: CounterCell,
  meter?: MeterRates,
): void {
  const info = table.info;
  b.uintField(1, info.id);
  const key = e.key;
  let pos = 0;
  for (const f of info.matchFields) {
    const tag = key.charCodeAt(pos++);
    if (tag === 0) continue;
    const fm = b.open(2);
    b.uintField(1, f.id);
    const kind = b.open(MATCH_FIELD[tag]);
    pos = part(b, 1, key, pos);
    if (tag === KIND_TAG.LPM) {
      b.uintField(2, u16At(key, pos));
      pos += 2;
    } else if (tag === KIND_TAG.TERNARY || tag === KIND_TAG.RANGE) {
      pos = part(b, 2, key, pos);
    }
    b.close(kind);
    b.close(fm);
  }
  const tableAction = b.open(3);
  const action = b.open(1);
  b.uintField(1, e.actionId);
  const blob = e.paramBlob;
  let p = 0;
  for (const param of table.p4info.action(e.actionId).params) {
    const pm = b.open(4);
    b.uintField(2, param.id);
    p = part(b, 3, blob, p);
    b.close(pm);
  }
  b.close(action);
  b.close(tableAction);
  if (e.priority !== 0) b.uintField(4, e.priority);
  if (meter) writeMeterConfig(b, 6, meter);
  if (counter) writeCounterData(b, 7, counter);
  const md = e.metadataBlob;
  if (md.length > 0) b.latin1Field(11, md, 0, md.length);
}
