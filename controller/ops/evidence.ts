// Opening the evidence log as the configuration says: the database, and the Ed25519 key that signs
// its checkpoints. Without a key the log still records and verifies its tree, but cannot sign, so
// nothing it holds can be proven to a third party; callers say so to the user.

import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EvidenceLog, generateSigningKeyPair } from '../evidence';
import type { NicguardConfig } from '../config/config';

/** Where the public half of a signing key lives: beside it, `name.pem` → `name.pub.pem`. */
export function publicKeyPath(signingKeyPath: string): string {
  return signingKeyPath.endsWith('.pem')
    ? signingKeyPath.replace(/\.pem$/, '.pub.pem')
    : `${signingKeyPath}.pub`;
}

/** Writes a new key pair (the private half readable by the owner only). Refuses to overwrite. */
export function writeSigningKeyPair(signingKeyPath: string): { privateKey: string; publicKey: string } {
  const pub = publicKeyPath(signingKeyPath);
  if (existsSync(signingKeyPath))
    throw new Error(`${signingKeyPath} exists; refusing to overwrite a signing key`);
  mkdirSync(dirname(signingKeyPath), { recursive: true });
  const pair = generateSigningKeyPair();
  writeFileSync(signingKeyPath, pair.privateKeyPem, { mode: 0o600 });
  chmodSync(signingKeyPath, 0o600);
  writeFileSync(pub, pair.publicKeyPem);
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
