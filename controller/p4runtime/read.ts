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
import {
  encodeMessage,
  messageType,
  type Entity,
  type P4RuntimeClient,
  type ReadRequest,
  type ReadResponse,
} from './proto';

/** A table entry as read back, with its direct counter when asked for and the table has one. */
export interface TableEntryReading {
  readonly entry: EntrySpec;
  readonly counter?: CounterValue;
}

const READ_PATH = '/p4.v1.P4Runtime/Read';

/**
 * Responses are decoded into protobufjs message instances and used as they are, skipping the
 * conversion to plain objects that the generated stub would do for every field of every entity:
 * for bulk reads that conversion costs more than the decoding itself. Instances read like the
 * proto.ts objects, except that 64-bit fields may be Long values (toBigInt64 takes both) and unset
 * message fields are null rather than undefined (the decoders use ?. and ??).
 */
function decodeReadResponse(bytes: Buffer): ReadResponse {
  return messageType('p4.v1.ReadResponse').decode(bytes) as unknown as ReadResponse;
}

function encodeReadRequest(request: ReadRequest): Buffer {
  return encodeMessage('p4.v1.ReadRequest', request);
}

/**
 * Runs one Read and turns each entity into a result as its response arrives, so that a bulk read
 * holds decoded results only, never the whole response set as messages as well.
 */
export function readEach<T>(
  stub: P4RuntimeClient,
  request: ReadRequest,
  timeoutMs: number,
  decode: (entity: Entity) => T | undefined,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const results: T[] = [];
    let failed = false;
    const call = stub.makeServerStreamRequest(
      READ_PATH,
      encodeReadRequest,
      decodeReadResponse,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
    );
    call.on('data', (response: ReadResponse) => {
      if (failed) return;
      try {
        for (const e of response.entities ?? []) {
          const result = decode(e);
          if (result !== undefined) results.push(result);
        }
      } catch (err) {
        failed = true;
        call.cancel();
        reject(err);
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (failed) return;
      // §13: per-entity failures come as one p4.v1.Error per requested entity; say which.
      const details = decodeErrorDetails(err)
        ?.map((e, i) => (e.canonical_code ? `entity #${i}: ${e.message ?? ''}` : ''))
        .filter((s) => s !== '');
      const extra = details && details.length > 0 ? ` (${details.join('; ')})` : '';
      reject(new RpcError('Read', err.code ?? grpc.status.UNKNOWN, `${err.details ?? err.message}${extra}`));
    });
    call.on('end', () => {
      if (!failed) resolve(results);
    });
  });
}

// ---------------------------------------------------------------- request builders

/** Wildcard over one table's entries (§9.1.6), or over every table when `table` is undefined. */
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

/** One counter cell, or the whole array without an index (§9.3.2). */
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

// ---------------------------------------------------------------- decoding, one entity at a time

/** A table entry read back, or undefined for entities that are not ordinary table entries. */
export function tableEntryReading(codec: EntityCodec, e: Entity): TableEntryReading | undefined {
  const te = e.table_entry;
  if (!te || te.is_default_action) return undefined;
  const entry = codec.fromTableEntry(te);
  return te.counter_data ? { entry, counter: fromCounterData(te.counter_data) } : { entry };
}

export function directCounterReading(codec: EntityCodec, e: Entity): TableEntryReading | undefined {
  const d = e.direct_counter_entry;
  if (!d?.table_entry) return undefined;
  return { entry: codec.fromTableEntry(d.table_entry), counter: fromCounterData(d.data) };
}

export function counterReading(codec: EntityCodec, e: Entity): CounterCell | undefined {
  return e.counter_entry ? codec.fromCounterEntry(e.counter_entry) : undefined;
}

export function registerReading(codec: EntityCodec, e: Entity): RegisterCellSpec | undefined {
  return e.register_entry ? codec.fromRegisterEntry(e.register_entry) : undefined;
}

export function meterReading(codec: EntityCodec, e: Entity): MeterReading | undefined {
  return e.meter_entry ? codec.fromMeterEntry(e.meter_entry) : undefined;
}
