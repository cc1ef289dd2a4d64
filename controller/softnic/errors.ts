// Errors of the softnic's P4Runtime server, and their wire form.
//
// Every rejection carries a gRPC canonical status (what P4Runtime says the client sees) and a stable
// string code naming the rule that was broken. On the wire the code travels as the p4.v1.Error
// `space`/`code` pair (P4Runtime §10), so a client can tell e.g. a full table from a duplicate key
// without parsing messages.

import { status as GrpcStatus, Metadata } from '@grpc/grpc-js';
import { encodeMessage, type ProtoAny, type P4Error } from '../p4runtime/proto';

/** Stable codes, numbered for p4.v1.Error.code; never renumber, only append. */
export const SOFTNIC_ERROR_NUMBERS = {
  UNKNOWN_DEVICE: 1,
  INVALID_DEVICE_ID: 2,
  NOT_PRIMARY: 3,
  NO_PIPELINE: 4,
  BAD_PIPELINE_CONFIG: 5,
  NO_SAVED_PIPELINE: 6,
  UNSUPPORTED: 7,
  UNKNOWN_ROLE: 8,
  ROLE_CONFIG: 9,
  ROLE_CHANGED: 10,
  DEVICE_CHANGED: 11,
  DUPLICATE_ELECTION_ID: 12,
  TOO_MANY_CONNECTIONS: 13,
  BAD_UPDATE_TYPE: 14,
  MISSING_ENTITY: 15,
  UNKNOWN_ID: 16,
  BAD_MATCH: 17,
  BAD_PRIORITY: 18,
  BAD_ACTION: 19,
  ACTION_SCOPE: 20,
  BAD_PARAM: 21,
  CONST_DEFAULT: 22,
  BAD_DEFAULT_ENTRY: 23,
  BAD_DIRECT_RESOURCE: 24,
  ALREADY_EXISTS: 25,
  NOT_FOUND: 26,
  TABLE_FULL: 27,
  BAD_INDEX: 28,
  INDEX_OUT_OF_RANGE: 29,
  BAD_DATA: 30,
  BAD_METER_CONFIG: 31,
  BAD_READ: 32,
} as const;

export type SoftnicErrorCode = keyof typeof SOFTNIC_ERROR_NUMBERS;

/** The p4.v1.Error `space` of every error this server reports. */
export const SOFTNIC_ERROR_SPACE = 'nicguard-softnic';

export class SoftnicError extends Error {
  override readonly name = 'SoftnicError';
  constructor(
    /** gRPC canonical status code (grpc.status.*). */
    readonly status: GrpcStatus,
    readonly code: SoftnicErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (code: SoftnicErrorCode, message: string) =>
  new SoftnicError(GrpcStatus.INVALID_ARGUMENT, code, message);

export const unsupported = (message: string) =>
  new SoftnicError(GrpcStatus.UNIMPLEMENTED, 'UNSUPPORTED', message);

/** A thrown value as a SoftnicError; anything unexpected becomes INTERNAL rather than escaping. */
export function asSoftnicError(err: unknown): SoftnicError {
  if (err instanceof SoftnicError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SoftnicError(GrpcStatus.INTERNAL, 'UNSUPPORTED', `internal error: ${message}`);
}

/** A successful update's entry in the per-update list: canonical_code 0, nothing else (§12.3). */
const OK_DETAIL: ProtoAny = {
  type_url: 'type.googleapis.com/p4.v1.Error',
  value: encodeMessage('p4.v1.Error', {}),
};

export function errorDetail(err: SoftnicError | undefined): ProtoAny {
  if (err === undefined) return OK_DETAIL;
  const detail: P4Error = {
    canonical_code: err.status,
    message: err.message,
    space: SOFTNIC_ERROR_SPACE,
    code: SOFTNIC_ERROR_NUMBERS[err.code],
  };
  return { type_url: 'type.googleapis.com/p4.v1.Error', value: encodeMessage('p4.v1.Error', detail) };
}

/**
 * The gRPC error for a batch (Write or Read) in which at least one element failed: status UNKNOWN,
 * and in the `grpc-status-details-bin` trailer a google.rpc.Status whose details hold one p4.v1.Error
 * per element, in request order, OK for those that succeeded (P4Runtime §12.3, §13.3).
 */
export function batchError(
  results: readonly (SoftnicError | undefined)[],
  what: string,
): { code: GrpcStatus; details: string; metadata: Metadata } {
  const failed = results.filter((r) => r !== undefined).length;
  const first = results.find((r) => r !== undefined);
  const message = `${what}: ${failed} of ${results.length} failed; first: ${first?.message ?? ''}`;
  const status = encodeMessage('google.rpc.Status', {
    code: GrpcStatus.UNKNOWN,
    message,
    details: results.map(errorDetail),
  });
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', status);
  return { code: GrpcStatus.UNKNOWN, details: message, metadata };
}

/** A whole-RPC failure (no per-element details), as gRPC handlers report it. */
export function rpcError(err: SoftnicError): { code: GrpcStatus; details: string } {
  return { code: err.status, details: err.message };
}
