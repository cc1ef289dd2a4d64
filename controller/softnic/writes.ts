// Validation and application of Write updates (P4Runtime §12) against one PipelineState.
//
// Error codes follow what bmv2's P4Runtime server (PI) answers for the same update where the spec
// leaves room, and the spec where PI departs from it:
//
//   unknown table/action/field/param/counter/meter/register id  INVALID_ARGUMENT  (PI: "Invalid P4 id")
//   unknown digest id                                           NOT_FOUND         (PI digest manager)
//   DEFAULT_ONLY action in an entry, TABLE_ONLY as default      PERMISSION_DENIED (PI)
//   changing a const default action                             PERMISSION_DENIED (§9.1.3)
//   full table                                                  RESOURCE_EXHAUSTED (§12; PI: UNKNOWN)
//   CounterEntry / register INSERT or DELETE                    INVALID_ARGUMENT  (§9.3.2; PI: resets)
//   CounterEntry / MeterEntry / RegisterEntry without index     every cell (§9.3.2, §9.7; PI:
//                                                               UNIMPLEMENTED, and no registers at all)
//
// The per-table facts every update needs (field lookup, action scopes, which fields must be present)
// are computed once per pipeline, so the per-update work is decoding values and one map operation.
// Ordinary table-entry updates take the fast lane of fast-write.ts first; this is the general path.

import { status as S } from '@grpc/grpc-js';
import type { ActionInfo, ActionParamInfo, MatchFieldInfo, TableInfo } from '../p4runtime/p4info';
import { requiresPriority } from '../p4runtime/p4info';
import {
  decodeFieldMatch,
  decodeUnsigned,
  P4ValueError,
  type NormalizedFieldMatch,
} from '../p4runtime/values';
import { invalid, SoftnicError, unsupported } from './errors';
import {
  entryKey,
  PipelineState,
  SoftnicStateError,
  type CounterCell,
  type DigestConfig,
  type EntryFields,
  type MeterCell,
  type MeterRates,
  type TableState,
} from './state';
import { FastTableWriter } from './fast-write';
import {
  decodeUpdate,
  i64,
  updateKind,
  type UpdateKind,
  type WireCounterData,
  type WireDigestEntry,
  type WireIndex,
  type WireMeterConfig,
  type WireTableEntry,
  type WireUpdate,
} from './wire';

interface ActionSchema {
  readonly info: ActionInfo;
  readonly scope: string;
  readonly params: ReadonlyMap<number, ActionParamInfo>;
  readonly paramLabels: ReadonlyMap<number, string>;
}

interface TableSchema {
  readonly table: TableState;
  readonly info: TableInfo;
  readonly fields: ReadonlyMap<number, MatchFieldInfo>;
  /** EXACT fields have no don't-care form and must be present (P4Runtime §9.1.1). */
  readonly requiredFieldIds: readonly number[];
  readonly needsPriority: boolean;
  readonly actions: ReadonlyMap<number, ActionSchema>;
  readonly indirect: boolean;
}

/** Notified when a DigestEntry changes, so that buffered digests follow the new configuration. */
export type DigestConfigListener = (digestId: number, config: DigestConfig | undefined) => void;

const EMPTY = Buffer.alloc(0);
/** bmv2 keeps meter bursts in 32 bits; PI refuses larger ones as UNIMPLEMENTED. */
const MAX_BURST = 0xffffffffn;

export class WriteProcessor {
  private readonly schemas = new Map<number, TableSchema>();
  private readonly fast: FastTableWriter;

  constructor(
    readonly state: PipelineState,
    private readonly onDigestConfig: DigestConfigListener = () => undefined,
  ) {
    const p4info = state.p4info;
    for (const table of state.allTables()) {
      const info = table.info;
      const actions = new Map<number, ActionSchema>();
      for (const ref of info.actionRefs) {
        const a = p4info.action(ref.id);
        actions.set(a.id, {
          info: a,
          scope: ref.scope,
          params: a.paramsById,
          paramLabels: new Map(a.params.map((p) => [p.id, `param '${p.name}' of action '${a.name}'`])),
        });
      }
      this.schemas.set(info.id, {
        table,
        info,
        fields: info.matchFieldsById,
        requiredFieldIds: info.matchFields.filter((f) => f.matchType === 'EXACT').map((f) => f.id),
        needsPriority: requiresPriority(info),
        actions,
        indirect: info.implementationId !== 0,
      });
    }
    this.fast = new FastTableWriter(this.schemas.values());
  }

