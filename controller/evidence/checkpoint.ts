/**
 * Signed checkpoints: the transparency-dev checkpoint body (origin, size, base64 root) wrapped in a signed
 * note with an Ed25519 signature, so existing witnesses and verifiers can read our checkpoints unchanged.
 * Verification always pins both the origin and the public key: a valid signature by any other key, or for
 * another log, proves nothing about this one.
 */
import {
  KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import { EvidenceError, fail } from './errors';
import { HASH_SIZE } from './merkle';

/** Signed-note algorithm identifier for Ed25519; it is hashed into the key id so keys cannot be confused. */
const ALG_ED25519 = 0x01;
const EM_DASH = '\u2014';

export interface SigningKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function requireEd25519(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    fail('BAD_KEY', `expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

export function loadPrivateKey(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string') {
    if (key.type !== 'private') fail('BAD_KEY', 'expected a private key');
    return requireEd25519(key);
  }
  try {
    return requireEd25519(createPrivateKey(key));
  } catch (e) {
    if (e instanceof EvidenceError) throw e;
    fail('BAD_KEY', 'private key is not a readable PEM');
  }
}

/** Accepts a public key, or a private key from which the public half is derived. */
export function loadPublicKey(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string') return requireEd25519(key.type === 'private' ? createPublicKey(key) : key);
  try {
    return requireEd25519(createPublicKey(key));
  } catch (e) {
    if (e instanceof EvidenceError) throw e;
    fail('BAD_KEY', 'public key is not a readable PEM');
  }
}

export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') fail('BAD_KEY', 'key has no Ed25519 public component');
  return Buffer.from(jwk.x, 'base64url');
}

/** Signed-note key id: first 4 bytes of SHA-256(name || "\n" || alg || raw public key). */
export function noteKeyId(name: string, publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(name, 'utf8')
    .update('\n')
    .update(Buffer.from([ALG_ED25519]))
    .update(rawPublicKey(publicKey))
    .digest()
    .subarray(0, 4);
}

/** Signed-note names must be non-empty and free of whitespace and '+'; the origin doubles as the name. */
export function checkOrigin(origin: string): void {
  if (origin === '' || /[\s+]/u.test(origin)) {
    fail('BAD_ARGUMENT', 'origin must be non-empty, without whitespace or "+"');
  }
}

/** Checkpoint body: origin, decimal size, base64 root, each line ending in a newline. */
export function checkpointBody(origin: string, treeSize: number, root: Uint8Array): string {
  checkOrigin(origin);
  if (!Number.isSafeInteger(treeSize) || treeSize < 0)
    fail('BAD_ARGUMENT', 'tree size must be a safe integer');
  if (root.length !== HASH_SIZE) fail('BAD_ARGUMENT', 'root must be 32 bytes');
  return `${origin}\n${treeSize}\n${Buffer.from(root).toString('base64')}\n`;
}

/** The signature covers the body only, including its final newline; the blank line separates it. */
export function signCheckpoint(
  origin: string,
  treeSize: number,
  root: Uint8Array,
  privateKey: KeyObject,
): string {
  const body = checkpointBody(origin, treeSize, root);
  const signature = sign(null, Buffer.from(body, 'utf8'), privateKey);
  const keyId = noteKeyId(origin, createPublicKey(privateKey));
  return `${body}\n${EM_DASH} ${origin} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

export interface OpenedCheckpoint {
  origin: string;
  treeSize: number;
  root: Buffer;
}

function parseBody(body: string, origin: string): OpenedCheckpoint {
  const lines = body.split('\n');
  lines.pop(); // the body ends with a newline, so the last piece is empty
  if (lines.length < 3) fail('BAD_CHECKPOINT', 'checkpoint body needs origin, size and root lines');
  const [name, sizeText, rootText] = lines as [string, string, string];
  if (name !== origin) fail('BAD_CHECKPOINT', `checkpoint is for origin "${name}", expected "${origin}"`);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) fail('BAD_CHECKPOINT', 'tree size is not a canonical decimal');
  const treeSize = Number(sizeText);
  if (!Number.isSafeInteger(treeSize)) fail('BAD_CHECKPOINT', 'tree size exceeds 2^53');
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootText) {
    fail('BAD_CHECKPOINT', 'root is not the standard base64 of 32 bytes');
  }
  return { origin: name, treeSize, root };
}

/**
 * Checks a signed checkpoint note against the pinned origin and key. Other signatures (e.g. witnesses)
 * may be present and are ignored; at least one must be ours and valid.
 */
export function openCheckpoint(note: string, publicKey: KeyObject, origin: string): OpenedCheckpoint {
  const split = note.indexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) fail('BAD_CHECKPOINT', 'not a signed note');
  const body = note.slice(0, split + 1);
  if (
    body
      .split('\n')
      .slice(0, -1)
      .some((l) => l === '')
  )
    fail('BAD_CHECKPOINT', 'empty line in note body');
  const opened = parseBody(body, origin);
  const wantId = noteKeyId(origin, publicKey);
  const sigLines = note.slice(split + 2, -1).split('\n');
  let sawOurKey = false;
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) fail('BAD_SIGNATURE', 'malformed signature line');
    if (m[1] !== origin) continue;
    const blob = Buffer.from(m[2] as string, 'base64');
    if (blob.length < 5 || !blob.subarray(0, 4).equals(wantId)) continue;
    sawOurKey = true;
    if (verify(null, Buffer.from(body, 'utf8'), publicKey, blob.subarray(4))) return opened;
  }
  fail(
    'BAD_SIGNATURE',
    sawOurKey ? 'signature by the pinned key does not verify' : 'no signature by the pinned key',
  );
}
