// The Read RPC's work (P4Runtime §13): resolves each requested entity, wildcards included, against a
// PipelineState and produces encoded ReadResponse messages.
//
// The whole request is answered from one synchronous pass, which is this single-threaded server's
// form of "lock state while reading" (§13.3). Entities are encoded one by one and framed into
// ReadResponse messages of at most MAX_ENTITIES_PER_RESPONSE entities and about MAX_RESPONSE_BYTES
// bytes, so that no message nears gRPC's default 4 MB limit. Each requested entity that fails gets
// its error in the per-entity list (§13.3); the others are still answered.

import { status as S } from '@grpc/grpc-js';
import { encodeUnsigned } from '../p4runtime/values';
import type { CounterData, MeterConfig, TableEntry } from '../p4runtime/proto';
import { invalid, SoftnicError, unsupported } from './errors';
import type { CompactEntry, CounterCell, MeterRates, PipelineState, StoredEntry, TableState } from './state';
import { ProtoBuilder, writeCounterData, writeMeterConfig, writeTableEntry } from './entry-encoder';
import { encodeEntity, type WireEntity, type WireIndex, type WireTableEntry } from './wire';
import { indexes, type WriteProcessor } from './writes';

export const MAX_ENTITIES_PER_RESPONSE = 10_000;
export const MAX_RESPONSE_BYTES = 3 * 1024 * 1024;

export interface ReadResult {
  /** Serialised ReadResponse messages, in order. */
  readonly responses: Buffer[];
  /** One entry per requested entity: undefined when it was answered. */
  readonly errors: (SoftnicError | undefined)[];
  readonly entityCount: number;
}

/** Frames Entity messages into ReadResponse messages (ReadResponse.entities is field 1). */
class ResponseFramer {
  readonly responses: Buffer[] = [];
  readonly b = new ProtoBuilder();
  private inResponse = 0;
  count = 0;

  /** An Entity already serialised. */
  add(entity: Uint8Array): void {
    this.b.bytesField(1, entity);
    this.added();
  }

  /** A stored entry as Entity.table_entry, encoded from its compact form. */
  addEntry(table: TableState, e: StoredEntry, counter?: CounterCell, meter?: MeterRates): void {
    const outer = this.b.open(1);
    const entity = this.b.open(2);
    writeTableEntry(this.b, table, e as CompactEntry, counter, meter);
    this.b.close(entity);
    this.b.close(outer);
    this.added();
  }

  /** A stored entry's direct counter (Entity field 8) or direct meter (Entity field 6). */
  addDirect(table: TableState, e: StoredEntry, kind: 'counter' | 'meter'): void {
    const outer = this.b.open(1);
    const entity = this.b.open(kind === 'counter' ? 8 : 6);
    const te = this.b.open(1);
    writeTableEntry(this.b, table, e as CompactEntry);
    this.b.close(te);
    if (kind === 'counter') writeCounterData(this.b, 2, e.counter);
    else if (e.meter?.config) writeMeterConfig(this.b, 2, e.meter.config);
    this.b.close(entity);
    this.b.close(outer);
    this.added();
  }

  private added(): void {
    this.count++;
    if (++this.inResponse >= MAX_ENTITIES_PER_RESPONSE || this.b.pos >= MAX_RESPONSE_BYTES) this.flush();
  }

  flush(): void {
    if (this.inResponse === 0) return;
    this.responses.push(this.b.take());
    this.inResponse = 0;
  }
}

function counterData(c: CounterCell): CounterData {
  return { byte_count: c.bytes.toString(), packet_count: c.packets.toString() };
}

function meterConfig(r: MeterRates): MeterConfig {
  const m: MeterConfig = {
    cir: r.cir.toString(),
    cburst: r.cburst.toString(),
    pir: r.pir.toString(),
    pburst: r.pburst.toString(),
  };
  if (r.eburst !== 0n) m.eburst = r.eburst.toString();
  return m;
}

export class ReadProcessor {
  constructor(
    private readonly state: PipelineState,
    private readonly writes: WriteProcessor,
  ) {}

  read(entities: readonly WireEntity[]): ReadResult {
    const out = new ResponseFramer();
    const errors: (SoftnicError | undefined)[] = [];
    for (const entity of entities) {
      try {
        this.readOne(entity, out);
        errors.push(undefined);
      } catch (err) {
        if (err instanceof SoftnicError) errors.push(err);
        else
          errors.push(new SoftnicError(S.INTERNAL, 'BAD_READ', `internal error: ${(err as Error).message}`));
      }
    }
    out.flush();
    return { responses: out.responses, errors, entityCount: out.count };
  }

