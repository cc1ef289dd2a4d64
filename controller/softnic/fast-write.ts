// The Write path's fast lane: applies ordinary table-entry updates straight from the received
// protobuf bytes, without building message objects, Buffers or bigints.
//
// It handles INSERT / MODIFY / DELETE of a non-default TableEntry carrying only table_id, match,
// priority, a direct action and metadata, and applies it only when every check of P4Runtime
// §8.3/§9.1.1/§9.1.2 passes and the store accepts it. Anything else — another entity, direct
// resources, a default entry, any failed check, a duplicate or missing key, a full table, a field it
// does not know — makes it answer "not handled" without touching state; the caller then decodes the
// update and runs the general path (writes.ts), which applies it or reports the precise error. So the
// fast lane never decides a rejection, and its acceptance rules are a subset of the general path's:
// writes.test.ts checks both lanes agree.
//
// Wire format reference: protobuf encoding (varint, length-delimited), field numbers of p4runtime.proto.

import type { ActionInfo, TableInfo } from '../p4runtime/p4info';
import { KeyBuilder, KIND_TAG } from './keys';
import { SoftnicStateError, type TableState } from './state';

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** What the fast lane needs to know of one table, precomputed when the pipeline is installed. */
interface FastField {
  readonly tag: number;
  readonly bitwidth: number;
  readonly nbytes: number;
  /** Bits usable in the first byte of a full-width value. */
  readonly topBits: number;
}

interface FastAction {
  readonly id: number;
  /** Param id → position in P4Info order. */
  readonly slots: ReadonlyMap<number, number>;
  readonly widths: readonly number[];
}

interface FastTable {
  readonly table: TableState;
  readonly fields: readonly FastField[];
  /** Field id → position in P4Info order. */
  readonly slots: ReadonlyMap<number, number>;
  readonly needsPriority: boolean;
  readonly requiredSlots: readonly number[];
  readonly actions: ReadonlyMap<number, FastAction>;
  // Scratch: per field slot, [start, end, start2, end2, prefixLen], set when present.
  readonly parts: Int32Array;
  readonly present: Uint8Array;
  readonly paramParts: Int32Array;
}

function fastField(bitwidth: number, matchType: string): FastField | undefined {
  const tag = (KIND_TAG as Record<string, number>)[matchType];
  if (tag === undefined || bitwidth <= 0) return undefined;
  const nbytes = (bitwidth + 7) >> 3;
  return { tag, bitwidth, nbytes, topBits: bitwidth - 8 * (nbytes - 1) };
}

function fastAction(a: ActionInfo): FastAction {
  return {
    id: a.id,
    slots: new Map(a.params.map((p, i) => [p.id, i])),
    widths: a.params.map((p) => p.bitwidth),
  };
}

/** Reads protobuf fields from a byte range, one at a time. */
class Cursor {
  buf!: Buffer;
  pos = 0;
  end = 0;
  /** Set by next(): field number and wire type of the current field. */
  field = 0;
  wire = 0;
  /** For length-delimited fields: [start, end) of the payload. For varints: the value (< 2^32). */
  start = 0;
  stop = 0;
  value = 0;

  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  /** Advances to the next field; false at the end, or on anything malformed or unexpected. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const key = this.varint();
    if (key < 0) return false;
    this.field = key >>> 3;
    this.wire = key & 7;
    if (this.wire === WIRE_VARINT) {
      const v = this.varint();
      if (v < 0) return false;
      this.value = v;
      return true;
    }
    if (this.wire === WIRE_LEN) {
      const len = this.varint();
      if (len < 0 || this.pos + len > this.end) return false;
      this.start = this.pos;
      this.stop = this.pos + len;
      this.pos = this.stop;
      return true;
    }
    return false;
  }

  /** A varint below 2^31, or -1 (larger values and truncation are left to the general path). */
  private varint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) return -1;
      const b = this.buf[this.pos++];
      if (shift === 28 && b > 7) return -1;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
    return -1;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }
}

/**
 * Start of the canonical form of the bytestring [s, e) for a bit<w> field, or -1 when it is empty
 * or wider than w bits (P4Runtime §8.3).
 */
function canonicalStart(buf: Buffer, s: number, e: number, f: { nbytes: number; topBits: number }): number {
  if (e <= s) return -1;
  let i = s;
  while (i < e - 1 && buf[i] === 0) i++;
  const len = e - i;
  if (len > f.nbytes) return -1;
  if (len === f.nbytes && buf[i] >> f.topBits !== 0) return -1;
  return i;
}

