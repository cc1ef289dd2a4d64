import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { EvidenceError } from './errors';
import {
  generateSigningKeyPair,
  loadPrivateKey,
  loadPublicKey,
  noteKeyId,
  openCheckpoint,
  rawPublicKey,
  signCheckpoint,
} from './checkpoint';
import { hashLeaf } from './merkle';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EvidenceError);
    return e.code;
  }
  return 'none';
}

describe('signed checkpoints', () => {
  const keys = generateSigningKeyPair();
  const priv = loadPrivateKey(keys.privateKeyPem);
  const pub = loadPublicKey(keys.publicKeyPem);
  const root = hashLeaf(Buffer.from('root'));
  const origin = 'example.nicguard/evidence';

  it('writes the checkpoint body and a signed-note signature line', () => {
    const note = signCheckpoint(origin, 42, root, priv);
    const [body, sig] = note.split('\n\n') as [string, string];
    assert.equal(body + '\n', `${origin}\n42\n${root.toString('base64')}\n`);
    assert.match(sig, /^\u2014 example\.nicguard\/evidence [A-Za-z0-9+/]+=*\n$/);
    const blob = Buffer.from(sig.trim().split(' ')[2] as string, 'base64');
    assert.equal(blob.length, 4 + 64);
    const expectedId = createHash('sha256')
      .update(`${origin}\n`)
      .update(Buffer.concat([Buffer.from([1]), rawPublicKey(pub)]))
      .digest()
      .subarray(0, 4);
    assert.deepEqual(blob.subarray(0, 4), expectedId);
    assert.deepEqual(noteKeyId(origin, createPublicKey(priv)), expectedId);
  });

  it('opens with the pinned key and origin', () => {
    const opened = openCheckpoint(signCheckpoint(origin, 7, root, priv), pub, origin);
    assert.equal(opened.treeSize, 7);
    assert.deepEqual(opened.root, root);
  });

  it('rejects a checkpoint signed by another key, for another origin, or altered', () => {
    const other = generateSigningKeyPair();
    const forged = signCheckpoint(origin, 7, root, loadPrivateKey(other.privateKeyPem));
    assert.equal(
      code(() => openCheckpoint(forged, pub, origin)),
      'BAD_SIGNATURE',
    );
    const good = signCheckpoint(origin, 7, root, priv);
    assert.equal(
      code(() => openCheckpoint(good, pub, 'other.origin')),
      'BAD_CHECKPOINT',
    );
    assert.equal(
      code(() => openCheckpoint(good.replace('\n7\n', '\n8\n'), pub, origin)),
      'BAD_SIGNATURE',
    );
    assert.equal(
      code(() => openCheckpoint(good.replace('\n7\n', '\n07\n'), pub, origin)),
      'BAD_CHECKPOINT',
    );
    assert.equal(
      code(() => openCheckpoint(good.split('\n\n')[0] as string, pub, origin)),
      'BAD_CHECKPOINT',
    );
  });

  it('ignores extra signatures (e.g. witnesses) as long as ours is valid', () => {
    const other = loadPrivateKey(generateSigningKeyPair().privateKeyPem);
    const ours = signCheckpoint(origin, 3, root, priv);
    const witness = signCheckpoint('witness.example', 3, root, other).split('\n\n')[1] as string;
    assert.equal(openCheckpoint(ours + witness, pub, origin).treeSize, 3);
  });

  it('refuses keys that are not Ed25519 and origins a note cannot carry', () => {
    assert.equal(
      code(() => loadPrivateKey('not a pem')),
      'BAD_KEY',
    );
    assert.equal(
      code(() => signCheckpoint('has space', 1, root, priv)),
      'BAD_ARGUMENT',
    );
  });
});