  /**
   * Applies the Update serialised in bytes[start, end): through the fast lane when it is an
   * ordinary table-entry update, otherwise decoded and through apply(). Never throws.
   */
  applyEncoded(bytes: Buffer, start: number, end: number): SoftnicError | undefined {
    if (this.fast.tryApply(bytes, start, end)) return undefined;
    let update: WireUpdate;
    try {
      update = decodeUpdate(bytes, start, end);
    } catch (err) {
      return invalid('BAD_DATA', `update is not a valid p4.v1.Update: ${(err as Error).message}`);
    }
    return this.apply(update);
  }

  /**
   * Applies one update; returns undefined on success or the error for this update. Never throws, so
   * a batch continues past failures (CONTINUE_ON_ERROR, P4Runtime §12.2).
   */
  apply(update: WireUpdate): SoftnicError | undefined {
    try {
      this.applyOrThrow(update);
      return undefined;
    } catch (err) {
      if (err instanceof SoftnicError) return err;
      if (err instanceof P4ValueError) return invalid('BAD_DATA', err.message);
      return new SoftnicError(S.INTERNAL, 'UNSUPPORTED', `internal error: ${(err as Error).message}`);
    }
  }

  private applyOrThrow(update: WireUpdate): void {
    const kind = updateKind(update.type);
    if (kind === undefined || kind === 'UNSPECIFIED') {
      throw invalid(
        'BAD_UPDATE_TYPE',
        `update type ${String(update.type ?? 'UNSPECIFIED')} is not INSERT, MODIFY or DELETE`,
      );
    }
    const entity = update.entity;
    switch (entity?.entity) {
      case 'table_entry':
        return this.writeTableEntry(kind, entity.table_entry!);
      case 'counter_entry':
        return this.writeCounter(
          kind,
          entity.counter_entry!.counter_id ?? 0,
          entity.counter_entry!.index,
          entity.counter_entry!.data,
        );
      case 'direct_counter_entry':
        return this.writeDirectCounter(
          kind,
          entity.direct_counter_entry!.table_entry,
          entity.direct_counter_entry!.data,
        );
      case 'meter_entry':
        return this.writeMeter(
          kind,
          entity.meter_entry!.meter_id ?? 0,
          entity.meter_entry!.index,
          entity.meter_entry!.config,
        );
      case 'direct_meter_entry':
        return this.writeDirectMeter(
          kind,
          entity.direct_meter_entry!.table_entry,
          entity.direct_meter_entry!.config,
        );
      case 'register_entry':
        // bmv2's P4Runtime server (PI) answers every RegisterEntry write with UNIMPLEMENTED; the
        // reference model does the same, so nothing that works here can fail on bmv2.
        throw unsupported('RegisterEntry writes are not supported by this target, as by bmv2');
      case 'digest_entry':
        return this.writeDigest(kind, entity.digest_entry!);
      case undefined:
        throw invalid('MISSING_ENTITY', 'update has no entity');
      default:
        throw unsupported(`${String(entity?.entity)} updates are not supported by this target`);
    }
  }

  // ------------------------------------------------------------ table entries (§9.1)

  private schema(tableId: number): TableSchema {
    const s = this.schemas.get(tableId);
    if (s === undefined) throw invalid('UNKNOWN_ID', `unknown table id ${tableId}`);
    return s;
  }