export class FastTableWriter {
  private readonly tables = new Map<number, FastTable>();
  private readonly cursors = [
    new Cursor(),
    new Cursor(),
    new Cursor(),
    new Cursor(),
    new Cursor(),
    new Cursor(),
  ];
  private readonly key = new KeyBuilder();
  private readonly params = new KeyBuilder();
  private readonly matchRanges: number[] = [];

  constructor(
    tables: Iterable<{ table: TableState; info: TableInfo; needsPriority: boolean; indirect: boolean }>,
  ) {
    for (const t of tables) {
      if (t.indirect) continue;
      const fields: FastField[] = [];
      let usable = true;
      for (const f of t.info.matchFields) {
        const ff = fastField(f.bitwidth, f.matchType);
        if (ff === undefined) usable = false;
        else fields.push(ff);
      }
      if (!usable) continue;
      const actions = new Map<number, FastAction>();
      let maxParams = 0;
      for (const ref of t.info.actionRefs) {
        if (ref.scope === 'DEFAULT_ONLY') continue;
        const a = fastAction(t.table.p4info.action(ref.id));
        maxParams = Math.max(maxParams, a.widths.length);
        actions.set(a.id, a);
      }
      this.tables.set(t.info.id, {
        table: t.table,
        fields,
        slots: new Map(t.info.matchFields.map((f, i) => [f.id, i])),
        needsPriority: t.needsPriority,
        requiredSlots: fields.flatMap((f, i) => (f.tag === KIND_TAG.EXACT ? [i] : [])),
        actions,
        parts: new Int32Array(fields.length * 5),
        present: new Uint8Array(fields.length),
        paramParts: new Int32Array(maxParams * 2),
      });
    }
  }

  /** Applies the Update in buf[start, end) if it is an ordinary table-entry update; true when applied. */
  tryApply(buf: Buffer, start: number, end: number): boolean {
    const u = this.cursors[0].reset(buf, start, end);
    let type = 0;
    let entityStart = -1;
    let entityEnd = -1;
    let seen = 0;
    while (u.next()) {
      if (u.field === 1 && u.wire === WIRE_VARINT && !(seen & 1)) {
        type = u.value;
        seen |= 1;
      } else if (u.field === 2 && u.wire === WIRE_LEN && !(seen & 2)) {
        entityStart = u.start;
        entityEnd = u.stop;
        seen |= 2;
      } else return false;
    }
    if (!u.done || type < 1 || type > 3 || entityStart < 0) return false;
    const e = this.cursors[1].reset(buf, entityStart, entityEnd);
    if (!e.next() || e.field !== 2 || e.wire !== WIRE_LEN || e.next() || !e.done) return false;
    return this.tableEntry(type, buf, e.start, e.stop);
  }

  private tableEntry(type: number, buf: Buffer, start: number, end: number): boolean {
    const c = this.cursors[2].reset(buf, start, end);
    let tableId = 0;
    let priority = 0;
    let actionStart = -1;
    let actionEnd = -1;
    let metaStart = -1;
    let metaEnd = -1;
    let seen = 0;
    // First pass: scalars and ranges; matches need the table, which may come after them.
    const matchRanges = this.matchRanges;
    matchRanges.length = 0;
    while (c.next()) {
      const f = c.field;
      if (f === 1 && c.wire === WIRE_VARINT && !(seen & 1)) {
        tableId = c.value;
        seen |= 1;
      } else if (f === 2 && c.wire === WIRE_LEN) {
        matchRanges.push(c.start, c.stop);
      } else if (f === 3 && c.wire === WIRE_LEN && !(seen & 4)) {
        actionStart = c.start;
        actionEnd = c.stop;
        seen |= 4;
      } else if (f === 4 && c.wire === WIRE_VARINT && !(seen & 8)) {
        priority = c.value;
        seen |= 8;
      } else if (f === 11 && c.wire === WIRE_LEN && !(seen & 16)) {
        metaStart = c.start;
        metaEnd = c.stop;
        seen |= 16;
      } else return false;
    }
    if (!c.done) return false;
    const t = this.tables.get(tableId);
    if (t === undefined) return false;
    if (t.needsPriority ? priority <= 0 : priority !== 0) return false;
    if (!this.matches(t, buf, matchRanges)) return false;
    const key = this.buildKey(t, buf, priority);
    const table = t.table;
    if (type === 3) {
      if (!table.entries.has(key)) return false;
      table.delete(key);
      return true;
    }
    if (actionStart < 0) return false;
    const action = this.action(t, buf, actionStart, actionEnd);
    if (action === undefined) return false;
    const params = this.buildParams(t, action, buf);
    const metadata = metaStart < 0 || metaEnd === metaStart ? '' : buf.toString('latin1', metaStart, metaEnd);
    // The store refuses duplicates, a full table and missing keys before changing anything; the
    // general path then reports them.
    try {
      if (type === 1) table.insertEncoded(key, priority, action.id, params, metadata);
      else table.modifyEncoded(key, priority, action.id, params, metadata);
    } catch (err) {
      if (err instanceof SoftnicStateError) return false;
      throw err;
    }
    return true;
  }

