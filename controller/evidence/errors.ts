/**
 * Every failure the evidence store reports carries a stable code, so callers (CLI, telemetry, auditors'
 * scripts) can branch on it without parsing messages, and messages can change without breaking them.
 */
export type EvidenceErrorCode =
  | 'BAD_ARGUMENT' // caller passed a value the API cannot accept (negative size, index out of range, ...)
  | 'BAD_PROOF' // a Merkle inclusion or consistency proof does not verify
  | 'BAD_SIGNATURE' // a checkpoint signature is missing, malformed, or made by another key
  | 'BAD_CHECKPOINT' // a checkpoint note is malformed or names another log
  | 'BAD_RECORD' // a record cannot be canonicalised (wrong type, float, lone surrogate, ...)
  | 'BAD_LEAF' // stored leaf bytes cannot be decoded
  | 'BAD_KEY' // a key cannot be loaded or is not Ed25519
  | 'DURABILITY' // SQLite refused the journal/sync settings the evidence guarantees depend on
  | 'SCHEMA' // the database was written by a newer schema or is not an evidence log
  | 'CORRUPT' // stored tree data needed to answer a request is missing or malformed
  | 'NO_SIGNER' // a checkpoint was requested but the log was opened without a signing key
  | 'NOT_COVERED' // a proof was requested for a record no checkpoint covers yet
  | 'CLOSED'; // the log was used after close()

export class EvidenceError extends Error {
  readonly code: EvidenceErrorCode;

  constructor(code: EvidenceErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'EvidenceError';
    this.code = code;
  }
}

export function fail(code: EvidenceErrorCode, message: string): never {
  throw new EvidenceError(code, message);
}