  private writeTableEntry(kind: UpdateKind, te: WireTableEntry): void {
    const s = this.schema(te.table_id ?? 0);
    if (te.time_since_last_hit) {
      throw invalid('BAD_DATA', 'time_since_last_hit must not be set in a WriteRequest (P4Runtime §9.1.8)');
    }
    if (te.is_default_action) return this.writeDefaultEntry(kind, s, te);
    const matches = this.decodeMatches(s, te);
    const priority = this.checkPriority(s, te.priority ?? 0);
    if (kind === 'DELETE') {
      if (s.table.delete(entryKey(s.info, matches, priority)) === undefined) {
        throw new SoftnicError(
          S.NOT_FOUND,
          'NOT_FOUND',
          `table '${s.info.name}' has no such entry to delete`,
        );
      }
      return;
    }
    if (!te.action)
      throw invalid('BAD_ACTION', `'action' must be set to ${kind} an entry of table '${s.info.name}'`);
    const { actionId, params } = this.decodeAction(s, te, false);
    const counter = this.directCounterData(s, te.counter_data);
    const meter = this.directMeterConfig(s, te.meter_config);
    checkMeterCounterData(te);
    this.checkIdleTimeout(s, te);
    const metadata = te.metadata !== undefined && te.metadata.length > 0 ? Buffer.from(te.metadata) : EMPTY;
    const fields: EntryFields = { matches, priority, actionId, params, metadata };
    try {
      if (kind === 'INSERT') s.table.insert(fields, counter, meter);
      else s.table.modify(fields, counter, meter);
    } catch (err) {
      if (!(err instanceof SoftnicStateError)) throw err;
      if (err.code === 'DUPLICATE_KEY') {
        throw new SoftnicError(S.ALREADY_EXISTS, 'ALREADY_EXISTS', `${err.message}; use MODIFY to change it`);
      }
      if (err.code === 'TABLE_FULL') throw new SoftnicError(S.RESOURCE_EXHAUSTED, 'TABLE_FULL', err.message);
      throw new SoftnicError(S.NOT_FOUND, 'NOT_FOUND', `${err.message} to modify`);
    }
  }

  /** The default entry: MODIFY only; unset action resets it to the program's default (P4Runtime §9.1.3). */
  private writeDefaultEntry(kind: UpdateKind, s: TableSchema, te: WireTableEntry): void {
    if (kind !== 'MODIFY') {
      throw invalid(
        'BAD_DEFAULT_ENTRY',
        `the default entry of table '${s.info.name}' can only be modified, not ${kind}ed`,
      );
    }
    if ((te.match?.length ?? 0) > 0)
      throw invalid('BAD_DEFAULT_ENTRY', 'the default entry must have no match fields');
    if ((te.priority ?? 0) !== 0)
      throw invalid('BAD_DEFAULT_ENTRY', 'the default entry must have priority 0');
    if (s.indirect) {
      throw invalid(
        'BAD_DEFAULT_ENTRY',
        `table '${s.info.name}' is indirect; its default entry cannot be changed`,
      );
    }
    if (s.info.constDefaultActionId !== 0) {
      throw new SoftnicError(
        S.PERMISSION_DENIED,
        'CONST_DEFAULT',
        `table '${s.info.name}' has a const default action, which cannot be changed`,
      );
    }
    const counter = this.directCounterData(s, te.counter_data);
    const meter = this.directMeterConfig(s, te.meter_config);
    checkMeterCounterData(te);
    if (!te.action) {
      s.table.setDefault();
      return;
    }
    const { actionId, params } = this.decodeAction(s, te, true);
    const metadata = te.metadata !== undefined && te.metadata.length > 0 ? Buffer.from(te.metadata) : EMPTY;
    s.table.setDefault(actionId, params, metadata, counter, meter);
  }

  private decodeMatches(s: TableSchema, te: WireTableEntry): Map<number, NormalizedFieldMatch> {
    const matches = new Map<number, NormalizedFieldMatch>();
    const list = te.match ?? [];
    for (let i = 0; i < list.length; i++) {
      const fm = list[i];
      const field = s.fields.get(fm.field_id ?? 0);
      if (field === undefined) {
        throw invalid('UNKNOWN_ID', `table '${s.info.name}' has no match field id ${fm.field_id ?? 0}`);
      }
      if (matches.has(field.id)) throw invalid('BAD_MATCH', `match field '${field.name}' appears twice`);
      try {
        matches.set(field.id, decodeFieldMatch(fm as Parameters<typeof decodeFieldMatch>[0], field));
      } catch (err) {
        if (err instanceof P4ValueError) throw invalid('BAD_MATCH', err.message);
        throw err;
      }
    }
    for (const id of s.requiredFieldIds) {
      if (!matches.has(id)) {
        throw invalid(
          'BAD_MATCH',
          `exact match field '${s.fields.get(id)!.name}' of table '${s.info.name}' is missing`,
        );
      }
    }
    return matches;
  }

