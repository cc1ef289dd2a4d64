// Compact encodings of a table entry's identity and action data, as single latin1 strings.
//
// A stored entry keeps its match key and its action parameters as one flat string each instead of
// maps of objects and bigints: strings hold no pointers, so a table of 100k entries costs the garbage
// collector almost nothing, and the Write path can build them straight from the received bytes.
// The readable forms (StoredEntry.matches, .params) are decoded from these on first use.
//
// Key layout, one part per match field in P4Info order, then the priority:
//
//   don't care   0x00
//   EXACT        0x01 len16 value
//   LPM          0x02 len16 value prefix16
//   TERNARY      0x03 len16 value len16 mask
//   RANGE        0x04 len16 low len16 high
//   OPTIONAL     0x05 len16 value
//   priority     int32, big-endian
//
// The kind byte makes a key self-describing, so that it decodes to the match it was made from even
// when that match was built outside the server (the model's tests write entries directly).
//
// Values are canonical bytestrings (P4Runtime §8.3: shortest form, zero as one 0x00 byte), so two
// keys are equal exactly when the entries are the same entry (P4Runtime §9.1). Parameter blobs are
// len16 value for each parameter in P4Info order.

import type { ActionInfo, TableInfo } from '../p4runtime/p4info';
import { encodeUnsigned, type NormalizedFieldMatch } from '../p4runtime/values';

/** A growable scratch buffer that entries are assembled in before becoming one string. */
export class KeyBuilder {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  reset(): this {
    this.pos = 0;
    return this;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  u16(v: number): void {
    this.room(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }

  i32(v: number): void {
    this.room(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** len16 + bytes[start, end) of `src`. */
  bytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.room(n + 2);
    this.buf[this.pos++] = n >>> 8;
    this.buf[this.pos++] = n & 0xff;
    for (let i = start; i < end; i++) this.buf[this.pos++] = src[i];
  }

  /** The assembled bytes as one flat string. */
  take(): string {
    return this.buf.toString('latin1', 0, this.pos);
  }
}

const shared = new KeyBuilder();

/** Kind bytes of the key layout. */
export const KIND_TAG = { EXACT: 1, LPM: 2, TERNARY: 3, RANGE: 4, OPTIONAL: 5 } as const;

function putValue(b: KeyBuilder, value: bigint, bitwidth: number): void {
  const bytes = encodeUnsigned(value, bitwidth);
  b.bytes(bytes, 0, bytes.length);
}

/** The key of an entry given in normalized form (see the layout above). */
export function encodeKey(
  info: TableInfo,
  matches: ReadonlyMap<number, NormalizedFieldMatch>,
  priority: number,
): string {
  const b = shared.reset();
  for (const f of info.matchFields) {
    const m = matches.get(f.id);
    if (m === undefined) {
      b.byte(0);
      continue;
    }
    b.byte(KIND_TAG[m.kind]);
    putValue(b, m.value, f.bitwidth);
    switch (m.kind) {
      case 'LPM':
        b.u16(m.prefixLen);
        break;
      case 'TERNARY':
        putValue(b, m.mask, f.bitwidth);
        break;
      case 'RANGE':
        putValue(b, m.high, f.bitwidth);
        break;
      default:
        break;
    }
  }
  b.i32(priority);
  return b.take();
}

/** The action-parameter blob for `params` (every parameter of `action` present). */
export function encodeParams(action: ActionInfo, params: ReadonlyMap<number, bigint>): string {
  const b = shared.reset();
  for (const p of action.params) putValue(b, params.get(p.id) ?? 0n, p.bitwidth);
  return b.take();
}

// ---------------------------------------------------------------- decoding

function valueAt(s: string, start: number, len: number): bigint {
  if (len <= 6) {
    let n = 0;
    for (let i = 0; i < len; i++) n = n * 256 + s.charCodeAt(start + i);
    return BigInt(n);
  }
  let v = 0n;
  for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(s.charCodeAt(start + i));
  return v;
}

function u16At(s: string, i: number): number {
  return (s.charCodeAt(i) << 8) | s.charCodeAt(i + 1);
}

/** Reads one len16-prefixed value at `pos`; returns it and the position after it. */
function readValue(s: string, pos: number): [bigint, number] {
  const len = u16At(s, pos);
  return [valueAt(s, pos + 2, len), pos + 2 + len];
}

/** The normalized matches a key stands for; don't-care fields are absent. */
export function decodeKey(info: TableInfo, key: string): Map<number, NormalizedFieldMatch> {
  const out = new Map<number, NormalizedFieldMatch>();
  let pos = 0;
  for (const f of info.matchFields) {
    const tag = key.charCodeAt(pos++);
    if (tag === 0) continue;
    const fieldId = f.id;
    const [value, next] = readValue(key, pos);
    pos = next;
    switch (tag) {
      case KIND_TAG.LPM:
        out.set(fieldId, { kind: 'LPM', fieldId, value, prefixLen: u16At(key, pos) });
        pos += 2;
        break;
      case KIND_TAG.TERNARY: {
        const [mask, after] = readValue(key, pos);
        out.set(fieldId, { kind: 'TERNARY', fieldId, value, mask });
        pos = after;
        break;
      }
      case KIND_TAG.RANGE: {
        const [high, after] = readValue(key, pos);
        out.set(fieldId, { kind: 'RANGE', fieldId, value, high });
        pos = after;
        break;
      }
      case KIND_TAG.OPTIONAL:
        out.set(fieldId, { kind: 'OPTIONAL', fieldId, value });
        break;
      default:
        out.set(fieldId, { kind: 'EXACT', fieldId, value });
    }
  }
  return out;
}

/** The priority stored at the end of a key. */
export function keyPriority(key: string): number {
  const n = key.length;
  return (
    (key.charCodeAt(n - 4) << 24) |
    (key.charCodeAt(n - 3) << 16) |
    (key.charCodeAt(n - 2) << 8) |
    key.charCodeAt(n - 1) |
    0
  );
}

/** Parameters by id from a blob made by encodeParams (or by the Write path in the same layout). */
export function decodeParams(action: ActionInfo, blob: string): Map<number, bigint> {
  const out = new Map<number, bigint>();
  let pos = 0;
  for (const p of action.params) {
    const [value, next] = readValue(blob, pos);
    out.set(p.id, value);
    pos = next;
  }
  return out;
}