  /** Validates every FieldMatch (P4Runtime §9.1.1) and records where its canonical parts are. */
  private matches(t: FastTable, buf: Buffer, ranges: readonly number[]): boolean {
    const present = t.present;
    const parts = t.parts;
    present.fill(0);
    const fm = this.cursors[3];
    const inner = this.cursors[4];
    for (let r = 0; r < ranges.length; r += 2) {
      fm.reset(buf, ranges[r], ranges[r + 1]);
      let fieldId = -1;
      let kind = 0;
      let ks = 0;
      let ke = 0;
      while (fm.next()) {
        if (fm.field === 1 && fm.wire === WIRE_VARINT && fieldId < 0) fieldId = fm.value;
        else if (fm.wire === WIRE_LEN && kind === 0 && fm.field >= 2 && fm.field <= 7 && fm.field !== 5) {
          kind = fm.field;
          ks = fm.start;
          ke = fm.stop;
        } else return false;
      }
      if (!fm.done || fieldId < 0 || kind === 0) return false;
      const slot = t.slots.get(fieldId);
      if (slot === undefined || present[slot]) return false;
      const f = t.fields[slot];
      // Wire field numbers: exact 2, ternary 3, lpm 4, range 6, optional 7.
      const expected =
        kind === 2
          ? KIND_TAG.EXACT
          : kind === 3
            ? KIND_TAG.TERNARY
            : kind === 4
              ? KIND_TAG.LPM
              : kind === 6
                ? KIND_TAG.RANGE
                : KIND_TAG.OPTIONAL;
      if (expected !== f.tag) return false;
      // Sub-message fields: 1 (value / low) and 2 (mask / prefix_len / high).
      let a0 = -1;
      let a1 = -1;
      let b0 = -1;
      let b1 = -1;
      let prefix = -1;
      inner.reset(buf, ks, ke);
      while (inner.next()) {
        if (inner.field === 1 && inner.wire === WIRE_LEN && a0 < 0) {
          a0 = inner.start;
          a1 = inner.stop;
        } else if (inner.field === 2 && f.tag === KIND_TAG.LPM && inner.wire === WIRE_VARINT && prefix < 0) {
          prefix = inner.value;
        } else if (
          inner.field === 2 &&
          inner.wire === WIRE_LEN &&
          b0 < 0 &&
          (f.tag === KIND_TAG.TERNARY || f.tag === KIND_TAG.RANGE)
        ) {
          b0 = inner.start;
          b1 = inner.stop;
        } else return false;
      }
      if (!inner.done || a0 < 0) return false;
      const vs = canonicalStart(buf, a0, a1, f);
      if (vs < 0) return false;
      const o = slot * 5;
      parts[o] = vs;
      parts[o + 1] = a1;
      if (f.tag === KIND_TAG.LPM) {
        if (prefix <= 0 || prefix > f.bitwidth || !trailingZeros(buf, vs, a1, f.bitwidth - prefix))
          return false;
        parts[o + 4] = prefix;
      } else if (f.tag === KIND_TAG.TERNARY || f.tag === KIND_TAG.RANGE) {
        if (b0 < 0) return false;
        const ws = canonicalStart(buf, b0, b1, f);
        if (ws < 0) return false;
        if (f.tag === KIND_TAG.TERNARY) {
          if (b1 - ws === 1 && buf[ws] === 0) return false; // mask 0: don't care sent explicitly
          if (!withinMask(buf, vs, a1, ws, b1)) return false;
        } else {
          if (compareCanonical(buf, vs, a1, ws, b1) > 0) return false;
          if (a1 - vs === 1 && buf[vs] === 0 && isMax(buf, ws, b1, f)) return false; // full range: don't care
        }
        parts[o + 2] = ws;
        parts[o + 3] = b1;
      }
      present[slot] = 1;
    }
    for (const slot of t.requiredSlots) if (!present[slot]) return false;
    return true;
  }

