// Lookup structures over the stored entries of one table, rebuilt whenever the table's generation
// moves (state.ts caching contract), so that a lookup costs a hash probe or a short scan however
// large the table is. Match semantics are bmv2's (src/bm_sim/match_units.cpp,
// lookup_structures.cpp):
//
//   exact    the key equals the value;
//   LPM      the longest matching prefix wins; an absent field is prefix length 0 (P4Runtime §9.1.1);
//   ternary/range tables  every field must match ((key & mask) == value & mask, low <= key <= high,
//            exact fields in full); bmv2 keeps the entries in one list in handle order and picks
//            the lowest bmv2 priority, which PI sets to (max - P4Runtime priority) so the HIGHEST
//            P4Runtime priority wins (P4Runtime §9.1); on equal priority the first in handle order
//            wins (EntryList::lookup skips an entry whose priority is >= the best so far). A handle
//            is the lowest free slot at insertion time (HandleMgr::get_handle) and is kept across
//            MODIFY, so after a DELETE a newer entry can take an older slot and win a tie against
//            entries inserted before it. HandleTracker reproduces that allocation.

import type { NormalizedFieldMatch } from '../p4runtime/values';
import type { MatchFieldInfo } from '../p4runtime/p4info';
import { PacketModelError } from './model-error';
import type { StoredEntry, TableState } from './state';

