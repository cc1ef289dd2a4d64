import { strict as assert } from 'node:assert';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../evidence/checkpoint';
import { loadPolicySet, loadPolicySources } from './load';
import type { PolicySet } from './model';
import {
  PolicySignatureError,
  requireSignedPolicy,
  signPolicy,
  signaturePathFor,
  verifyPolicySignature,
} from './signature';

const EXAMPLE = join(__dirname, '..', '..', '..', 'examples', 'support-agent.policy.yaml');

function example(): PolicySet {
  const { policySet, diagnostics } = loadPolicySet(EXAMPLE);
  assert.ok(policySet, diagnostics.map((d) => d.format()).join('\n'));
  return policySet;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PolicySignatureError, String(err));
    return err.code;
  }
  return 'no error';
}

describe('policy signatures', () => {
  const ours = generateSigningKeyPair();
  const theirs = generateSigningKeyPair();

  it('verifies a signature made by the required key over the same policy', () => {
    const policy = example();
    const sig = signPolicy(policy, ours.privateKeyPem);
    const version = verifyPolicySignature(policy, JSON.stringify(sig), ours.publicKeyPem);
    assert.equal(version, sig.policyVersion);
  });

  it('survives reformatting: the canonical form is signed, not the bytes', () => {
    const policy = example();
    const sig = signPolicy(policy, ours.privateKeyPem);
    const text = readFileSync(EXAMPLE, 'utf8');
    const reformatted = loadPolicySources([{ file: 'x.yaml', text: `# a comment\n${text}\n\n` }]).policySet!;
    assert.equal(
      verifyPolicySignature(reformatted, JSON.stringify(sig), ours.publicKeyPem),
      sig.policyVersion,
    );
  });

  it('refuses another key, a changed policy, flipped signature bits and garbage, each by its code', () => {
    const policy = example();
    const sig = signPolicy(policy, ours.privateKeyPem);
    assert.equal(
      code(() =>
        verifyPolicySignature(
          policy,
          JSON.stringify(signPolicy(policy, theirs.privateKeyPem)),
          ours.publicKeyPem,
        ),
      ),
      'SIGNATURE_OTHER_KEY',
    );
    const changed: PolicySet = { ...policy, rules: policy.rules.slice(1) };
    assert.equal(
      code(() => verifyPolicySignature(changed, JSON.stringify(sig), ours.publicKeyPem)),
      'SIGNATURE_STALE',
    );
    const bytes = Buffer.from(sig.signature, 'base64');
    bytes[5] ^= 0x01;
    const flipped = { ...sig, signature: bytes.toString('base64') };
    assert.equal(
      code(() => verifyPolicySignature(policy, JSON.stringify(flipped), ours.publicKeyPem)),
      'SIGNATURE_INVALID',
    );
    // A forged document claiming the changed policy's version under our key id still fails the bytes.
    const forged = { ...sig, policyVersion: signPolicy(changed, theirs.privateKeyPem).policyVersion };
    assert.equal(
      code(() => verifyPolicySignature(changed, JSON.stringify(forged), ours.publicKeyPem)),
      'SIGNATURE_INVALID',
    );
    assert.equal(
      code(() => verifyPolicySignature(policy, '{"format":1}', ours.publicKeyPem)),
      'SIGNATURE_MALFORMED',
    );
    assert.equal(
      code(() => verifyPolicySignature(policy, 'not json', ours.publicKeyPem)),
      'SIGNATURE_MALFORMED',
    );
    assert.equal(
      code(() => verifyPolicySignature(policy, JSON.stringify(sig), 'not a key')),
      'BAD_KEY',
    );
  });

  it('finds the signature beside a file or inside a directory, and names a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nicguard-sig-'));
    mkdirSync(join(dir, 'p'));
    assert.equal(signaturePathFor([join(dir, 'p')]), join(dir, 'p', 'policy.sig'));
    assert.equal(signaturePathFor([join(dir, 'a.yaml')]), join(dir, 'a.yaml.sig'));
    const policy = example();
    assert.equal(
      code(() => requireSignedPolicy(policy, [join(dir, 'p')], ours.publicKeyPem)),
      'SIGNATURE_MISSING',
    );
    writeFileSync(join(dir, 'p', 'policy.sig'), JSON.stringify(signPolicy(policy, ours.privateKeyPem)));
    assert.equal(requireSignedPolicy(policy, [join(dir, 'p')], ours.publicKeyPem).length, 64);
  });
});
