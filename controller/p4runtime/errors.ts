// Errors of the P4Runtime client. Each has a stable `code` that callers branch on; the message is
// for people. Device-side rejections keep the gRPC status name the device answered with, so that a
// caller can tell "the device refused" from "we never got through".

import { status as GrpcStatus } from '@grpc/grpc-js';

export type ClientErrorCode =
  | 'BAD_OPTIONS'
  | 'BAD_UPDATE'
  | 'UNREACHABLE'
  | 'TLS_FAILED'
  | 'NOT_PRIMARY'
  | 'UNSUPPORTED_BY_PROFILE'
  | 'WRITE_FAILED'
  | 'RPC_FAILED'
  | 'ARBITRATION_FAILED'
  | 'NO_P4INFO'
  | 'BAD_RESPONSE'
  | 'CLOSED';

export class P4RuntimeClientError extends Error {
  override readonly name: string = 'P4RuntimeClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, value] of Object.entries(GrpcStatus)) if (typeof value === 'number') names[value] = name;
  return names;
})();

/** Canonical gRPC code name ("ALREADY_EXISTS") for a numeric code; "CODE_<n>" for unknown numbers. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `CODE_${code}`;
}

/** The options given to the client cannot work (e.g. neither TLS nor an explicit insecure channel). */
export class ClientOptionsError extends P4RuntimeClientError {
  override readonly name = 'ClientOptionsError';
  constructor(message: string) {
    super('BAD_OPTIONS', message);
  }
}

/**
 * Why a TLS handshake failed, as far as the TLS error text tells:
 *   UNTRUSTED_SERVER       the server's certificate does not chain to the CA we trust
 *   NAME_MISMATCH          the certificate is not for the name we connected to
 *   EXPIRED                a certificate is outside its validity period
 *   CLIENT_CERT_REJECTED   the server wanted a client certificate we did not send or it does not trust
 *   NOT_TLS                the server does not speak TLS on that port (a plaintext server)
 *   SERVER_EXPECTS_TLS     plaintext was asked for, but the server speaks TLS
 *   UNKNOWN                anything else
 */
export type TlsFailure =
  | 'UNTRUSTED_SERVER'
  | 'NAME_MISMATCH'
  | 'EXPIRED'
  | 'CLIENT_CERT_REJECTED'
  | 'NOT_TLS'
  | 'SERVER_EXPECTS_TLS'
  | 'UNKNOWN';

/** The device could not be reached, or its TLS handshake failed. Never followed by a plaintext retry. */
export class ConnectionError extends P4RuntimeClientError {
  override readonly name = 'ConnectionError';
  constructor(
    code: 'UNREACHABLE' | 'TLS_FAILED',
    message: string,
    readonly address: string,
    /** Set when code is TLS_FAILED. */
    readonly tlsFailure?: TlsFailure,
    /** The transport's own words, for logs. */
    readonly detail?: string,
  ) {
    super(code, message);
  }
}

/**
 * A write (or pipeline push, or PacketOut) while this client is not the primary controller for its
 * (device_id, role): refused locally, or PERMISSION_DENIED from the device (P4Runtime §5, §12).
 */
export class NotPrimaryError extends P4RuntimeClientError {
  override readonly name = 'NotPrimaryError';
  constructor(
    message: string,
    /** What the client knew when it refused: 'backup', 'disconnected' (no live stream), or 'device' (the device said so). */
    readonly state: 'backup' | 'disconnected' | 'device',
  ) {
    super('NOT_PRIMARY', message);
  }
}

/** The target profile says the device cannot do this; nothing was sent. */
export class UnsupportedByProfileError extends P4RuntimeClientError {
  override readonly name = 'UnsupportedByProfileError';
  constructor(
    readonly profile: string,
    readonly operation: string,
    message: string,
  ) {
    super('UNSUPPORTED_BY_PROFILE', message);
  }
}

/** A gRPC call failed as a whole (no per-update detail): transport, deadline, or an RPC-wide status. */
export class RpcError extends P4RuntimeClientError {
  override readonly name = 'RpcError';
  /** Canonical gRPC code name, e.g. UNAVAILABLE, DEADLINE_EXCEEDED, INVALID_ARGUMENT. */
  readonly status: string;
  constructor(
    readonly method: string,
    readonly grpcCode: number,
    readonly details: string,
  ) {
    super('RPC_FAILED', `${method} failed: ${statusName(grpcCode)}: ${details}`);
    this.status = statusName(grpcCode);
  }
}

/** The device closed the stream or refused our MasterArbitrationUpdate (P4Runtime §5.3). */
export class ArbitrationError extends P4RuntimeClientError {
  override readonly name = 'ArbitrationError';
  constructor(
    message: string,
    /** Canonical gRPC code name the device ended the stream with, when it did. */
    readonly status?: string,
  ) {
    super('ARBITRATION_FAILED', message);
  }
}

/** An update could not be turned into its P4Runtime form (unknown name, value too wide, ...); nothing was sent. */
export class UpdateEncodingError<U = unknown> extends P4RuntimeClientError {
  override readonly name = 'UpdateEncodingError';
  constructor(
    /** Position in the caller's list of updates. */
    readonly index: number,
    readonly update: U,
    /** The codec's own error (EntityError, P4ValueError or P4InfoError), with its code. */
    override readonly cause: Error,
  ) {
    super('BAD_UPDATE', `update #${index}: ${cause.message}`);
  }
}

/** One update the device rejected. */
export interface WriteFailure<U> {
  /** Position in the caller's list of updates (not in the batch that carried it). */
  readonly index: number;
  /** google.rpc.Code of the p4.v1.Error (P4Runtime §10). */
  readonly canonicalCode: number;
  /** Canonical code name, e.g. ALREADY_EXISTS. */
  readonly status: string;
  readonly message: string;
  /** Target-specific error space and code, when the device sets them. */
  readonly space?: string;
  readonly targetCode?: number;
  /** The caller's update, as given. */
  readonly update: U;
}

/**
 * Some updates of a write were rejected (P4Runtime §12.3). Updates not listed in `failures` were
 * applied (with CONTINUE_ON_ERROR), except the last `notSent` of them, which were never sent: a
 * write stops at a batch that fails as a whole (`stoppedBy` says why) or when this client stops
 * being primary.
 */
export class WriteError<U = unknown> extends P4RuntimeClientError {
  override readonly name = 'WriteError';
  constructor(
    message: string,
    readonly failures: readonly WriteFailure<U>[],
    /** How many of the caller's updates were sent to the device. */
    readonly sent: number,
    readonly notSent: number,
    /** What stopped the write early, if anything: an RPC-wide failure or the loss of primacy. */
    readonly stoppedBy?: RpcError | NotPrimaryError,
  ) {
    super('WRITE_FAILED', message);
  }
}
