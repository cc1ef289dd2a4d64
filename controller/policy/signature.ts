// Detached Ed25519 signatures over policy sets. What is signed is the policy set's canonical JSON
// (canonical.ts), not the files: a reformatted or reordered file keeps its signature, while any
// change of meaning needs a new one. The signature file records the version it was made for, so a
// refusal can say whether the policy changed after signing or the signature is simply not ours.

import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadPrivateKey, loadPublicKey, rawPublicKey } from '../evidence/checkpoint';
import { canonicalJson, canonicalPolicy, policyVersion } from './canonical';
import type { PolicySet } from './model';

export type PolicySignatureErrorCode =
  | 'SIGNATURE_MISSING' // no signature file where one is required
  | 'SIGNATURE_MALFORMED' // the file is not a nicguard policy signature
  | 'SIGNATURE_OTHER_KEY' // signed, but by a key other than the one required
  | 'SIGNATURE_STALE' // signed by the required key, for another version of the policy
  | 'SIGNATURE_INVALID' // the signature bytes do not verify
  | 'BAD_KEY'; // the key file cannot be read as an Ed25519 key

export class PolicySignatureError extends Error {
  override readonly name = 'PolicySignatureError';
  constructor(
    readonly code: PolicySignatureErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

const FORMAT = 'nicguard-policy-signature/v1';

/** The signature file's contents. */
export interface PolicySignature {
  readonly format: typeof FORMAT;
  readonly algorithm: 'ed25519';
  /** SHA-256 of the signed canonical JSON: the policy version. */
  readonly policyVersion: string;
  /** First 8 bytes of SHA-256 of the raw public key, hex: which key signed. */
  readonly keyId: string;
  /** Base64 Ed25519 signature over the canonical JSON's UTF-8 bytes. */
  readonly signature: string;
}

/** Where the signature of a policy lives: `policy.sig` inside a directory, `<file>.sig` beside a file. */
export function signaturePathFor(paths: readonly string[]): string {
  const first = paths[0];
  if (first === undefined) throw new PolicySignatureError('SIGNATURE_MISSING', 'no policy path given');
  let isDir = false;
  try {
    isDir = statSync(first).isDirectory();
  } catch {
    // A path that does not exist has no signature either; the loader reports the path itself.
  }
  return isDir ? join(first, 'policy.sig') : `${first}.sig`;
}

function keyId(key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest().subarray(0, 8).toString('hex');
}

function keyFrom(pem: string, kind: 'private' | 'public'): KeyObject {
  try {
    return kind === 'private' ? loadPrivateKey(pem) : loadPublicKey(pem);
  } catch (err) {
    throw new PolicySignatureError('BAD_KEY', `${kind} key: ${(err as Error).message}`);
  }
}

/** Signs the policy set's canonical form with an Ed25519 private key (PEM). */
export function signPolicy(policy: PolicySet, privateKeyPem: string): PolicySignature {
  const key = keyFrom(privateKeyPem, 'private');
  const text = canonicalJson(canonicalPolicy(policy));
  return {
    format: FORMAT,
    algorithm: 'ed25519',
    policyVersion: createHash('sha256').update(text).digest('hex'),
    keyId: keyId(loadPublicKey(key)),
    signature: sign(null, Buffer.from(text, 'utf8'), key).toString('base64'),
  };
}

function parseSignature(text: string, where: string): PolicySignature {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PolicySignatureError('SIGNATURE_MALFORMED', `${where} is not JSON`);
  }
  const s = value as Partial<PolicySignature> | null;
  if (
    !s ||
    s.format !== FORMAT ||
    s.algorithm !== 'ed25519' ||
    typeof s.policyVersion !== 'string' ||
    typeof s.keyId !== 'string' ||
    typeof s.signature !== 'string'
  ) {
    throw new PolicySignatureError('SIGNATURE_MALFORMED', `${where} is not a ${FORMAT} document`);
  }
  return s as PolicySignature;
}

/**
 * Checks a signature document against the policy set and the required public key (PEM). Returns
 * the policy version it covers; throws PolicySignatureError saying what is wrong otherwise.
 */
export function verifyPolicySignature(
  policy: PolicySet,
  signatureText: string,
  publicKeyPem: string,
  where = 'signature',
): string {
  const key = keyFrom(publicKeyPem, 'public');
  const sig = parseSignature(signatureText, where);
  if (sig.keyId !== keyId(key)) {
    throw new PolicySignatureError(
      'SIGNATURE_OTHER_KEY',
      `${where} was made by key ${sig.keyId}, not the required key ${keyId(key)}`,
    );
  }
  const version = policyVersion(policy);
  if (sig.policyVersion !== version) {
    throw new PolicySignatureError(
      'SIGNATURE_STALE',
      `${where} covers policy version ${sig.policyVersion.slice(0, 16)}, but the policy is ${version.slice(0, 16)}: it changed after signing`,
    );
  }
  const text = canonicalJson(canonicalPolicy(policy));
  const bytes = Buffer.from(sig.signature, 'base64');
  if (bytes.length !== 64 || !verify(null, Buffer.from(text, 'utf8'), key, bytes)) {
    throw new PolicySignatureError('SIGNATURE_INVALID', `${where} does not verify with the required key`);
  }
  return version;
}

/** Reads the signature file for `paths` and verifies it; a missing file is SIGNATURE_MISSING. */
export function requireSignedPolicy(
  policy: PolicySet,
  paths: readonly string[],
  publicKeyPem: string,
): string {
  const file = signaturePathFor(paths);
  if (!existsSync(file)) {
    throw new PolicySignatureError(
      'SIGNATURE_MISSING',
      `no signature at ${file}: sign the policy with \`nicguard policy sign\``,
    );
  }
  return verifyPolicySignature(policy, readFileSync(file, 'utf8'), publicKeyPem, file);
}