/** Big-endian 32-bit words of a value `bitwidth` bits wide. */
export function toWords(value: bigint, bitwidth: number): number[] {
  const n = Math.ceil(bitwidth / 32);
  const words = new Array<number>(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    words[i] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
  return words;
}

/**
 * The text a key value is hashed under: the number itself when it fits a double exactly, else its
 * 32-bit words joined by dots. Packet-side keys are built the same way from parsed fields.
 */
export function exactKeyPart(value: bigint, bitwidth: number): string {
  return bitwidth <= 53 ? String(Number(value)) : toWords(value, bitwidth).join('.');
}

/**
 * bmv2's handle allocation for one table, reconstructed from what the store shows: entries are
 * recognised by their insertion sequence; an entry that disappears frees its handle, and new ones
 * take the lowest free handles in insertion order. Between two observations, deletions are taken
 * to come before insertions — exact whenever the model observes the table at least once between
 * a batch that deletes and a later one that inserts, and in the common delete-then-insert batch.
 */
export class HandleTracker {
  private readonly handleOf = new Map<number, number>();
  private readonly used: boolean[] = [];
  private firstFree = 0;

  /** Frees the handles of `removed` sequences and allocates handles to `added` ones. */
  update(removed: readonly number[], added: readonly number[]): void {
    const kept = new Set(added);
    for (const sequence of removed) {
      const handle = this.handleOf.get(sequence);
      // A MODIFY shows as the same sequence removed and added: the entry keeps its handle.
      if (handle === undefined || kept.has(sequence)) continue;
      this.handleOf.delete(sequence);
      this.used[handle] = false;
      if (handle < this.firstFree) this.firstFree = handle;
    }
    const fresh = added.filter((sequence) => !this.handleOf.has(sequence)).sort((a, b) => a - b);
    for (const sequence of fresh) {
      const handle = this.firstFree;
      this.used[handle] = true;
      this.handleOf.set(sequence, handle);
      let next = handle + 1;
      while (next < this.used.length && this.used[next]) next++;
      this.firstFree = next;
    }
  }

  handle(sequence: number): number {
    return this.handleOf.get(sequence) ?? 0;
  }
}

export interface PriorityRule<A> {
  readonly entry: StoredEntry;
  readonly action: A;
  readonly priority: number;
  readonly handle: number;
}

/**
 * How a ternary/range table's key (after the partition field) is laid out as 32-bit words: every
 * non-range field contributes its big-endian words, compared under a mask (exact: all ones; LPM:
 * the prefix; ternary: its mask; absent: zero), then every range field one word, compared to
 * [low, high]. A partition stores its rules as one Uint32Array of (value, mask) pairs followed by
 * (low, high) pairs, best rule first, so the scan touches contiguous memory.
 */
interface KeyLayout {
  /** Per field after the partition: its first word (masked) or range index, and its kind. */
  readonly fields: readonly { field: MatchFieldInfo; range: boolean; at: number }[];
  readonly maskedWords: number;
  readonly ranges: number;
  readonly stride: number;
}

function keyLayout(fields: readonly MatchFieldInfo[]): KeyLayout {
  let maskedWords = 0;
  let ranges = 0;
  const out: { field: MatchFieldInfo; range: boolean; at: number }[] = [];
  for (const field of fields) {
    if (field.matchType === 'RANGE') {
      if (field.bitwidth > 32) {
        throw new PacketModelError(
          'UNSUPPORTED_TABLE_SHAPE',
          `range field ${field.name} is wider than 32 bits`,
        );
      }
      out.push({ field, range: true, at: ranges++ });
    } else {
      out.push({ field, range: false, at: maskedWords });
      maskedWords += Math.ceil(field.bitwidth / 32);
    }
  }
  return { fields: out, maskedWords, ranges, stride: 2 * maskedWords + 2 * ranges };
}

/** Writes one entry's match into `data` at `base` in the layout's form. */
function encodeRule(layout: KeyLayout, entry: StoredEntry, data: Uint32Array, base: number): void {
  for (const { field, range, at } of layout.fields) {
    const m: NormalizedFieldMatch | undefined = entry.matches.get(field.id);
    if (range) {
      const i = base + 2 * layout.maskedWords + 2 * at;
      const max = 2 ** field.bitwidth - 1;
      data[i] = m?.kind === 'RANGE' ? Number(m.value) : 0;
      data[i + 1] = m?.kind === 'RANGE' ? Number(m.high) : max;
      continue;
    }
    let value = 0n;
    let mask = 0n;
    if (m !== undefined) {
      switch (m.kind) {
        case 'TERNARY':
          mask = m.mask;
          break;
        case 'LPM':
          mask =
            m.prefixLen === 0
              ? 0n
              : ((1n << BigInt(m.prefixLen)) - 1n) << BigInt(field.bitwidth - m.prefixLen);
          break;
        case 'EXACT':
        case 'OPTIONAL':
          mask = (1n << BigInt(field.bitwidth)) - 1n;
          break;
        case 'RANGE':
          break;
      }
      value = m.value & mask;
    }
    const values = toWords(value, field.bitwidth);
    const masks = toWords(mask, field.bitwidth);
    for (let w = 0; w < values.length; w++) {
      data[base + 2 * (at + w)] = values[w];
      data[base + 2 * (at + w) + 1] = masks[w];
    }
  }
}

interface Partition<A> {
  readonly rules: readonly PriorityRule<A>[];
  readonly data: Uint32Array;
}

/**
 * A ternary/range table partitioned by the value of its first field, which must be EXACT (the
 * ACLs' agent_id): a lookup scans only the entries of one partition, best first.
 */
export class PartitionedPriorityIndex<A> {
  private generation = -1;
  private readonly handles = new HandleTracker();
  private readonly partitions = new Map<number, Partition<A>>();
  /** The entries the partitions were built from, by key, and by partition. */
  private readonly indexed = new Map<string, StoredEntry>();
  private readonly members = new Map<number, Map<string, StoredEntry>>();
  private defaultAction!: A;
  private readonly partitionFieldId: number;
  readonly layout: KeyLayout;

  constructor(
    private readonly table: TableState,
    private readonly compileAction: (actionId: number, params: ReadonlyMap<number, bigint>) => A,
  ) {
    const first = table.info.matchFields[0];
    if (first === undefined || first.matchType !== 'EXACT' || first.bitwidth > 32) {
      throw new PacketModelError(
        'UNSUPPORTED_TABLE_SHAPE',
        `table ${table.info.name} is not partitioned by a narrow exact first field`,
      );
    }
    this.partitionFieldId = first.id;
    this.layout = keyLayout(table.info.matchFields.slice(1));
  }

  /** A zeroed key vector for this table: masked words first, then one word per range field. */
  newKey(): Uint32Array {
    return new Uint32Array(this.layout.maskedWords + this.layout.ranges);
  }

  // Re-indexes only the partitions whose entries changed since the last refresh: a write to one
  // agent's rules costs two passes of map probes over the table, not a rebuild of every partition.
  private refresh(): void {
    if (this.generation === this.table.generation) return;
    const entries = this.table.entries;
    const added: StoredEntry[] = [];
    const removed: StoredEntry[] = [];
    for (const entry of entries.values()) {
      const old = this.indexed.get(entry.key);
      if (old === entry) continue;
      if (old !== undefined) removed.push(old);
      added.push(entry);
    }
    for (const [key, old] of this.indexed) if (!entries.has(key)) removed.push(old);
    this.handles.update(
      removed.map((e) => e.sequence),
      added.map((e) => e.sequence),
    );

    const dirty = new Set<number>();
    for (const old of removed) {
      const partition = this.partitionOf(old);
      this.members.get(partition)?.delete(old.key);
      this.indexed.delete(old.key);
      dirty.add(partition);
    }
    for (const entry of added) {
      const partition = this.partitionOf(entry);
      let members = this.members.get(partition);
      if (members === undefined) this.members.set(partition, (members = new Map()));
      members.set(entry.key, entry);
      this.indexed.set(entry.key, entry);
      dirty.add(partition);
    }
    for (const partition of dirty) this.rebuild(partition);

    const d = this.table.defaultEntryState;
    this.defaultAction = this.compileAction(d.actionId, d.params);
    this.generation = this.table.generation;
  }

  private rebuild(partition: number): void {
    const members = this.members.get(partition);
    if (members === undefined || members.size === 0) {
      this.members.delete(partition);
      this.partitions.delete(partition);
      return;
    }
    const rules: PriorityRule<A>[] = [];
    for (const entry of members.values()) {
      rules.push({
        entry,
        action: this.compileAction(entry.actionId, entry.params),
        priority: entry.priority,
        handle: this.handles.handle(entry.sequence),
      });
    }
    rules.sort((a, b) => b.priority - a.priority || a.handle - b.handle);
    const stride = this.layout.stride;
    const data = new Uint32Array(rules.length * stride);
    for (let r = 0; r < rules.length; r++) encodeRule(this.layout, rules[r].entry, data, r * stride);
    this.partitions.set(partition, { rules, data });
  }

  // P4Runtime requires exact fields to be present (§9.1.1); NaN keeps a malformed entry out of
  // every partition a packet can name.
  private partitionOf(entry: StoredEntry): number {
    const m = entry.matches.get(this.partitionFieldId);
    return m === undefined ? NaN : Number(m.value);
  }

  /** The winning rule for the packet, or undefined on a miss. `key`: see newKey(). */
  lookup(partition: number, key: Uint32Array): PriorityRule<A> | undefined {
    this.refresh();
    const p = this.partitions.get(partition);
    if (p === undefined) return undefined;
    const { maskedWords, ranges, stride } = this.layout;
    const data = p.data;
    const count = p.rules.length;
    const rangeAt = 2 * maskedWords;
    scan: for (let r = 0, base = 0; r < count; r++, base += stride) {
      for (let w = 0; w < maskedWords; w++) {
        if ((key[w] & data[base + 2 * w + 1]) >>> 0 !== data[base + 2 * w]) continue scan;
      }
      for (let j = 0; j < ranges; j++) {
        const v = key[maskedWords + j];
        const at = base + rangeAt + 2 * j;
        if (v < data[at] || v > data[at + 1]) continue scan;
      }
      return p.rules[r];
    }
    return undefined;
  }

  get missAction(): A {
    this.refresh();
    return this.defaultAction;
  }
}

export interface Hit<A> {
  readonly entry: StoredEntry;
  readonly action: A;
}

/** A key field's value as a map key: the number when the field fits a double exactly, else text. */
export type KeyPart = number | string;

export function keyPart(value: bigint, bitwidth: number): KeyPart {
  return bitwidth <= 53 ? Number(value) : exactKeyPart(value, bitwidth);
}

/**
 * An all-exact table of one or two fields: one hash probe per field, on numbers where the fields
 * are narrow, so the hot path builds no key strings.
 */
export class ExactIndex<A> {
  private generation = -1;
  private root = new Map<KeyPart, Hit<A> | Map<KeyPart, Hit<A>>>();
  private defaultAction!: A;

  constructor(
    private readonly table: TableState,
    private readonly compileAction: (actionId: number, params: ReadonlyMap<number, bigint>) => A,
  ) {
    const n = table.info.matchFields.length;
    if (n < 1 || n > 2 || table.info.matchFields.some((f) => f.matchType !== 'EXACT')) {
      throw new PacketModelError(
        'UNSUPPORTED_TABLE_SHAPE',
        `table ${table.info.name} is not an exact table of one or two fields`,
      );
    }
  }

  private refresh(): void {
    if (this.generation === this.table.generation) return;
    const fields = this.table.info.matchFields;
    const root = new Map<KeyPart, Hit<A> | Map<KeyPart, Hit<A>>>();
    for (const entry of this.table.entries.values()) {
      const parts: KeyPart[] = [];
      for (const f of fields) {
        const m = entry.matches.get(f.id);
        if (m === undefined || m.kind !== 'EXACT') break;
        parts.push(keyPart(m.value, f.bitwidth));
      }
      if (parts.length !== fields.length) continue;
      const hit: Hit<A> = { entry, action: this.compileAction(entry.actionId, entry.params) };
      if (parts.length === 1) root.set(parts[0], hit);
      else {
        let inner = root.get(parts[0]) as Map<KeyPart, Hit<A>> | undefined;
        if (inner === undefined) root.set(parts[0], (inner = new Map()));
        inner.set(parts[1], hit);
      }
    }
    this.root = root;
    const d = this.table.defaultEntryState;
    this.defaultAction = this.compileAction(d.actionId, d.params);
    this.generation = this.table.generation;
  }

  /** Lookup in a one-field table. */
  lookup1(a: KeyPart): Hit<A> | undefined {
    this.refresh();
    return this.root.get(a) as Hit<A> | undefined;
  }

  /** Lookup in a two-field table. */
  lookup2(a: KeyPart, b: KeyPart): Hit<A> | undefined {
    this.refresh();
    return (this.root.get(a) as Map<KeyPart, Hit<A>> | undefined)?.get(b);
  }

  get missAction(): A {
    this.refresh();
    return this.defaultAction;
  }
}

/** A single-field LPM table: one hash probe per distinct prefix length, longest first. */
export class LpmIndex<A> {
  private generation = -1;
  private byLength: { length: number; mask: number[]; map: Map<string, Hit<A>> }[] = [];
  private defaultAction!: A;
  private readonly bitwidth: number;

  constructor(
    private readonly table: TableState,
    private readonly compileAction: (actionId: number, params: ReadonlyMap<number, bigint>) => A,
  ) {
    const fields = table.info.matchFields;
    if (fields.length !== 1 || fields[0].matchType !== 'LPM') {
      throw new PacketModelError(
        'UNSUPPORTED_TABLE_SHAPE',
        `table ${table.info.name} is not a single-field LPM table`,
      );
    }
    this.bitwidth = fields[0].bitwidth;
  }

  private refresh(): void {
    if (this.generation === this.table.generation) return;
    const field = this.table.info.matchFields[0];
    const groups = new Map<number, Map<string, Hit<A>>>();
    for (const entry of this.table.entries.values()) {
      const m = entry.matches.get(field.id);
      const length = m === undefined ? 0 : m.kind === 'LPM' ? m.prefixLen : this.bitwidth;
      const value = m === undefined ? 0n : m.value;
      let group = groups.get(length);
      if (group === undefined) groups.set(length, (group = new Map()));
      group.set(this.maskedKey(toWords(value, this.bitwidth), this.maskFor(length)), {
        entry,
        action: this.compileAction(entry.actionId, entry.params),
      });
    }
    this.byLength = [...groups.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([length, map]) => ({ length, mask: this.maskFor(length), map }));
    const d = this.table.defaultEntryState;
    this.defaultAction = this.compileAction(d.actionId, d.params);
    this.generation = this.table.generation;
  }

  private maskFor(length: number): number[] {
    if (length === 0) return toWords(0n, this.bitwidth);
    return toWords(((1n << BigInt(length)) - 1n) << BigInt(this.bitwidth - length), this.bitwidth);
  }

  private maskedKey(words: ArrayLike<number>, mask: readonly number[]): string {
    let key = '';
    for (let i = 0; i < mask.length; i++) key += ((words[i] & mask[i]) >>> 0) + '.';
    return key;
  }

  lookup(words: ArrayLike<number>): Hit<A> | undefined {
    this.refresh();
    for (const group of this.byLength) {
      const hit = group.map.get(this.maskedKey(words, group.mask));
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  get missAction(): A {
    this.refresh();
    return this.defaultAction;
  }
}
