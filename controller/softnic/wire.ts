// Messages on the server's hot paths, as protobufjs `decode` leaves them.
//
// The Read path and the Write path's general lane skip the object conversion that @grpc/proto-loader
// applies (toObject costs about nine times the decode itself). A decoded message differs from the
// object convention of proto.ts:
//
//   uint64/int64   Long instances (numbers when long.js is absent; strings from hand-built objects)
//   enums          numbers (Update.Type INSERT = 1, ...)
//   unset message  null (from the prototype), scalars 0 / '' / false, bytes an empty Buffer
//   oneofs         the same virtual marker property, e.g. entity.entity === 'table_entry'
//
// The helpers here accept either shape, so tests and internal callers may pass plain objects.

import type Long from 'long';
import { messageType } from '../p4runtime/proto';

export type WireU64 = Long | number | string | null | undefined;

export interface WireUint128 {
  high?: WireU64;
  low?: WireU64;
}

export interface WireFieldMatch {
  field_id?: number;
  field_match_type?: string;
  exact?: { value?: Buffer } | null;
  ternary?: { value?: Buffer; mask?: Buffer } | null;
  lpm?: { value?: Buffer; prefix_len?: number } | null;
  range?: { low?: Buffer; high?: Buffer } | null;
  optional?: { value?: Buffer } | null;
  other?: unknown;
}

export interface WireAction {
  action_id?: number;
  params?: { param_id?: number; value?: Buffer }[];
}

export interface WireTableAction {
  type?: string;
  action?: WireAction | null;
  action_profile_member_id?: number;
  action_profile_group_id?: number;
  action_profile_action_set?: unknown;
}

export interface WireMeterConfig {
  cir?: WireU64;
  cburst?: WireU64;
  pir?: WireU64;
  pburst?: WireU64;
  eburst?: WireU64;
}

export interface WireCounterData {
  byte_count?: WireU64;
  packet_count?: WireU64;
}

export interface WireTableEntry {
  table_id?: number;
  match?: WireFieldMatch[];
  action?: WireTableAction | null;
  priority?: number;
  controller_metadata?: WireU64;
  meter_config?: WireMeterConfig | null;
  counter_data?: WireCounterData | null;
  meter_counter_data?: {
    green?: WireCounterData | null;
    yellow?: WireCounterData | null;
    red?: WireCounterData | null;
  } | null;
  is_default_action?: boolean;
  idle_timeout_ns?: WireU64;
  time_since_last_hit?: unknown;
  metadata?: Buffer;
  is_const?: boolean;
}

export interface WireIndex {
  index?: WireU64;
}

export interface WireCounterEntry {
  counter_id?: number;
  index?: WireIndex | null;
  data?: WireCounterData | null;
}

export interface WireDirectCounterEntry {
  table_entry?: WireTableEntry | null;
  data?: WireCounterData | null;
}

export interface WireMeterEntry {
  meter_id?: number;
  index?: WireIndex | null;
  config?: WireMeterConfig | null;
}

export interface WireDirectMeterEntry {
  table_entry?: WireTableEntry | null;
  config?: WireMeterConfig | null;
}

export interface WireP4Data {
  data?: string;
  bitstring?: Buffer;
}

export interface WireRegisterEntry {
  register_id?: number;
  index?: WireIndex | null;
  data?: WireP4Data | null;
}

export interface WireDigestEntry {
  digest_id?: number;
  config?: { max_timeout_ns?: WireU64; max_list_size?: number; ack_timeout_ns?: WireU64 } | null;
}

export interface WireEntity {
  entity?: string;
  table_entry?: WireTableEntry | null;
  counter_entry?: WireCounterEntry | null;
  direct_counter_entry?: WireDirectCounterEntry | null;
  meter_entry?: WireMeterEntry | null;
  direct_meter_entry?: WireDirectMeterEntry | null;
  register_entry?: WireRegisterEntry | null;
  digest_entry?: WireDigestEntry | null;
}

export interface WireUpdate {
  type?: number | string;
  entity?: WireEntity | null;
}

export interface WireReadRequest {
  device_id?: WireU64;
  role?: string;
  entities?: WireEntity[];
}

// ---------------------------------------------------------------- scalars

function longBits(v: Long, signed: boolean): bigint {
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return signed ? BigInt.asIntN(64, bits) : bits;
}

/** uint64 field value as a bigint; unset is 0. */
export function u64(v: WireU64): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'object') return longBits(v, false);
  return BigInt.asUintN(64, BigInt(v));
}

/** int64 field value as a bigint; unset is 0. */
export function i64(v: WireU64): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'object') return longBits(v, true);
  return BigInt.asIntN(64, BigInt(v));
}

/** A Uint128 election id as a bigint, or undefined when the message is unset (P4Runtime §16.2.1). */
export function electionId(v: WireUint128 | null | undefined): bigint | undefined {
  if (v === null || v === undefined) return undefined;
  return (u64(v.high) << 64n) | u64(v.low);
}

