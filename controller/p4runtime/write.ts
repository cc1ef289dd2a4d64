// The Write path (P4Runtime §12): what the caller may ask for, how it becomes wire bytes, how it is
// cut into batches the transport can carry, and how per-update errors come back.
//
// Updates are encoded once, back to back, into one buffer, each already framed as field 4
// (`updates`) of a WriteRequest. Because protobuf concatenation merges messages, a batch is just
// a small header (device_id, role, election_id, atomicity) followed by a slice of that buffer: no
// object per update, no second encoding.

import type { ServiceError } from '@grpc/grpc-js';
import type { EntrySpec, MeterConfigSpec, RegisterCellSpec } from '../pipeline/entries';
import type { Atomicity, TargetProfile } from '../pipeline/profiles';
import type { CounterCell, EntityCodec } from './entities';
import { statusName, UnsupportedByProfileError, UpdateEncodingError, type WriteFailure } from './errors';
import { decodeMessage, encodeMessage, type Entity, type P4Error, type Uint128 } from './proto';
import { WireWriter } from './wire';

// ---------------------------------------------------------------- what callers write

export type EntryOp = { readonly type: 'INSERT' | 'MODIFY' | 'DELETE'; readonly entry: EntrySpec };
export type MeterOp = { readonly type: 'MODIFY'; readonly meter: MeterConfigSpec };
/** Returns a meter cell to its default, unconfigured behaviour (MODIFY without config, P4Runtime §9.4.2). */
export type MeterResetOp = {
  readonly type: 'MODIFY';
  readonly meterReset: { readonly meter: string; readonly index: number };
};
export type RegisterOp = { readonly type: 'MODIFY'; readonly register: RegisterCellSpec };
/** Sets (usually resets) an indexed counter cell (P4Runtime §9.3.2: CounterEntry takes MODIFY only). */
export type CounterOp = { readonly type: 'MODIFY'; readonly counter: CounterCell };
/** Any other entity, already in p4.v1 form (ids and bytestrings). */
export type EntityOp = { readonly type: 'INSERT' | 'MODIFY' | 'DELETE'; readonly entity: Entity };

export type WriteOp = EntryOp | MeterOp | MeterResetOp | RegisterOp | CounterOp | EntityOp;

/** Short human description of an op, for error messages. */
export function describeOp(op: WriteOp): string {
  if ('entry' in op) return `${op.type} table entry in '${op.entry.table}'`;
  if ('meter' in op) return `meter '${op.meter.meter}'[${op.meter.index}]`;
  if ('meterReset' in op) return `meter reset '${op.meterReset.meter}'[${op.meterReset.index}]`;
  if ('register' in op) return `register '${op.register.register}'[${op.register.index}]`;
  if ('counter' in op) return `counter '${op.counter.counter}'[${op.counter.index}]`;
  return `${op.type} ${op.entity.entity ?? entityKind(op.entity) ?? 'entity'}`;
}

function entityKind(entity: Entity): string | undefined {
  for (const key of Object.keys(entity))
    if (key !== 'entity' && (entity as Record<string, unknown>)[key]) return key;
  return undefined;
}

// ---------------------------------------------------------------- profile refusals

/** Refuses, before anything is sent, an atomicity mode the profile does not list (P4Runtime §12.2). */
export function checkAtomicity(profile: TargetProfile, atomicity: Atomicity): void {
  if (!profile.atomicity.includes(atomicity)) {
    throw new UnsupportedByProfileError(
      profile.name,
      `atomicity ${atomicity}`,
      `target profile '${profile.name}' supports atomicity ${profile.atomicity.join(', ')} only, not ${atomicity}`,
    );
  }
}

/** Refuses, before anything is sent, an update the profile says the target cannot carry out. */
export function checkProfile(profile: TargetProfile, op: WriteOp): void {
  const refuse = (operation: string, why: string): never => {
    throw new UnsupportedByProfileError(profile.name, operation, `target profile '${profile.name}' ${why}`);
  };
  if ('entry' in op) {
    if (op.type === 'MODIFY' && !profile.modifyEntries) {
      refuse(
        'MODIFY table entry',
        `cannot MODIFY table entries (only default entries); DELETE then INSERT instead`,
      );
    }
    return;
  }
  if ('register' in op) {
    if (!profile.registerAccess) refuse('register write', 'has no register access over P4Runtime');
    return;
  }
  if ('entity' in op) {
    const e = op.entity;
    if (e.register_entry && !profile.registerAccess)
      refuse('register write', 'has no register access over P4Runtime');
    if (e.digest_entry && !profile.digests) refuse('digest configuration', 'has no digests');
    if (e.table_entry && op.type === 'MODIFY' && !profile.modifyEntries && !e.table_entry.is_default_action) {
      refuse(
        'MODIFY table entry',
        `cannot MODIFY table entries (only default entries); DELETE then INSERT instead`,
      );
    }
  }
}

// ---------------------------------------------------------------- encoding

/** The updates of one write call in wire form: `bytes` holds update i at [offsets[i], offsets[i+1]). */
export interface EncodedUpdates {
  readonly bytes: Buffer;
  readonly offsets: Int32Array;
}

const UPDATE_FIELD = 4;

/**
 * Encodes every op (checking each against the P4Info as it goes) into one buffer. Throws
 * UpdateEncodingError naming the first op that cannot be encoded; nothing is sent in that case.
 */