  private readOne(entity: WireEntity, out: ResponseFramer): void {
    switch (entity.entity) {
      case 'table_entry':
        return this.readTableEntries(entity.table_entry!, out);
      case 'counter_entry': {
        const ce = entity.counter_entry!;
        return this.readIndexed(ce.counter_id ?? 0, ce.index, 'counter', out);
      }
      case 'meter_entry': {
        const me = entity.meter_entry!;
        return this.readIndexed(me.meter_id ?? 0, me.index, 'meter', out);
      }
      case 'register_entry':
        // As bmv2's P4Runtime server (PI): registers are data-plane state, not readable over P4Runtime.
        throw unsupported('RegisterEntry reads are not supported by this target, as by bmv2');
      case 'direct_counter_entry':
        return this.readDirect(entity.direct_counter_entry!.table_entry, 'counter', out);
      case 'direct_meter_entry':
        return this.readDirect(entity.direct_meter_entry!.table_entry, 'meter', out);
      case 'digest_entry':
        return this.readDigests(entity.digest_entry!.digest_id ?? 0, out);
      case undefined:
        // §13.2: an empty Entity is not a wildcard over all entity kinds.
        throw invalid('BAD_READ', 'the entity of a read request must be set');
      default:
        throw unsupported(`reading ${entity.entity} is not supported by this target`);
    }
  }

  // ------------------------------------------------------------ tables (§9.1.6)

  private readTableEntries(te: WireTableEntry, out: ResponseFramer): void {
    const withCounter = !!te.counter_data;
    const withMeter = !!te.meter_config;
    const tableId = te.table_id ?? 0;
    if (tableId === 0) {
      for (const table of this.state.allTables()) {
        for (const e of table.entries.values()) addEntry(out, table, e, withCounter, withMeter);
      }
      return;
    }
    const table = this.writes.tableState(tableId);
    if (te.is_default_action) {
      const d = table.defaultEntryState;
      const proto = table.defaultProto();
      if (withCounter && table.hasDirectCounter) proto.counter_data = counterData(d.counter);
      if (withMeter && d.meter?.config) proto.meter_config = meterConfig(d.meter.config);
      out.add(encodeEntity({ table_entry: proto }));
      return;
    }
    const candidates: Iterable<StoredEntry> = this.select(table, te);
    const actionId = te.action?.action?.action_id ?? 0;
    const priority = te.priority ?? 0;
    const metadata = te.metadata;
    for (const e of candidates) {
      if (actionId !== 0 && e.actionId !== actionId) continue;
      if (priority !== 0 && e.priority !== priority) continue;
      if (metadata !== undefined && metadata.length > 0 && !metadata.equals(e.metadata)) continue;
      addEntry(out, table, e, withCounter, withMeter);
    }
  }

  /** All entries, or the one entry a given match designates (§9.1.6: "at most one entry"). */
  private select(table: TableState, te: WireTableEntry): Iterable<StoredEntry> {
    if ((te.match?.length ?? 0) === 0) return table.entries.values();
    const { key } = this.writes.keyOf(te);
    const e = table.get(key);
    return e === undefined ? [] : [e];
  }

  // ------------------------------------------------------------ direct resources (§9.3.1, §9.4.1)

  private readDirect(
    te: WireTableEntry | null | undefined,
    kind: 'counter' | 'meter',
    out: ResponseFramer,
  ): void {
    const tableId = te?.table_id ?? 0;
    const has = (t: TableState) => (kind === 'counter' ? t.hasDirectCounter : t.hasDirectMeter);
    // The default entry is rare and goes through the object encoder; stored entries are framed directly.
    const emitDefault = (
      proto: TableEntry,
      cell: { counter: CounterCell; meter?: { config?: MeterRates } },
    ) => {
      if (kind === 'counter') {
        out.add(
          encodeEntity({ direct_counter_entry: { table_entry: proto, data: counterData(cell.counter) } }),
        );
      } else {
        const config = cell.meter?.config;
        out.add(
          encodeEntity({
            direct_meter_entry: config
              ? { table_entry: proto, config: meterConfig(config) }
              : { table_entry: proto },
          }),
        );
      }
    };
    if (tableId === 0) {
      for (const table of this.state.allTables()) {
        if (!has(table)) continue;
        for (const e of table.entries.values()) out.addDirect(table, e, kind);
      }
      return;
    }
    const table = this.writes.tableState(tableId);
    if (!has(table)) throw invalid('BAD_DIRECT_RESOURCE', `table '${table.info.name}' has no direct ${kind}`);
    if (te?.is_default_action) {
      emitDefault(table.defaultProto(), table.defaultEntryState);
      return;
    }
    for (const e of this.select(table, te!)) out.addDirect(table, e, kind);
  }