  private checkPriority(s: TableSchema, priority: number): number {
    if (s.needsPriority && priority <= 0) {
      throw invalid(
        'BAD_PRIORITY',
        `table '${s.info.name}' has ternary/range/optional fields: priority must be > 0`,
      );
    }
    if (!s.needsPriority && priority !== 0) {
      throw invalid('BAD_PRIORITY', `table '${s.info.name}' has only exact/LPM fields: priority must be 0`);
    }
    return priority;
  }

  /** Validates the action against the table (P4Runtime §9.1.2) and decodes its parameters. */
  private decodeAction(
    s: TableSchema,
    te: WireTableEntry,
    asDefault: boolean,
  ): { actionId: number; params: Map<number, bigint> } {
    const ta = te.action!;
    const which = ta.type ?? (ta.action ? 'action' : undefined);
    if (which !== 'action') {
      if (s.indirect && which !== undefined) {
        throw unsupported(`action profiles are not supported by this target (table '${s.info.name}')`);
      }
      throw invalid(
        'BAD_ACTION',
        `table '${s.info.name}' is a direct table: give an action, not ${which ?? 'nothing'}`,
      );
    }
    if (s.indirect) throw invalid('BAD_ACTION', `table '${s.info.name}' is indirect: give a member or group`);
    const action = ta.action!;
    const actionId = action.action_id ?? 0;
    const a = s.actions.get(actionId);
    if (a === undefined) {
      if (!this.state.p4info.actions.has(actionId))
        throw invalid('UNKNOWN_ID', `unknown action id ${actionId}`);
      throw invalid('BAD_ACTION', `action id ${actionId} is not an action of table '${s.info.name}'`);
    }
    if (a.scope === 'DEFAULT_ONLY' && !asDefault) {
      throw new SoftnicError(
        S.PERMISSION_DENIED,
        'ACTION_SCOPE',
        `action '${a.info.name}' may only be the default action`,
      );
    }
    if (a.scope === 'TABLE_ONLY' && asDefault) {
      throw new SoftnicError(
        S.PERMISSION_DENIED,
        'ACTION_SCOPE',
        `action '${a.info.name}' may not be the default action`,
      );
    }
    const list = action.params ?? [];
    if (list.length !== a.params.size) {
      throw invalid(
        'BAD_PARAM',
        `action '${a.info.name}' takes ${a.params.size} parameters, got ${list.length}`,
      );
    }
    const params = new Map<number, bigint>();
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      const id = p.param_id ?? 0;
      const info = a.params.get(id);
      if (info === undefined)
        throw invalid('UNKNOWN_ID', `action '${a.info.name}' has no parameter id ${id}`);
      if (params.has(id)) throw invalid('BAD_PARAM', `parameter '${info.name}' appears twice`);
      try {
        params.set(
          id,
          decodeUnsigned(p.value ?? EMPTY, info.bitwidth, a.paramLabels.get(id), 'INVALID_ARGUMENT'),
        );
      } catch (err) {
        if (err instanceof P4ValueError) throw invalid('BAD_PARAM', err.message);
        throw err;
      }
    }
    return { actionId, params };
  }

  private directCounterData(
    s: TableSchema,
    data: WireCounterData | null | undefined,
  ): CounterCell | undefined {
    if (!data) return undefined;
    if (!s.table.hasDirectCounter) {
      throw invalid(
        'BAD_DIRECT_RESOURCE',
        `table '${s.info.name}' has no direct counter: counter_data must be unset`,
      );
    }
    return counterCell(data);
  }

  private directMeterConfig(
    s: TableSchema,
    config: WireMeterConfig | null | undefined,
  ): MeterRates | undefined {
    if (!config) return undefined;
    if (!s.table.hasDirectMeter) {
      throw invalid(
        'BAD_DIRECT_RESOURCE',
        `table '${s.info.name}' has no direct meter: meter_config must be unset`,
      );
    }
    return meterRates(config);
  }

  private checkIdleTimeout(s: TableSchema, te: WireTableEntry): void {
    const ns = i64(te.idle_timeout_ns);
    if (ns < 0n) throw invalid('BAD_DATA', 'idle_timeout_ns must not be negative');
    if (ns > 0n && s.info.idleTimeoutBehavior !== 'NOTIFY_CONTROL') {
      throw invalid(
        'BAD_DATA',
        `table '${s.info.name}' does not support idle timeout: idle_timeout_ns must be 0`,
      );
    }
    if (ns > 0n) throw unsupported('idle timeout is not supported by this target');
  }

  /** The stored (or default) entry a TableEntry key designates, for direct resources (§9.3.1, §9.4.1). */
  private directTarget(
    te: WireTableEntry | null | undefined,
    what: string,
  ): { s: TableSchema; cell: { counter: CounterCell; meter?: MeterCell } } {
    if (!te) throw invalid('MISSING_ENTITY', `${what} needs its table_entry`);
    const s = this.schema(te.table_id ?? 0);
    if (te.is_default_action) return { s, cell: s.table.defaultEntryState };
    const matches = this.decodeMatches(s, te);
    const priority = this.checkPriority(s, te.priority ?? 0);
    const entry = s.table.get(entryKey(s.info, matches, priority));
    if (entry === undefined)
      throw new SoftnicError(S.NOT_FOUND, 'NOT_FOUND', `table '${s.info.name}' has no such entry`);
    return { s, cell: entry };
  }

  /**
   * The table and canonical key a TableEntry's match and priority designate, validated as for a
   * write (used by reads that filter on a match, P4Runtime §9.1.6).
   */
  keyOf(te: WireTableEntry): { table: TableState; key: string } {
    const s = this.schema(te.table_id ?? 0);
    const matches = this.decodeMatches(s, te);
    return { table: s.table, key: entryKey(s.info, matches, this.checkPriority(s, te.priority ?? 0)) };
  }

  /** The table schema for a table id; INVALID_ARGUMENT when the pipeline has no such table. */
  tableState(tableId: number): TableState {
    return this.schema(tableId).table;
  }

  // ------------------------------------------------------------ counters (§9.3)

  private writeCounter(
    kind: UpdateKind,
    counterId: number,
    index: WireIndex | null | undefined,
    data: WireCounterData | null | undefined,
  ): void {
    const p4info = this.state.p4info;
    if (!p4info.counters.has(counterId)) {
      if (p4info.directCounters.has(counterId))
        throw invalid('UNKNOWN_ID', `counter id ${counterId} is a direct counter: use DirectCounterEntry`);
      throw invalid('UNKNOWN_ID', `unknown counter id ${counterId}`);
    }
    modifyOnly(kind, 'CounterEntry');
    const cells = this.state.counter(counterId);
    // Unset data leaves the value unchanged (§9.3.2).
    if (!data) return;
    const value = counterCell(data);
    for (const i of indexes(index, cells.length, 'counter')) {
      cells[i].packets = value.packets;
      cells[i].bytes = value.bytes;
    }
  }

  private writeDirectCounter(
    kind: UpdateKind,
    te: WireTableEntry | null | undefined,
    data: WireCounterData | null | undefined,
  ): void {
    const { s, cell } = this.directTarget(te, 'DirectCounterEntry');
    if (!s.table.hasDirectCounter)
      throw invalid('BAD_DIRECT_RESOURCE', `table '${s.info.name}' has no direct counter`);
    modifyOnly(kind, 'DirectCounterEntry');
    if (!data) return;
    const value = counterCell(data);
    cell.counter.packets = value.packets;
    cell.counter.bytes = value.bytes;
  }

  // ------------------------------------------------------------ meters (§9.4)

  private writeMeter(
    kind: UpdateKind,
    meterId: number,
    index: WireIndex | null | undefined,
    config: WireMeterConfig | null | undefined,
  ): void {
    const p4info = this.state.p4info;
    if (!p4info.meters.has(meterId)) {
      if (p4info.directMeters.has(meterId))
        throw invalid('UNKNOWN_ID', `meter id ${meterId} is a direct meter: use DirectMeterEntry`);
      throw invalid('UNKNOWN_ID', `unknown meter id ${meterId}`);
    }
    modifyOnly(kind, 'MeterEntry');
    const cells = this.state.meter(meterId);
    // Unset config returns the meter to its default, all-GREEN behaviour (§9.4).
    const rates = config ? meterRates(config) : undefined;
    for (const i of indexes(index, cells.length, 'meter')) {
      cells[i].config = rates;
      cells[i].model = undefined;
    }
  }

  private writeDirectMeter(
    kind: UpdateKind,
    te: WireTableEntry | null | undefined,
    config: WireMeterConfig | null | undefined,
  ): void {
    const { s, cell } = this.directTarget(te, 'DirectMeterEntry');
    if (!s.table.hasDirectMeter || cell.meter === undefined) {
      throw invalid('BAD_DIRECT_RESOURCE', `table '${s.info.name}' has no direct meter`);
    }
    modifyOnly(kind, 'DirectMeterEntry');
    cell.meter.config = config ? meterRates(config) : undefined;
    cell.meter.model = undefined;
  }

  // ------------------------------------------------------------ digests (§9.8)

  private writeDigest(kind: UpdateKind, de: WireDigestEntry): void {
    const id = de.digest_id ?? 0;
    if (!this.state.p4info.digests.has(id)) {
      throw new SoftnicError(S.NOT_FOUND, 'UNKNOWN_ID', `${id} is not a digest id of this pipeline`);
    }
    const configs = this.state.digestConfig;
    const existing = configs.get(id);
    if (kind === 'INSERT' && existing)
      throw new SoftnicError(S.ALREADY_EXISTS, 'ALREADY_EXISTS', `digest ${id} is already configured`);
    if (kind !== 'INSERT' && !existing)
      throw new SoftnicError(S.NOT_FOUND, 'NOT_FOUND', `digest ${id} is not configured`);
    if (kind === 'DELETE') {
      configs.delete(id);
      this.onDigestConfig(id, undefined);
      return;
    }
    const c = de.config;
    const config: DigestConfig = {
      maxTimeoutNs: i64(c?.max_timeout_ns),
      maxListSize: c?.max_list_size ?? 0,
      ackTimeoutNs: i64(c?.ack_timeout_ns),
    };
    if (config.maxTimeoutNs < 0n || config.ackTimeoutNs < 0n || config.maxListSize < 0) {
      throw invalid('BAD_DATA', 'digest timeouts and list size must not be negative');
    }
    configs.set(id, config);
    this.onDigestConfig(id, config);
  }
}

