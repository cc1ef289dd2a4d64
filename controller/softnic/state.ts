// The softnic's forwarding state: everything a P4Runtime client can write or read, held in the form
// the packet model consumes. One PipelineState exists per installed forwarding pipeline
// (P4Runtime §14: committing a new pipeline starts from empty state).
//
// Two parties share it, with separate rights:
//
//   the P4Runtime server   creates it, validates every write against the P4Info and applies it
//                          through the TableState mutators and the digestConfig map; it is the only
//                          writer of entries, default actions and configurations.
//   the packet model       reads tables (entries, default action), and mutates only data-plane
//                          state: CounterCell fields, MeterCell.model, register cells; it reports
//                          data-plane outputs through emitDigest() and emitPacketIn().
//
// Numbers are bigint throughout (counts, register cells, meter rates, action parameters, match
// values), so no 64-bit value ever loses precision.
//
// Caching contract for the model: TableState.generation changes whenever the table's entries or its
// default action change (insert, modify, delete, clear, default change). An index built from a table
// is valid as long as the generation it was built at is current. Counter/meter/register changes do
// not bump it: they never change which entry a lookup picks.

import type { P4InfoIndex, TableInfo, ActionInfo } from '../p4runtime/p4info';
import type { Action, ActionParam, FieldMatch, P4Info, TableEntry } from '../p4runtime/proto';
import { encodeFieldMatch, encodeUnsigned, type NormalizedFieldMatch } from '../p4runtime/values';
import { decodeKey, decodeParams, encodeKey, encodeParams } from './keys';

/** A packets-and-bytes counter cell. Mutable: the model increments it, writes replace it. */
export interface CounterCell {
  packets: bigint;
  bytes: bigint;
}

/** P4Runtime MeterConfig (§9.4): rates in units per second, bursts in units (bytes or packets). */
export interface MeterRates {
  cir: bigint;
  cburst: bigint;
  pir: bigint;
  pburst: bigint;
  /** Excess burst, used by single-rate three-colour meters (p4runtime.proto MeterConfig.eburst). */
  eburst: bigint;
}

/**
 * A meter cell. `config` undefined is the default configuration, in which the meter marks every
 * packet GREEN (P4Runtime §9.1.7). Whenever the server writes `config` it also resets `model` to
 * undefined, so the model re-initialises its buckets from the new rates.
 */
export interface MeterCell {
  config?: MeterRates;
  /** The model's bucket state; opaque to the server. */
  model?: unknown;
}

/** The fields that make up a table entry, as the server validated them. */
export interface EntryFields {
  /** By match field id; a field absent here is a don't-care (P4Runtime §9.1.1). */
  readonly matches: ReadonlyMap<number, NormalizedFieldMatch>;
  /** 0 for tables whose fields are all EXACT/LPM (P4Runtime §9.1). */
  readonly priority: number;
  readonly actionId: number;
  /** By param id; every parameter of the action is present. */
  readonly params: ReadonlyMap<number, bigint>;
  /** TableEntry.metadata, opaque controller bytes stored and read back (P4Runtime §9.1). */
  readonly metadata: Buffer;
}

/** A table entry as stored. Identity is `key`; everything else may change on MODIFY. */
export interface StoredEntry extends EntryFields {
  /** Canonical identity: the normalized match and the priority (P4Runtime §9.1). Opaque text. */
  readonly key: string;
  readonly tableId: number;
  /**
   * Insertion order within the table, kept across MODIFY. Among matching entries of equal priority
   * the model breaks ties with it the way bmv2 does.
   */
  readonly sequence: number;
  /** Direct counter cell; present (and counted into) whether or not the table has a direct counter. */
  counter: CounterCell;
  /** Direct meter cell, present only when the table has a direct meter. */
  meter?: MeterCell;
  /**
   * The entry in wire form, with canonical bytestrings (P4Runtime §8.3), without direct-resource
   * fields: what a Read returns before counter_data / meter_config are added on request.
   */
  readonly proto: TableEntry;
}

/** The table's default entry (P4Runtime §9.1.3): always set, never inserted or deleted. */
export interface DefaultEntry {
  readonly actionId: number;
  readonly params: ReadonlyMap<number, bigint>;
  readonly metadata: Buffer;
  /** The default entry is "treated like a regular entry" for direct resources (P4Runtime §9.1.3). */
  counter: CounterCell;
  meter?: MeterCell;
}

