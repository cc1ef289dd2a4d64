// The Read path (P4Runtime §13): requests for what nicguard reads back (table entries with their
// direct counters, indexed counters, registers, meters) and the decoding of the streamed
// responses into the contract's terms.

import * as grpc from '@grpc/grpc-js';
import type { EntrySpec, RegisterCellSpec } from '../pipeline/entries';
import {
  fromCounterData,
  type CounterCell,
  type CounterValue,
  type EntityCodec,
  type MeterReading,
} from './entities';
import { RpcError } from './errors';
import { decodeErrorDetails } from './write';
import type { Entity, P4RuntimeClient, ReadRequest, ReadResponse } from './proto';

/** A table entry as read back, with its direct counter when asked for and the table has one. */
export interface TableEntryReading {
  readonly entry: EntrySpec;
  readonly counter?: CounterValue;
}

/** Runs one Read and collects every entity of the response stream. */
export function readAll(stub: P4RuntimeClient, request: ReadRequest, timeoutMs: number): Promise<Entity[]> {
  return new Promise((resolve, reject) => {
    const entities: Entity[] = [];
    const call = stub.Read(request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs });
    call.on('data', (response: ReadResponse) => {
      for (const e of response.entities ?? []) entities.push(e);
    });
    call.on('error', (err: grpc.ServiceError) => {
      // §13: per-entity failures come as one p4.v1.Error per requested entity; say which.
      const details = decodeErrorDetails(err)
        ?.map((e, i) => (e.canonical_code ? `entity #${i}: ${e.message ?? ''}` : ''))
        .filter((s) => s !== '');
      const extra = details && details.length > 0 ? ` (${details.join('; ')})` : '';
      reject(new RpcError('Read', err.code ?? grpc.status.UNKNOWN, `${err.details ?? err.message}${extra}`));
    });
    call.on('end', () => resolve(entities));
  });
}

// ---------------------------------------------------------------- request builders

/** Wildcard over one table's entries (§9.1.4), or over every table when `table` is undefined. */
export function tableEntriesQuery(
  codec: EntityCodec,
  table: string | undefined,
  withCounters: boolean,
): Entity {
  const entry: NonNullable<Entity['table_entry']> = {};
  if (table !== undefined) entry.table_id = codec.tableInfo(table).id;
  // An empty counter_data in the request asks for each entry's direct counter (§9.1.7).
  if (withCounters) entry.counter_data = {};
  return { table_entry: entry };
}

/** Every direct counter cell of a table (DirectCounterEntry wildcard over the table's entries). */
export function directCountersQuery(codec: EntityCodec, table: string): Entity {
  return { direct_counter_entry: { table_entry: { table_id: codec.tableInfo(table).id } } };
}

function indexOf(index: number | undefined) {
  return index === undefined ? undefined : { index: String(index) };
}

/** One counter cell, or the whole array without an index (§9.4). */
export function countersQuery(codec: EntityCodec, counter: string, index?: number): Entity {
  if (index !== undefined) return { counter_entry: codec.toCounterEntry(counter, index) };
  return { counter_entry: { counter_id: codec.counterInfo(counter).id } };
}

export function registersQuery(codec: EntityCodec, register: string, index?: number): Entity {
  const info = codec.registerInfo(register);
  const entry: NonNullable<Entity['register_entry']> = { register_id: info.id };
  const idx = indexOf(index);
  if (idx) entry.index = idx;
  return { register_entry: entry };
}

export function metersQuery(codec: EntityCodec, meter: string, index?: number): Entity {
  if (index !== undefined) return { meter_entry: codec.toMeterReset(meter, index) };
  return { meter_entry: { meter_id: codec.meterInfo(meter).id } };
}

// ---------------------------------------------------------------- decoding

export function decodeTableEntries(codec: EntityCodec, entities: readonly Entity[]): TableEntryReading[] {
  const out: TableEntryReading[] = [];
  for (const e of entities) {
    const te = e.table_entry;
    if (!te || te.is_default_action) continue;
    const entry = codec.fromTableEntry(te);
    out.push(te.counter_data ? { entry, counter: fromCounterData(te.counter_data) } : { entry });
  }
  return out;
}

export function decodeDirectCounters(codec: EntityCodec, entities: readonly Entity[]): TableEntryReading[] {
  const out: TableEntryReading[] = [];
  for (const e of entities) {
    const d = e.direct_counter_entry;
    if (!d?.table_entry) continue;
    out.push({ entry: codec.fromTableEntry(d.table_entry), counter: fromCounterData(d.data) });
  }
  return out;
}

export function decodeCounters(codec: EntityCodec, entities: readonly Entity[]): CounterCell[] {
  return entities.filter((e) => e.counter_entry).map((e) => codec.fromCounterEntry(e.counter_entry!));
}

export function decodeRegisters(codec: EntityCodec, entities: readonly Entity[]): RegisterCellSpec[] {
  return entities.filter((e) => e.register_entry).map((e) => codec.fromRegisterEntry(e.register_entry!));
}

export function decodeMeters(codec: EntityCodec, entities: readonly Entity[]): MeterReading[] {
  return entities.filter((e) => e.meter_entry).map((e) => codec.fromMeterEntry(e.meter_entry!));
}
