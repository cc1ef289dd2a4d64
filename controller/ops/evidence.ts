// Opening the evidence log as the configuration says: the database, and the Ed25519 key that signs
// its checkpoints. Without a key the log still records and verifies its tree, but cannot sign, so
// nothing it holds can be proven to a third party; callers say so to the user.

import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EvidenceLog, generateSigningKeyPair } from '../evidence';
import type { NicguardConfig } from '../config/config';

/** Where the public half of a signing key lives: beside it, `name.pem` → `name.pub.pem`. */
export function publicKeyPath(signingKeyPath: string): string {
  return signingKeyPath.endsWith('.pem')
    ? signingKeyPath.replace(/\.pem$/, '.pub.pem')
    : `${signingKeyPath}.pub`;
}

/**
 * Writes a new key pair beside each other. The private half is created with mode 0600, so it is
 * never readable by others, even briefly. An existing key is replaced only with `force`: the old
 * public key is still what verifies earlier checkpoints.
 */
export function writeSigningKeyPair(
  signingKeyPath: string,
  options: { force?: boolean } = {},
): { privateKey: string; publicKey: string } {
  const pub = publicKeyPath(signingKeyPath);
  for (const path of [signingKeyPath, pub]) {
    if (existsSync(path) && !options.force) {
      throw new Error(`${path} already exists; a signing key is not replaced silently`);
    }
  }
  mkdirSync(dirname(signingKeyPath), { recursive: true, mode: 0o700 });
  for (const path of [signingKeyPath, pub]) if (existsSync(path)) unlinkSync(path);
  const pair = generateSigningKeyPair();
  writeFileSync(signingKeyPath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  chmodSync(signingKeyPath, 0o600);
  writeFileSync(pub, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
  return { privateKey: signingKeyPath, publicKey: pub };
}

export interface OpenedEvidence {
  readonly log: EvidenceLog;
  /** Whether checkpoints can be signed. */
  readonly signing: boolean;
  readonly publicKeyPem?: string;
}

export function openEvidence(config: Pick<NicguardConfig, 'evidence'>): OpenedEvidence {
  const { database, signingKey, origin } = config.evidence;
  mkdirSync(dirname(database), { recursive: true });
  if (!existsSync(signingKey)) return { log: EvidenceLog.open(database), signing: false };
  const privateKey = readFileSync(signingKey, 'utf8');
  const pub = publicKeyPath(signingKey);
  const log = EvidenceLog.open(database, { signer: { origin, privateKey } });
  return { log, signing: true, publicKeyPem: existsSync(pub) ? readFileSync(pub, 'utf8') : undefined };
}