/** Per-digest delivery parameters from DigestEntry (P4Runtime §9.8). */
export interface DigestConfig {
  readonly maxTimeoutNs: bigint;
  readonly maxListSize: number;
  readonly ackTimeoutNs: bigint;
}

/**
 * Where data-plane outputs go. The server installs one; without one, outputs are dropped (the spec
 * allows digest loss, P4Runtime §9.8, and a PacketIn with no primary client has nowhere to go).
 */
export interface PipelineOutputs {
  /** `members`: the digest's struct members in P4Info order (or one value for a bit<W> digest). */
  digest(digestId: number, members: readonly bigint[]): void;
  packetIn(payload: Buffer, metadata: ReadonlyMap<number, bigint>): void;
}

export type SoftnicStateErrorCode =
  'UNKNOWN_OBJECT' | 'DUPLICATE_KEY' | 'MISSING_KEY' | 'TABLE_FULL' | 'BAD_OUTPUT';

export class SoftnicStateError extends Error {
  override readonly name = 'SoftnicStateError';
  constructor(
    readonly code: SoftnicStateErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const EMPTY_BYTES = Buffer.alloc(0);
const NO_PARAMS: ReadonlyMap<number, bigint> = new Map();

export function newCounterCell(): CounterCell {
  return { packets: 0n, bytes: 0n };
}

// ---------------------------------------------------------------- keys

/**
 * Canonical identity of an entry: its normalized match (don't-care fields absent) and its priority.
 * Equal keys exactly when P4Runtime §9.1 says two entries are the same entry. Opaque; see keys.ts.
 */
export function entryKey(
  info: TableInfo,
  matches: ReadonlyMap<number, NormalizedFieldMatch>,
  priority: number,
): string {
  return encodeKey(info, matches, priority);
}

// ---------------------------------------------------------------- entries

function encodeAction(action: ActionInfo, params: ReadonlyMap<number, bigint>): Action {
  const out: ActionParam[] = [];
  for (const p of action.params) {
    const value = params.get(p.id);
    if (value !== undefined) out.push({ param_id: p.id, value: encodeUnsigned(value, p.bitwidth) });
  }
  return out.length > 0 ? { action_id: action.id, params: out } : { action_id: action.id };
}

// Entries are held compactly (three strings and a few numbers, see keys.ts) and decoded into their
// readable forms on first use, which keeps a table of 100k entries cheap for the garbage collector.
/** How the store keeps an entry; StoredEntry is its public face. The Read path encodes from these fields. */
export class CompactEntry implements StoredEntry {
  private cachedMatches: ReadonlyMap<number, NormalizedFieldMatch> | undefined;
  private cachedParams: ReadonlyMap<number, bigint> | undefined;
  private cachedMetadata: Buffer | undefined;
  private cell: CounterCell | undefined;
  meter?: MeterCell;

  constructor(
    private readonly table: TableState,
    readonly key: string,
    readonly sequence: number,
    readonly priority: number,
    readonly actionId: number,
    /** Action parameters in the keys.ts layout. */
    readonly paramBlob: string,
    /** TableEntry.metadata as latin1. */
    readonly metadataBlob: string,
    counter: CounterCell | undefined,
  ) {
    this.cell = counter;
  }

  get tableId(): number {
    return this.table.info.id;
  }

  get matches(): ReadonlyMap<number, NormalizedFieldMatch> {
    return (this.cachedMatches ??= decodeKey(this.table.info, this.key));
  }

  get params(): ReadonlyMap<number, bigint> {
    return (this.cachedParams ??= decodeParams(this.table.p4info.action(this.actionId), this.paramBlob));
  }

  get metadata(): Buffer {
    return (this.cachedMetadata ??=
      this.metadataBlob.length === 0 ? EMPTY_BYTES : Buffer.from(this.metadataBlob, 'latin1'));
  }

  get counter(): CounterCell {
    return (this.cell ??= newCounterCell());
  }

  set counter(cell: CounterCell) {
    this.cell = cell;
  }

  /** The counter cell if one was ever handed out or written, without creating one. */
  get counterIfAny(): CounterCell | undefined {
    return this.cell;
  }

  // Built on demand, not kept: a kept object graph per entry would tax every garbage collection.
  get proto(): TableEntry {
    const info = this.table.info;
    const match: FieldMatch[] = [];
    const matches = this.matches;
    for (const f of info.matchFields) {
      const m = matches.get(f.id);
      const fm = m === undefined ? null : encodeFieldMatch(f, m);
      if (fm !== null) match.push(fm);
    }
    const entry: TableEntry = {
      table_id: info.id,
      action: { action: encodeAction(this.table.p4info.action(this.actionId), this.params) },
    };
    if (match.length > 0) entry.match = match;
    if (this.priority !== 0) entry.priority = this.priority;
    if (this.metadataBlob.length > 0) entry.metadata = this.metadata;
    return entry;
  }
}

// ---------------------------------------------------------------- tables

export class TableState {
  /** By entry key. Read freely; change only through the mutators below. */
  readonly entries = new Map<string, StoredEntry>();
  /** Bumps on every change to entries or the default entry (see the caching contract at the top). */
  generation = 0;
  /** Max entries; 0 in P4Info means the target picks, and bmv2 picks 1024 (its default table size). */
  readonly capacity: number;
  readonly directCounterId: number;
  readonly directMeterId: number;
  private nextSequence = 0;
  private defaultEntry: DefaultEntry;
  private readonly initialDefault: { actionId: number; params: ReadonlyMap<number, bigint> };

  constructor(
    readonly info: TableInfo,
    readonly p4info: P4InfoIndex,
  ) {
    this.capacity = info.size > 0 ? info.size : 1024;
    this.directCounterId = info.directResourceIds.find((id) => p4info.directCounters.has(id)) ?? 0;
    this.directMeterId = info.directResourceIds.find((id) => p4info.directMeters.has(id)) ?? 0;
    this.initialDefault = initialDefaultAction(info, p4info);
    this.defaultEntry = this.freshDefault(
      this.initialDefault.actionId,
      this.initialDefault.params,
      EMPTY_BYTES,
    );
  }

  /** The default entry: what a miss executes (P4Runtime §9.1.3). */
  get defaultEntryState(): DefaultEntry {
    return this.defaultEntry;
  }

  /** 0 when the P4Info declares no default action and none can be inferred (a miss is then a no-op). */
  get defaultActionId(): number {
    return this.defaultEntry.actionId;
  }

  get defaultParams(): ReadonlyMap<number, bigint> {
    return this.defaultEntry.params;
  }

  get hasDirectCounter(): boolean {
    return this.directCounterId !== 0;
  }

  get hasDirectMeter(): boolean {
    return this.directMeterId !== 0;
  }

  get(key: string): StoredEntry | undefined {
    return this.entries.get(key);
  }

  /** Adds a new entry; the caller has validated `fields` against the P4Info. */
  insert(fields: EntryFields, counter?: CounterCell, meterConfig?: MeterRates): StoredEntry {
    const key = entryKey(this.info, fields.matches, fields.priority);
    const params = encodeParams(this.p4info.action(fields.actionId), fields.params);
    return this.insertEncoded(
      key,
      fields.priority,
      fields.actionId,
      params,
      fields.metadata.toString('latin1'),
      counter,
      meterConfig,
    );
  }

  /**
   * Replaces the entry with the same key, keeping its sequence (an entry's position does not change
   * on MODIFY). `counter` undefined keeps the old cell's values; `meterConfig` undefined resets the
   * meter to its default (P4Runtime §9.1.7).
   */
  modify(fields: EntryFields, counter?: CounterCell, meterConfig?: MeterRates): StoredEntry {
    const key = entryKey(this.info, fields.matches, fields.priority);
    const params = encodeParams(this.p4info.action(fields.actionId), fields.params);
    return this.modifyEncoded(
      key,
      fields.priority,
      fields.actionId,
      params,
      fields.metadata.toString('latin1'),
      counter,
      meterConfig,
    );
  }

  /** insert() for an entry already in compact form (keys.ts): `key`, parameter blob, metadata as latin1. */
  insertEncoded(
    key: string,
    priority: number,
    actionId: number,
    paramBlob: string,
    metadata: string,
    counter?: CounterCell,
    meterConfig?: MeterRates,
  ): StoredEntry {
    if (this.entries.has(key))
      throw new SoftnicStateError('DUPLICATE_KEY', `table '${this.info.name}' already has this entry`);
    if (this.entries.size >= this.capacity) {
      throw new SoftnicStateError(
        'TABLE_FULL',
        `table '${this.info.name}' is full (${this.capacity} entries)`,
      );
    }
    const entry = new CompactEntry(
      this,
      key,
      this.nextSequence++,
      priority,
      actionId,
      paramBlob,
      metadata,
      counter,
    );
    if (this.directMeterId !== 0) entry.meter = { config: meterConfig };
    this.entries.set(key, entry);
    this.generation++;
    return entry;
  }

  /** modify() for an entry already in compact form. */
  modifyEncoded(
    key: string,
    priority: number,
    actionId: number,
    paramBlob: string,
    metadata: string,
    counter?: CounterCell,
    meterConfig?: MeterRates,
  ): StoredEntry {
    const old = this.entries.get(key) as CompactEntry | undefined;
    if (old === undefined)
      throw new SoftnicStateError('MISSING_KEY', `table '${this.info.name}' has no such entry`);
    const entry = new CompactEntry(
      this,
      key,
      old.sequence,
      priority,
      actionId,
      paramBlob,
      metadata,
      counter ?? old.counterIfAny,
    );
    if (this.directMeterId !== 0) entry.meter = { config: meterConfig };
    this.entries.set(key, entry);
    this.generation++;
    return entry;
  }

  /** Removes the entry with this key; returns it, or undefined when there is none. */
  delete(key: string): StoredEntry | undefined {
    const old = this.entries.get(key);
    if (old === undefined) return undefined;
    this.entries.delete(key);
    this.generation++;
    return old;
  }

  /**
   * Sets the default entry, or with `actionId` undefined resets it to the program's initial default,
   * metadata and direct resources included (P4Runtime §9.1.3).
   */
  setDefault(
    actionId?: number,
    params?: ReadonlyMap<number, bigint>,
    metadata?: Buffer,
    counter?: CounterCell,
    meterConfig?: MeterRates,
  ): DefaultEntry {
    if (actionId === undefined) {
      this.defaultEntry = this.freshDefault(
        this.initialDefault.actionId,
        this.initialDefault.params,
        EMPTY_BYTES,
      );
    } else {
      const next = this.freshDefault(actionId, params ?? NO_PARAMS, metadata ?? EMPTY_BYTES);
      next.counter = counter ?? this.defaultEntry.counter;
      if (next.meter) next.meter.config = meterConfig;
      this.defaultEntry = next;
    }
    this.generation++;
    return this.defaultEntry;
  }

  /** The default entry in wire form (is_default_action set), without direct-resource fields. */
  defaultProto(): TableEntry {
    const d = this.defaultEntry;
    const entry: TableEntry = { table_id: this.info.id, is_default_action: true };
    if (d.actionId !== 0) entry.action = { action: encodeAction(this.p4info.action(d.actionId), d.params) };
    if (d.metadata.length > 0) entry.metadata = d.metadata;
    return entry;
  }

  private freshDefault(
    actionId: number,
    params: ReadonlyMap<number, bigint>,
    metadata: Buffer,
  ): DefaultEntry {
    const d: DefaultEntry = { actionId, params, metadata, counter: newCounterCell() };
    if (this.directMeterId !== 0) d.meter = {};
    return d;
  }
}

// Where the P4Info states the program's default action: initial_default_action (newer p4c), else
// the const default, else NoAction when the table lists it (the P4 default for a table without one,
// P4Runtime §9.1.3), else none.
function initialDefaultAction(
  info: TableInfo,
  p4info: P4InfoIndex,
): { actionId: number; params: ReadonlyMap<number, bigint> } {
  const table = (p4info.message.tables ?? []).find((t) => t.preamble?.id === info.id);
  const initial = table?.initial_default_action;
  if (initial?.action_id && p4info.actions.has(initial.action_id)) {
    const action = p4info.action(initial.action_id);
    const params = new Map<number, bigint>();
    for (const arg of initial.arguments ?? []) {
      const p = action.paramsById.get(arg.param_id ?? 0);
      if (p && arg.value && arg.value.length > 0)
        params.set(p.id, BigInt('0x' + Buffer.from(arg.value).toString('hex')));
    }
    return { actionId: action.id, params };
  }
  if (info.constDefaultActionId !== 0) return { actionId: info.constDefaultActionId, params: NO_PARAMS };
  const noAction = p4info.actions.find('NoAction');
  if (noAction && info.actionRefsById.has(noAction.id)) return { actionId: noAction.id, params: NO_PARAMS };
  return { actionId: 0, params: NO_PARAMS };
}

// ---------------------------------------------------------------- pipeline

export interface PipelineStateOptions {
  readonly p4info: P4InfoIndex;
  /** ForwardingPipelineConfig.cookie.cookie, uint64 as a decimal string; "0" when none was given. */
  readonly cookie?: string;
  readonly deviceConfig?: Buffer;
}

export class PipelineState {
  readonly p4info: P4InfoIndex;
  readonly cookie: string;
  readonly deviceConfig: Buffer;
  /** Enabled digests and their delivery parameters by digest id; absent = not delivered (P4Runtime §9.8). */
  readonly digestConfig = new Map<number, DigestConfig>();
  private readonly tables = new Map<number, TableState>();
  private readonly counters = new Map<number, CounterCell[]>();
  private readonly meters = new Map<number, MeterCell[]>();
  private readonly registers = new Map<number, bigint[]>();
  private outputs: PipelineOutputs | undefined;

  constructor(options: PipelineStateOptions) {
    this.p4info = options.p4info;
    this.cookie = options.cookie ?? '0';
    this.deviceConfig = options.deviceConfig ?? EMPTY_BYTES;
    const p = this.p4info;
    for (const t of p.tables.all) this.tables.set(t.id, new TableState(t, p));
    for (const c of p.counters.all) this.counters.set(c.id, Array.from({ length: c.size }, newCounterCell));
    for (const m of p.meters.all)
      this.meters.set(
        m.id,
        Array.from({ length: m.size }, (): MeterCell => ({})),
      );
    for (const r of p.registers.all) this.registers.set(r.id, new Array<bigint>(r.size).fill(0n));
  }

  /** The P4Info message this pipeline was committed with. */
  get p4infoMessage(): P4Info {
    return this.p4info.message;
  }

  /** All tables, in P4Info order. */
  allTables(): IterableIterator<TableState> {
    return this.tables.values();
  }

  /** A table by id or (full or short) name; throws SoftnicStateError UNKNOWN_OBJECT. */
  table(ref: number | string): TableState {
    return this.lookup(this.tables, ref, this.p4info.tables, 'table');
  }

  /** Cells of an indexed counter, index = cell; length = P4Info size. */
  counter(ref: number | string): CounterCell[] {
    return this.lookup(this.counters, ref, this.p4info.counters, 'counter');
  }

  /** Cells of an indexed meter. */
  meter(ref: number | string): MeterCell[] {
    return this.lookup(this.meters, ref, this.p4info.meters, 'meter');
  }

  /** Cells of a register, as unsigned values of its bit<W> type. The model may assign cells directly. */
  register(ref: number | string): bigint[] {
    return this.lookup(this.registers, ref, this.p4info.registers, 'register');
  }

  /** Installs (or with undefined removes) the receiver of data-plane outputs. Used by the server. */
  setOutputs(outputs: PipelineOutputs | undefined): void {
    this.outputs = outputs;
  }

  /**
   * A data-plane digest message (P4 `digest<T>(...)`), `members` in the struct's P4Info order. The
   * receiver buffers, de-duplicates and delivers it per digestConfig (P4Runtime §9.8); digests that
   * are not enabled are dropped there.
   */
  emitDigest(digestId: number, members: readonly bigint[]): void {
    this.outputs?.digest(digestId, members);
  }

  /** A frame sent to the CPU port, with its packet_in header fields by metadata id (P4Runtime §16.1). */
  emitPacketIn(payload: Buffer, metadata: ReadonlyMap<number, bigint>): void {
    this.outputs?.packetIn(payload, metadata);
  }

  private lookup<V>(
    map: Map<number, V>,
    ref: number | string,
    set: { find(ref: number | string): { id: number } | undefined },
    kind: string,
  ): V {
    const id = typeof ref === 'number' ? ref : set.find(ref)?.id;
    const found = id === undefined ? undefined : map.get(id);
    if (found === undefined)
      throw new SoftnicStateError('UNKNOWN_OBJECT', `the pipeline has no ${kind} ${JSON.stringify(ref)}`);
    return found;
  }
}