  // ------------------------------------------------------------ indexed resources (§9.3.2, §9.4.2, §9.7)

  private readIndexed(
    id: number,
    index: WireIndex | null | undefined,
    kind: 'counter' | 'meter' | 'register',
    out: ResponseFramer,
  ): void {
    const p4info = this.state.p4info;
    const set = kind === 'counter' ? p4info.counters : kind === 'meter' ? p4info.meters : p4info.registers;
    if (id === 0) {
      for (const item of set.all) this.readIndexedOne(item.id, undefined, kind, out);
      return;
    }
    if (!set.has(id)) {
      const direct =
        kind === 'counter'
          ? p4info.directCounters.has(id)
          : kind === 'meter'
            ? p4info.directMeters.has(id)
            : false;
      throw invalid(
        'UNKNOWN_ID',
        direct
          ? `${kind} id ${id} is direct: use Direct${kind === 'counter' ? 'Counter' : 'Meter'}Entry`
          : `unknown ${kind} id ${id}`,
      );
    }
    this.readIndexedOne(id, index, kind, out);
  }

  private readIndexedOne(
    id: number,
    index: WireIndex | null | undefined,
    kind: 'counter' | 'meter' | 'register',
    out: ResponseFramer,
  ): void {
    if (kind === 'counter') {
      const cells = this.state.counter(id);
      for (const i of indexes(index, cells.length, kind)) {
        out.add(
          encodeEntity({
            counter_entry: { counter_id: id, index: { index: i }, data: counterData(cells[i]) },
          }),
        );
      }
    } else if (kind === 'meter') {
      const cells = this.state.meter(id);
      for (const i of indexes(index, cells.length, kind)) {
        const config = cells[i].config;
        const entry = config
          ? { meter_id: id, index: { index: i }, config: meterConfig(config) }
          : { meter_id: id, index: { index: i } };
        out.add(encodeEntity({ meter_entry: entry }));
      }
    } else {
      const info = this.state.p4info.registers.get(id);
      const cells = this.state.register(id);
      const width = info.type.kind === 'bit' ? info.type.bitwidth : 0;
      if (width === 0) throw unsupported(`register '${info.name}' is not of a bit<W> type`);
      for (const i of indexes(index, cells.length, kind)) {
        out.add(
          encodeEntity({
            register_entry: {
              register_id: id,
              index: { index: i },
              data: { bitstring: encodeUnsigned(cells[i], width) },
            },
          }),
        );
      }
    }
  }

  // ------------------------------------------------------------ digests (§9.8)

  private readDigests(digestId: number, out: ResponseFramer): void {
    const configs = this.state.digestConfig;
    const emit = (id: number) => {
      const c = configs.get(id)!;
      out.add(
        encodeEntity({
          digest_entry: {
            digest_id: id,
            config: {
              max_timeout_ns: c.maxTimeoutNs.toString(),
              max_list_size: c.maxListSize,
              ack_timeout_ns: c.ackTimeoutNs.toString(),
            },
          },
        }),
      );
    };
    if (digestId === 0) {
      for (const d of this.state.p4info.digests.all) if (configs.has(d.id)) emit(d.id);
      return;
    }
    if (!this.state.p4info.digests.has(digestId))
      throw new SoftnicError(S.NOT_FOUND, 'UNKNOWN_ID', `${digestId} is not a digest id of this pipeline`);
    if (!configs.has(digestId))
      throw new SoftnicError(S.NOT_FOUND, 'NOT_FOUND', `digest ${digestId} is not configured`);
    emit(digestId);
  }
}

// §9.1.7: counter_data only when asked for; meter_config only when asked for and not the default.
function addEntry(
  out: ResponseFramer,
  table: TableState,
  e: StoredEntry,
  withCounter: boolean,
  withMeter: boolean,
): void {
  const counter = withCounter && table.hasDirectCounter ? e.counter : undefined;
  const meter = withMeter ? e.meter?.config : undefined;
  out.addEntry(table, e, counter, meter);
}