// ---------------------------------------------------------------- helpers

function modifyOnly(kind: UpdateKind, what: string): void {
  if (kind !== 'MODIFY') throw invalid('BAD_UPDATE_TYPE', `${what} supports MODIFY only, not ${kind}`);
}

function counterCell(data: WireCounterData): CounterCell {
  const packets = i64(data.packet_count);
  const bytes = i64(data.byte_count);
  if (packets < 0n || bytes < 0n) throw invalid('BAD_DATA', 'counter values must not be negative');
  return { packets, bytes };
}

function meterRates(c: WireMeterConfig): MeterRates {
  const rates: MeterRates = {
    cir: i64(c.cir),
    cburst: i64(c.cburst),
    pir: i64(c.pir),
    pburst: i64(c.pburst),
    eburst: i64(c.eburst),
  };
  if (rates.cir < 0n || rates.cburst < 0n || rates.pir < 0n || rates.pburst < 0n || rates.eburst < 0n) {
    throw invalid('BAD_METER_CONFIG', 'meter rates and bursts must not be negative');
  }
  if (rates.cburst > MAX_BURST || rates.pburst > MAX_BURST) {
    throw new SoftnicError(
      S.UNIMPLEMENTED,
      'BAD_METER_CONFIG',
      'meter bursts above 2^32-1 are not supported',
    );
  }
  return rates;
}

// meter_counter_data may only carry zeros on writes (P4Runtime §9.1.7); no per-colour counts are kept.
function checkMeterCounterData(te: WireTableEntry): void {
  const m = te.meter_counter_data;
  if (!m) return;
  for (const c of [m.green, m.yellow, m.red]) {
    if (c && (i64(c.packet_count) !== 0n || i64(c.byte_count) !== 0n)) {
      throw invalid('BAD_DATA', 'meter_counter_data may only hold zeros in a write');
    }
  }
}

/** Cells an Index designates: all when unset; INVALID_ARGUMENT if negative, OUT_OF_RANGE past the end. */
export function indexes(index: WireIndex | null | undefined, size: number, what: string): Iterable<number> {
  if (!index) return range(size);
  const i = i64(index.index);
  if (i < 0n) throw invalid('BAD_INDEX', `${what} index ${i} is negative`);
  if (i >= BigInt(size)) {
    throw new SoftnicError(
      S.OUT_OF_RANGE,
      'INDEX_OUT_OF_RANGE',
      `${what} index ${i} is past the end (size ${size})`,
    );
  }
  return [Number(i)];
}

function* range(n: number): Iterable<number> {
  for (let i = 0; i < n; i++) yield i;
}
