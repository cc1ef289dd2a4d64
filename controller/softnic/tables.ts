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
  private used: boolean[] = [];
  private firstFree = 0;

  /** Updates the allocation to the entries now stored; returns handle by sequence. */
  sync(entries: Iterable<StoredEntry>): ReadonlyMap<number, number> {
    const present = new Set<number>();
    const fresh: number[] = [];
    for (const e of entries) {
      present.add(e.sequence);
      if (!this.handleOf.has(e.sequence)) fresh.push(e.sequence);
    }
    for (const [sequence, handle] of this.handleOf) {
      if (!present.has(sequence)) {
        this.handleOf.delete(sequence);
        this.used[handle] = false;
        if (handle < this.firstFree) this.firstFree = handle;
      }
    }
    fresh.sort((a, b) => a - b);
    for (const sequence of fresh) {
      const handle = this.firstFree;
      this.used[handle] = true;
      this.handleOf.set(sequence, handle);
      let next = handle + 1;
      while (next < this.used.length && this.used[next]) next++;
      this.firstFree = next;
    }
    return this.handleOf;
  }
}

/** An entry's match, compiled to numbers for the ternary/range scan. */
interface FieldTest {
  /** Index into the packet's key vector. */
  readonly slot: number;
  readonly kind: 'words' | 'range';
  /** For 'words': value & mask and mask, as big-endian 32-bit words. */
  readonly value: readonly number[];
  readonly mask: readonly number[];
  readonly low: number;
  readonly high: number;
}

export interface PriorityRule<A> {
  readonly entry: StoredEntry;
  readonly action: A;
  readonly priority: number;
  readonly handle: number;
  readonly tests: readonly FieldTest[];
}

/**
 * A key as the packet presents it: one slot per non-partition match field in P4Info order, each
 * a vector of 32-bit words (a range field reads the single word).
 */
export type PacketKey = readonly (Uint32Array | readonly number[])[];

function fullMask(bitwidth: number): number[] {
  const words = toWords((1n << BigInt(bitwidth)) - 1n, bitwidth);
  return words;
}

function compileTest(slot: number, field: MatchFieldInfo, m: NormalizedFieldMatch): FieldTest | null {
  switch (m.kind) {
    case 'RANGE':
      return { slot, kind: 'range', value: [], mask: [], low: Number(m.value), high: Number(m.high) };
    case 'TERNARY': {
      const mask = toWords(m.mask, field.bitwidth);
      const value = toWords(m.value & m.mask, field.bitwidth);
      if (mask.every((w) => w === 0)) return null;
      return { slot, kind: 'words', value, mask, low: 0, high: 0 };
    }
    case 'LPM': {
      if (m.prefixLen === 0) return null;
      const maskBig = ((1n << BigInt(m.prefixLen)) - 1n) << BigInt(field.bitwidth - m.prefixLen);
      return {
        slot,
        kind: 'words',
        value: toWords(m.value & maskBig, field.bitwidth),
        mask: toWords(maskBig, field.bitwidth),
        low: 0,
        high: 0,
      };
    }
    case 'EXACT':
    case 'OPTIONAL':
      return {
        slot,
        kind: 'words',
        value: toWords(m.value, field.bitwidth),
        mask: fullMask(field.bitwidth),
        low: 0,
        high: 0,
      };
  }
}

function ruleMatches(tests: readonly FieldTest[], key: PacketKey): boolean {
  for (let t = 0; t < tests.length; t++) {
    const test = tests[t];
    const words = key[test.slot];
    if (test.kind === 'range') {
      const v = words[words.length - 1];
      if (v < test.low || v > test.high) return false;
    } else {
      const { value, mask } = test;
      for (let i = 0; i < value.length; i++) {
        if ((words[i] & mask[i]) >>> 0 !== value[i]) return false;
      }
    }
  }
  return true;
}

/**
 * A ternary/range table partitioned by the value of its first field, which must be EXACT (the
 * ACLs' agent_id): a lookup scans only the entries of one partition, best first.
 */
export class PartitionedPriorityIndex<A> {
  private generation = -1;
  private readonly handles = new HandleTracker();
  private partitions = new Map<number, PriorityRule<A>[]>();
  private defaultAction!: A;

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
  }

  private refresh(): void {
    if (this.generation === this.table.generation) return;
    const fields = this.table.info.matchFields;
    const handleOf = this.handles.sync(this.table.entries.values());
    const partitions = new Map<number, PriorityRule<A>[]>();
    for (const entry of this.table.entries.values()) {
      const partition = entry.matches.get(fields[0].id);
      // P4Runtime requires exact fields to be present (§9.1.1); an entry without one cannot exist.
      if (partition === undefined) continue;
      const tests: FieldTest[] = [];
      for (let i = 1; i < fields.length; i++) {
        const m = entry.matches.get(fields[i].id);
        if (m === undefined) continue;
        const test = compileTest(i - 1, fields[i], m);
        if (test !== null) tests.push(test);
      }
      const rule: PriorityRule<A> = {
        entry,
        action: this.compileAction(entry.actionId, entry.params),
        priority: entry.priority,
        handle: handleOf.get(entry.sequence) ?? 0,
        tests,
      };
      const key = Number(partition.value);
      let list = partitions.get(key);
      if (list === undefined) partitions.set(key, (list = []));
      list.push(rule);
    }
    for (const list of partitions.values())
      list.sort((a, b) => b.priority - a.priority || a.handle - b.handle);
    this.partitions = partitions;
    const d = this.table.defaultEntryState;
    this.defaultAction = this.compileAction(d.actionId, d.params);
    this.generation = this.table.generation;
  }

  /** The winning rule for the packet, or undefined on a miss. `key` omits the partition field. */
  lookup(partition: number, key: PacketKey): PriorityRule<A> | undefined {
    this.refresh();
    const list = this.partitions.get(partition);
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) if (ruleMatches(list[i].tests, key)) return list[i];
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

/** An all-exact table: one hash probe per lookup. */
export class ExactIndex<A> {
  private generation = -1;
  private map = new Map<string, Hit<A>>();
  private defaultAction!: A;

  constructor(
    private readonly table: TableState,
    private readonly compileAction: (actionId: number, params: ReadonlyMap<number, bigint>) => A,
  ) {}

  private refresh(): void {
    if (this.generation === this.table.generation) return;
    const fields = this.table.info.matchFields;
    const map = new Map<string, Hit<A>>();
    for (const entry of this.table.entries.values()) {
      const parts: string[] = [];
      for (const f of fields) {
        const m = entry.matches.get(f.id);
        if (m === undefined || (m.kind !== 'EXACT' && m.kind !== 'OPTIONAL')) break;
        parts.push(exactKeyPart(m.value, f.bitwidth));
      }
      if (parts.length !== fields.length) continue;
      map.set(parts.join(':'), { entry, action: this.compileAction(entry.actionId, entry.params) });
    }
    this.map = map;
    const d = this.table.defaultEntryState;
    this.defaultAction = this.compileAction(d.actionId, d.params);
    this.generation = this.table.generation;
  }

  /** `key`: the fields' exactKeyPart texts joined by ':'. */
  lookup(key: string): Hit<A> | undefined {
    this.refresh();
    return this.map.get(key);
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