export function encodeUpdates(
  ops: readonly WriteOp[],
  codec: EntityCodec,
  writer = new WireWriter(),
): EncodedUpdates {
  writer.reset();
  const offsets = new Int32Array(ops.length + 1);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    offsets[i] = writer.pos;
    try {
      if ('entry' in op) codec.writeTableUpdate(writer, op.type, op.entry);
      else
        writer.bytesField(
          UPDATE_FIELD,
          encodeMessage('p4.v1.Update', { type: op.type, entity: toEntity(op, codec) }),
        );
    } catch (err) {
      if (err instanceof Error) throw new UpdateEncodingError(i, op, err);
      throw err;
    }
  }
  offsets[ops.length] = writer.pos;
  return { bytes: writer.view(), offsets };
}

function toEntity(op: Exclude<WriteOp, EntryOp>, codec: EntityCodec): Entity {
  if ('meter' in op) return { meter_entry: codec.toMeterEntry(op.meter) };
  if ('meterReset' in op)
    return { meter_entry: codec.toMeterReset(op.meterReset.meter, op.meterReset.index) };
  if ('register' in op) return { register_entry: codec.toRegisterEntry(op.register) };
  if ('counter' in op)
    return { counter_entry: codec.toCounterEntry(op.counter.counter, op.counter.index, op.counter) };
  return op.entity;
}

/** The per-request part of a WriteRequest (everything but `updates`). */
export function writeRequestHeader(
  deviceId: bigint,
  role: string,
  electionId: Uint128 | undefined,
  atomicity: Atomicity,
): Buffer {
  return encodeMessage('p4.v1.WriteRequest', {
    device_id: deviceId.toString(),
    role: role === '' ? undefined : role,
    election_id: electionId,
    atomicity: atomicity === 'CONTINUE_ON_ERROR' ? undefined : atomicity,
  });
}

// ---------------------------------------------------------------- batching

export interface BatchLimits {
  /** Most updates in one Write: bounds the error trailer, one p4.v1.Error per update (P4Runtime §12.3). */
  readonly maxUpdates: number;
  /** Most bytes of updates in one Write, leaving room for the header under the 4 MB default (P4Runtime appendix, gRPC receive size). */
  readonly maxBytes: number;
}

/** One Write's share of the caller's updates: [start, end). */
export interface Batch {
  readonly start: number;
  readonly end: number;
}

/**
 * Cuts the encoded updates into consecutive batches, each within both limits and as large as they
 * allow. An update larger than maxBytes alone cannot be sent and is reported by index.
 */
export function planBatches(offsets: Int32Array, limits: BatchLimits): Batch[] {
  const n = offsets.length - 1;
  const batches: Batch[] = [];
  let start = 0;
  while (start < n) {
    let end = start;
    const base = offsets[start];
    while (end < n && end - start < limits.maxUpdates && offsets[end + 1] - base <= limits.maxBytes) end++;
    if (end === start) {
      throw new RangeError(
        `update #${start} takes ${offsets[start + 1] - offsets[start]} bytes, more than one Write may carry (${limits.maxBytes})`,
      );
    }
    batches.push({ start, end });
    start = end;
  }
  return batches;
}

// ---------------------------------------------------------------- errors

const P4_ERROR_TYPE = 'type.googleapis.com/p4.v1.Error';

/**
 * The p4.v1.Error list carried in a failed Write's `grpc-status-details-bin` trailer (a
 * google.rpc.Status whose details are Any-wrapped p4.v1.Error, P4Runtime §12.3). Undefined when
 * the trailer is absent or not such a list.
 */
export function decodeErrorDetails(err: Pick<ServiceError, 'metadata'>): P4Error[] | undefined {
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  if (!(bin instanceof Buffer)) return undefined;
  let status;
  try {
    status = decodeMessage('google.rpc.Status', bin);
  } catch {
    return undefined;
  }
  const details = status.details ?? [];
  const errors: P4Error[] = [];
  for (const any of details) {
    // Some servers write the type URL without the host part; the message name is what matters.
    const url = any.type_url ?? '';
    if (url !== P4_ERROR_TYPE && !url.endsWith('/p4.v1.Error')) return undefined;
    errors.push(decodeMessage('p4.v1.Error', any.value ?? Buffer.alloc(0)));
  }
  return errors;
}

/**
 * Per-update failures of one batch, indexed in the caller's list. Returns undefined when the
 * trailer does not hold exactly one p4.v1.Error per update of the batch, as §12.3 requires: then
 * the failure cannot be pinned on updates and is treated as RPC-wide.
 */
export function batchFailures<U>(
  err: Pick<ServiceError, 'metadata'>,
  batch: Batch,
  ops: readonly U[],
): WriteFailure<U>[] | undefined {
  const errors = decodeErrorDetails(err);
  if (errors === undefined || errors.length !== batch.end - batch.start) return undefined;
  const failures: WriteFailure<U>[] = [];
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    const code = e.canonical_code ?? 0;
    if (code === 0) continue;
    const index = batch.start + i;
    const failure: { -readonly [K in keyof WriteFailure<U>]: WriteFailure<U>[K] } = {
      index,
      canonicalCode: code,
      status: statusName(code),
      message: e.message ?? '',
      update: ops[index],
    };
    if (e.space) failure.space = e.space;
    if (e.code) failure.targetCode = e.code;
    failures.push(failure);
  }
  return failures;
}

/** One line per failure, the first few of them, for WriteError's message. */
export function describeFailures(
  failures: readonly WriteFailure<WriteOp>[],
  total: number,
  shown = 5,
): string {
  const lines = failures
    .slice(0, shown)
    .map((f) => `  #${f.index} ${describeOp(f.update)}: ${f.status}: ${f.message}`);
  const more = failures.length > shown ? `\n  ... and ${failures.length - shown} more` : '';
  return `${failures.length} of ${total} updates failed:\n${lines.join('\n')}${more}`;
}
