// The softnic answering as NVIDIA's DOCA Pipeline Language runtime service (dpl_rt_service) does, so
// that the controller's bluefield-dpl profile can be exercised end to end without a BlueField-3.
//
// What the DPL service's P4Runtime server supports, per NVIDIA's DPL release notes (DOCA 2.10 to
// 3.2): one controller at a time; Write with CONTINUE_ON_ERROR only, batching allowed; entities
// TableEntry, CounterEntry, DirectCounterEntry, MeterEntry, DirectMeterEntry; INSERT and DELETE of
// regular entries only; MODIFY of the default entry, counters and meters only; no Capabilities
// RPC; on the stream PacketIn, PacketOut, IdleTimeoutNotification and StreamError, but not
// MasterArbitrationUpdate, DigestList/DigestListAck or Any.
//
// Assumptions where the notes do not say what the service answers (documented in docs/bluefield.md):
//   - A MasterArbitrationUpdate is answered with a StreamError (UNIMPLEMENTED) on a stream that
//     stays open: there is no arbitration, so no arbitration response (P4Runtime §5.3 does not
//     apply), and the stream remains the controller's channel for packet I/O.
//   - A second StreamChannel while one is open is ended with FAILED_PRECONDITION ("one controller").
//   - Writes and SetForwardingPipelineConfig carry no election id and are accepted from anyone who
//     can reach the port: without arbitration there is no primary to check (P4Runtime §5 assumes
//     arbitration; the service does without it).
//   - Unsupported updates and read entities are refused with UNIMPLEMENTED, per update in the
//     §12.3 error list, the code P4Runtime gives for what a target does not implement.
//
// The program the service would run (p4/nicguard_dpl.p4) has no registers: quota state lives in the
// controller. The softnic's packet model runs the bmv2 program's pipeline, whose allow_quota would
// charge the quota_used register; in this mode that register has no cells, which is what the DPL
// program amounts to (a quota rule forwards under its meter until the controller withdraws it).

import * as grpc from '@grpc/grpc-js';
import { decodeMessage, type Entity, type EntityKind, type Update } from '../p4runtime/proto';
import { REGISTERS } from '../pipeline/contract';
import { SoftnicError } from './errors';
import type { PipelineState } from './state';

export type SoftnicMode = 'bmv2' | 'bluefield-dpl';

export const SOFTNIC_MODES: readonly SoftnicMode[] = ['bmv2', 'bluefield-dpl'];

/** Entities the DPL service reads and writes (DPL release notes, "Supported entities"). */
const DPL_ENTITIES: ReadonlySet<EntityKind> = new Set<EntityKind>([
  'table_entry',
  'counter_entry',
  'direct_counter_entry',
  'meter_entry',
  'direct_meter_entry',
]);

function entityKind(entity: Entity | undefined): EntityKind | undefined {
  if (entity === undefined) return undefined;
  if (entity.entity !== undefined) return entity.entity;
  for (const key of Object.keys(entity) as (keyof Entity)[])
    if (key !== 'entity' && entity[key] !== undefined) return key as EntityKind;
  return undefined;
}

function unimplemented(message: string): SoftnicError {
  return new SoftnicError(grpc.status.UNIMPLEMENTED, 'UNSUPPORTED', message);
}

/** Why the DPL service would refuse an entity kind, or undefined when it supports it. */
export function dplEntityRefusal(entity: Entity | undefined): SoftnicError | undefined {
  const kind = entityKind(entity);
  // A missing entity is the ordinary write path's INVALID_ARGUMENT, not ours.
  if (kind === undefined || DPL_ENTITIES.has(kind)) return undefined;
  return unimplemented(`${kind} is not supported by the DPL runtime service`);
}

/**
 * The DPL service's verdict on one Write update, decoded from its byte range of the request, before
 * the ordinary write path sees it: undefined lets it through. MODIFY of a non-default table entry is
 * refused (P4Runtime §9.1 allows it; the service changes a rule only by DELETE and INSERT).
 */
export function dplUpdateRefusal(bytes: Buffer, start: number, end: number): SoftnicError | undefined {
  let update: Update;
  try {
    update = decodeMessage('p4.v1.Update', bytes.subarray(start, end));
  } catch {
    return undefined; // malformed: the ordinary path reports it as BAD_DATA
  }
  const refusal = dplEntityRefusal(update.entity);
  if (refusal) return refusal;
  const entry = update.entity?.table_entry;
  if (update.type === 'MODIFY' && entry !== undefined && entry.is_default_action !== true) {
    return unimplemented(
      'MODIFY of a table entry other than the default entry is not supported by the DPL runtime service: DELETE it and INSERT the new one',
    );
  }
  return undefined;
}

/** The DPL service's verdict on a Read request's entities: the first unsupported one refuses the Read. */
export function dplReadRefusal(entities: readonly object[]): SoftnicError | undefined {
  for (const entity of entities) {
    const refusal = dplEntityRefusal(entity as Entity);
    if (refusal) return refusal;
  }
  return undefined;
}

export function capabilitiesRefusal(): SoftnicError {
  return unimplemented('the Capabilities RPC is not supported by the DPL runtime service');
}

export function arbitrationRefusal(): SoftnicError {
  return unimplemented(
    'MasterArbitrationUpdate is not supported by the DPL runtime service: it serves one controller without arbitration',
  );
}

export function secondControllerRefusal(): SoftnicError {
  return new SoftnicError(
    grpc.status.FAILED_PRECONDITION,
    'TOO_MANY_CONNECTIONS',
    'another controller is connected: the DPL runtime service serves one controller at a time',
  );
}

/**
 * Takes the quota register away from a newly committed pipeline: the DPL program has none, so a
 * quota rule must not be cut in the data plane here either. The packet model holds the same cell
 * array; with no cells, every slot reads as unused and the rule's meter is its only bound.
 */
export function withoutQuotaRegister(state: PipelineState): void {
  if (!state.p4info.registers.has(REGISTERS.quotaUsed.name)) return;
  state.register(REGISTERS.quotaUsed.name).length = 0;
}