const UPDATE_TYPES: readonly string[] = ['UNSPECIFIED', 'INSERT', 'MODIFY', 'DELETE'];
const ATOMICITIES: readonly string[] = ['CONTINUE_ON_ERROR', 'ROLLBACK_ON_ERROR', 'DATAPLANE_ATOMIC'];

export type UpdateKind = 'UNSPECIFIED' | 'INSERT' | 'MODIFY' | 'DELETE';

export function updateKind(v: number | string | undefined): UpdateKind | undefined {
  if (v === undefined) return 'UNSPECIFIED';
  const name = typeof v === 'number' ? UPDATE_TYPES[v] : v;
  return UPDATE_TYPES.includes(name) ? (name as UpdateKind) : undefined;
}

export function atomicityName(v: number | string | undefined): string {
  if (v === undefined) return 'CONTINUE_ON_ERROR';
  return typeof v === 'number' ? (ATOMICITIES[v] ?? String(v)) : v;
}

// ---------------------------------------------------------------- codecs

/** Parses a ReadRequest without the object conversion. */
export function decodeReadRequest(bytes: Buffer): WireReadRequest {
  return messageType('p4.v1.ReadRequest').decode(bytes) as unknown as WireReadRequest;
}

/**
 * Serialises one Entity given as a plain object with protobufjs-encodable values (uint64 as decimal
 * strings or numbers, bytes as Buffers, no enums). Skips fromObject, which only normalises types.
 */
export function encodeEntity(entity: object): Uint8Array {
  return messageType('p4.v1.Entity').encode(entity).finish();
}

// ---------------------------------------------------------------- WriteRequest framing

/**
 * A WriteRequest with its envelope decoded and its updates left as byte ranges of the request, so
 * that each can be applied straight from the bytes (fast-write.ts) or decoded on its own.
 */
export interface WriteRequestFrame {
  readonly deviceId: bigint;
  readonly role: string;
  readonly electionId: bigint | undefined;
  readonly atomicity: number;
  /** [start0, end0, start1, end1, ...] of each Update in `bytes`. */
  readonly updates: readonly number[];
  readonly bytes: Buffer;
}

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

function varint64(buf: Buffer, pos: { p: number }, end: number): bigint {
  let result = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (pos.p >= end) throw new WireFormatError('truncated varint');
    const b = buf[pos.p++];
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return BigInt.asUintN(64, result);
  }
  throw new WireFormatError('varint too long');
}

function skip(buf: Buffer, pos: { p: number }, end: number, wire: number): [number, number] {
  switch (wire) {
    case 0:
      varint64(buf, pos, end);
      return [0, 0];
    case 1:
      pos.p += 8;
      break;
    case 2: {
      const len = Number(varint64(buf, pos, end));
      const start = pos.p;
      pos.p += len;
      if (pos.p > end) throw new WireFormatError('truncated field');
      return [start, pos.p];
    }
    case 5:
      pos.p += 4;
      break;
    default:
      throw new WireFormatError(`wire type ${wire} is not valid`);
  }
  if (pos.p > end) throw new WireFormatError('truncated field');
  return [0, 0];
}

/** Splits a serialised WriteRequest into its envelope and update ranges (p4runtime.proto numbering). */
export function frameWriteRequest(bytes: Buffer): WriteRequestFrame {
  const pos = { p: 0 };
  const end = bytes.length;
  let deviceId = 0n;
  let role = '';
  let election: bigint | undefined;
  let atomicity = 0;
  const updates: number[] = [];
  while (pos.p < end) {
    const key = Number(varint64(bytes, pos, end));
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) deviceId = varint64(bytes, pos, end);
    else if (field === 5 && wire === 0) atomicity = Number(BigInt.asIntN(32, varint64(bytes, pos, end)));
    else if (wire === 2 && (field === 3 || field === 4 || field === 6)) {
      const [s, e] = skip(bytes, pos, end, wire);
      if (field === 4) updates.push(s, e);
      else if (field === 6) role = bytes.toString('utf8', s, e);
      else election = uint128At(bytes, s, e, election);
    } else skip(bytes, pos, end, wire);
  }
  return { deviceId, role, electionId: election, atomicity, updates, bytes };
}

// A repeated occurrence of a message field merges into the earlier one (protobuf semantics).
function uint128At(bytes: Buffer, start: number, end: number, previous: bigint | undefined): bigint {
  const pos = { p: start };
  let high = previous === undefined ? 0n : previous >> 64n;
  let low = previous === undefined ? 0n : BigInt.asUintN(64, previous);
  while (pos.p < end) {
    const key = Number(varint64(bytes, pos, end));
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) high = varint64(bytes, pos, end);
    else if (field === 2 && wire === 0) low = varint64(bytes, pos, end);
    else skip(bytes, pos, end, wire);
  }
  return (high << 64n) | low;
}

/** One Update of a frame, decoded for the general path. */
export function decodeUpdate(bytes: Buffer, start: number, end: number): WireUpdate {
  return messageType('p4.v1.Update').decode(bytes.subarray(start, end)) as unknown as WireUpdate;
}
