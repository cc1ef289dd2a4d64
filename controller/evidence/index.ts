/** Public surface of the evidence store; other modules import from here, not from the files behind it. */
export { EvidenceError } from './errors';
export type { EvidenceErrorCode } from './errors';
export * from './records';
export { canonicalJson, decodeLeaf, encodeLeaf, KIND_CODES, LEAF_FORMAT_VERSION } from './canonical';
export type { CanonicalValue, DecodedLeaf, RecordKind } from './canonical';
export {
  checkpointBody,
  generateSigningKeyPair,
  loadPrivateKey,
  loadPublicKey,
  noteKeyId,
  openCheckpoint,
  signCheckpoint,
} from './checkpoint';
export type { OpenedCheckpoint, SigningKeyPair } from './checkpoint';
export * from './merkle';
export { EvidenceLog, checkProof, NODE_STRIDE, PROOF_FORMAT } from './store';
export type {
  AppendResult,
  CheckedProof,
  ConsistencyProofBundle,
  CounterTotal,
  DenialSummary,
  EvidenceLogOptions,
  InclusionProofBundle,
  QuotaHit,
  SignedCheckpoint,
  SignerOptions,
  StoredRecord,
  VerifyProblem,
  VerifyProblemCode,
  VerifyResult,
} from './store';