  private buildKey(t: FastTable, buf: Buffer, priority: number): string {
    const k = this.key.reset();
    const parts = t.parts;
    for (let slot = 0; slot < t.fields.length; slot++) {
      if (!t.present[slot]) {
        k.byte(0);
        continue;
      }
      const f = t.fields[slot];
      const o = slot * 5;
      k.byte(f.tag);
      k.bytes(buf, parts[o], parts[o + 1]);
      if (f.tag === KIND_TAG.LPM) k.u16(parts[o + 4]);
      else if (f.tag === KIND_TAG.TERNARY || f.tag === KIND_TAG.RANGE)
        k.bytes(buf, parts[o + 2], parts[o + 3]);
    }
    k.i32(priority);
    return k.take();
  }

  /** Validates a TableAction holding a direct Action (P4Runtime §9.1.2); records its params' parts. */
  private action(t: FastTable, buf: Buffer, start: number, end: number): FastAction | undefined {
    const ta = this.cursors[3].reset(buf, start, end);
    if (!ta.next() || ta.field !== 1 || ta.wire !== WIRE_LEN || ta.next() || !ta.done) return undefined;
    const c = this.cursors[4].reset(buf, ta.start, ta.stop);
    let actionId = -1;
    const ranges: number[] = [];
    while (c.next()) {
      if (c.field === 1 && c.wire === WIRE_VARINT && actionId < 0) actionId = c.value;
      else if (c.field === 4 && c.wire === WIRE_LEN) ranges.push(c.start, c.stop);
      else return undefined;
    }
    if (!c.done) return undefined;
    const a = t.actions.get(actionId);
    if (a === undefined || ranges.length / 2 !== a.widths.length) return undefined;
    const parts = t.paramParts;
    parts.fill(-1, 0, a.widths.length * 2);
    const p = this.cursors[5];
    for (let r = 0; r < ranges.length; r += 2) {
      p.reset(buf, ranges[r], ranges[r + 1]);
      let id = -1;
      let vs = -1;
      let ve = -1;
      while (p.next()) {
        if (p.field === 2 && p.wire === WIRE_VARINT && id < 0) id = p.value;
        else if (p.field === 3 && p.wire === WIRE_LEN && vs < 0) {
          vs = p.start;
          ve = p.stop;
        } else return undefined;
      }
      if (!p.done || id < 0 || vs < 0) return undefined;
      const slot = a.slots.get(id);
      if (slot === undefined || parts[slot * 2] >= 0) return undefined;
      const w = a.widths[slot];
      const nbytes = (w + 7) >> 3;
      const cs = canonicalStart(buf, vs, ve, { nbytes, topBits: w - 8 * (nbytes - 1) });
      if (cs < 0) return undefined;
      parts[slot * 2] = cs;
      parts[slot * 2 + 1] = ve;
    }
    return a;
  }

  /** The parameter blob (keys.ts layout) from the parts action() recorded in `t.paramParts`. */
  private buildParams(t: FastTable, a: FastAction, buf: Buffer): string {
    const b = this.params.reset();
    const parts = t.paramParts;
    for (let slot = 0; slot < a.widths.length; slot++) b.bytes(buf, parts[slot * 2], parts[slot * 2 + 1]);
    return b.take();
  }
}

/** Whether the low `hostBits` bits of the canonical value [s, e) are zero (LPM, P4Runtime §9.1.1). */
function trailingZeros(buf: Buffer, s: number, e: number, hostBits: number): boolean {
  let i = e - 1;
  let h = hostBits;
  while (h >= 8) {
    if (i >= s && buf[i] !== 0) return false;
    i--;
    h -= 8;
  }
  return h === 0 || i < s || (buf[i] & ((1 << h) - 1)) === 0;
}

/** value & ~mask == 0, both canonical and right-aligned. */
function withinMask(buf: Buffer, vs: number, ve: number, ms: number, me: number): boolean {
  for (let k = 1; k <= ve - vs; k++) {
    const m = me - k >= ms ? buf[me - k] : 0;
    if ((buf[ve - k] & ~m & 0xff) !== 0) return false;
  }
  return true;
}

/** Sign of a - b for canonical big-endian values. */
function compareCanonical(buf: Buffer, as: number, ae: number, bs: number, be: number): number {
  const la = ae - as;
  const lb = be - bs;
  if (la !== lb) return la - lb;
  for (let i = 0; i < la; i++) {
    const d = buf[as + i] - buf[bs + i];
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether the canonical value [s, e) is 2^w - 1. */
function isMax(buf: Buffer, s: number, e: number, f: FastField): boolean {
  if (e - s !== f.nbytes || buf[s] !== (1 << f.topBits) - 1) return false;
  for (let i = s + 1; i < e; i++) if (buf[i] !== 0xff) return false;
  return true;
}
