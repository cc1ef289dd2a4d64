// Fault class 3: contention and authority. Another controller with a higher election id takes the
// device from `serve`, which must stop writing and say so; one with a lower id cannot write and is
// told why. And a policy that is not signed by the required key never reaches a device, from
// `apply` or from `serve`, and the refusal is evidence.

import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceLog, generateSigningKeyPair } from '../../controller/evidence';
import { publicKeyPath, writeSigningKeyPair } from '../../controller/ops/evidence';
import { DeviceClient } from '../../controller/p4runtime/client';
import { NotPrimaryError } from '../../controller/p4runtime/errors';
import { loadNicguardPipeline } from '../../controller/pipeline/artifacts';
import { TABLES } from '../../controller/pipeline/contract';
import { Softnic } from '../../controller/softnic/server';
import { CliDaemon, ROOT, report, runCli, until } from './support';

const EXAMPLE = join(ROOT, 'examples', 'support-agent.policy.yaml');
const EXTRA_RULE = [
  '  - name: status-page',
  '    agents: [support-agent]',
  '    toCIDR: [198.51.100.7/32]',
  '    toPorts:',
  '      - ports: [{ port: 443, protocol: TCP }]',
  '',
].join('\n');

function setup(prefix: string, port: number): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'policies'));
  copyFileSync(EXAMPLE, join(dir, 'policies', 'support.policy.yaml'));
  writeSigningKeyPair(join(dir, 'keys', 'signing.pem'));
  writeFileSync(
    join(dir, 'nicguard.yaml'),
    [
      'policyDir: policies',
      'evidence: { database: evidence.db, signingKey: keys/signing.pem, origin: test.nicguard/authority }',
      'devices:',
      `  - { name: sim, address: 127.0.0.1:${port}, deviceId: 1, electionId: 5, profile: softnic, insecure: true }`,
      'telemetry: { intervalMs: 500 }',
      'metrics: { listen: 127.0.0.1:0 }',
    ].join('\n'),
  );
  return dir;
}

function notes(dir: string): { error: string }[] {
  const log = EvidenceLog.open(join(dir, 'evidence.db'));
  try {
    return log
      .recordsByKind('device_event', 0, Date.now() + 1, 1_000_000)
      .map((r) => r.body as { event: string; detail: { error: string } })
      .filter((b) => b.event === 'note')
      .map((b) => b.detail);
  } finally {
    log.close();
  }
}

describe('fault: contention and authority', function () {
  this.timeout(90_000);
  let nic: Softnic;
  const acl = (): number => nic.state?.table(TABLES.aclV4.name).entries.size ?? 0;
  let trials = 0;
  const failures: string[] = [];

  before(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
  });
  after(async () => {
    await nic.stop();
    report({
      fault: '3 contention, authority, signatures',
      trials,
      failures: failures.length,
      figures:
        'takeover → serve demoted and silent; lower id refused; unsigned/other-key/stale refused (exit 2)',
    });
  });

  it('serve stops writing when a higher election id takes over, and a lower id cannot write', async () => {
    const dir = setup('nicguard-authority-', nic.port);
    const serve = new CliDaemon(
      ['serve', '--config', join(dir, 'nicguard.yaml'), '--liveness-ms', '1000'],
      dir,
    );
    let usurper: DeviceClient | undefined;
    try {
      await until('serve reconciled', () => acl() === 4 && serve.events('device.reconciled')[0], 30_000);
      trials++;
      usurper = await DeviceClient.connect({
        address: `127.0.0.1:${nic.port}`,
        deviceId: 1,
        electionId: 10,
        profile: 'softnic',
        insecure: true,
        p4info: loadNicguardPipeline().p4info,
      });
      assert.equal(usurper.isPrimary, true);
      await until('serve says it was demoted', () => serve.events('device.demoted')[0]);
      // A policy change now must not reach the device: serve is a backup.
      const file = join(dir, 'policies', 'support.policy.yaml');
      writeFileSync(file, readFileSync(file, 'utf8') + EXTRA_RULE);
      await until('serve skipping the reconcile', () => serve.events('device.not_primary')[0], 20_000);
      if (acl() !== 4) failures.push(`a demoted serve wrote: ${acl()} entries`);

      // A lower election id than serve's, with a change to write: refused with a clear error.
      trials++;
      const low = await runCli(
        [
          'apply',
          join(dir, 'policies'),
          '--no-evidence',
          '-d',
          `127.0.0.1:${nic.port}`,
          '--insecure',
          '--profile',
          'softnic',
          '--device-id',
          '1',
          '--election-id',
          '2',
        ],
        { cwd: dir },
      );
      assert.notEqual(low.code, 0);
      assert.match(low.stderr, /NOT_PRIMARY|not primary|backup/i);
      if (acl() !== 4) failures.push(`a lower election id wrote: ${acl()} entries`);

      // The higher-id controller leaves: serve is primary again, and brings the device to the policy.
      trials++;
      usurper.close();
      usurper = undefined;
      await until('the pending policy applied once serve is primary again', () => acl() === 5, 20_000);
    } finally {
      usurper?.close();
      await serve.stop();
    }
  });

  it('a backup DeviceClient refuses to write with NotPrimaryError', async () => {
    trials++;
    const p4info = loadNicguardPipeline().p4info;
    const connect = (electionId: number): Promise<DeviceClient> =>
      DeviceClient.connect({
        address: `127.0.0.1:${nic.port}`,
        deviceId: 1,
        electionId,
        profile: 'softnic',
        insecure: true,
        p4info,
      });
    const high = await connect(20);
    const low = await connect(3);
    try {
      assert.equal(low.isPrimary, false);
      await assert.rejects(
        low.write([{ type: 'DELETE', entry: (await high.readTableEntries())[0].entry }]),
        (err: unknown) =>
          err instanceof NotPrimaryError && err.state === 'backup' && /election id 3/.test(err.message),
      );
    } finally {
      low.close();
      high.close();
    }
  });

  it('apply refuses unsigned, other-key and stale policy (exit 2) and records the refusal', async () => {
    const dir = setup('nicguard-signed-apply-', nic.port);
    const policyDir = join(dir, 'policies');
    const pub = publicKeyPath(join(dir, 'keys', 'signing.pem'));
    const other = generateSigningKeyPair();
    writeFileSync(join(dir, 'other.pem'), other.privateKeyPem);
    const apply = (): ReturnType<typeof runCli> =>
      runCli(
        [
          'apply',
          policyDir,
          '--config',
          join(dir, 'nicguard.yaml'),
          '--require-signature',
          pub,
          '--device-id',
          '1',
          '--election-id',
          '30',
        ],
        { cwd: dir },
      );
    const cases: [string, () => Promise<void>, RegExp][] = [
      ['unsigned', async () => undefined, /SIGNATURE_MISSING/],
      [
        'signed by another key',
        async () => {
          const r = await runCli(['policy', 'sign', policyDir, '--key', join(dir, 'other.pem')], {
            cwd: dir,
          });
          assert.equal(r.code, 0, r.stderr);
        },
        /SIGNATURE_OTHER_KEY/,
      ],
      [
        'changed after signing',
        async () => {
          const r = await runCli(['policy', 'sign', policyDir, '--key', join(dir, 'keys', 'signing.pem')], {
            cwd: dir,
          });
          assert.equal(r.code, 0, r.stderr);
          const file = join(policyDir, 'support.policy.yaml');
          writeFileSync(file, readFileSync(file, 'utf8') + EXTRA_RULE);
        },
        /SIGNATURE_STALE/,
      ],
    ];
    const before = acl();
    for (const [name, prepare, expected] of cases) {
      trials++;
      await prepare();
      const r = await apply();
      if (r.code !== 2) failures.push(`${name}: exit ${r.code}`);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, expected);
      assert.equal(acl(), before, `${name}: nothing written`);
    }
    const recorded = notes(dir);
    assert.equal(recorded.length, cases.length, JSON.stringify(recorded));
    cases.forEach(([, , expected], i) => assert.match(recorded[i].error, expected));

    trials++;
    const signed = await runCli(['policy', 'sign', policyDir, '--key', join(dir, 'keys', 'signing.pem')], {
      cwd: dir,
    });
    assert.equal(signed.code, 0, signed.stderr);
    const ok = await apply();
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(acl(), 5);
  });

  it('serve refuses an unsigned policy directory and records it, then takes the signed one', async () => {
    trials++;
    const dir = setup('nicguard-signed-serve-', nic.port);
    // Start from an empty device so that any write would show.
    const cleaner = await DeviceClient.connect({
      address: `127.0.0.1:${nic.port}`,
      deviceId: 1,
      electionId: 40,
      profile: 'softnic',
      insecure: true,
      p4info: loadNicguardPipeline().p4info,
    });
    const all = await cleaner.readTableEntries();
    await cleaner.write(all.map((r) => ({ type: 'DELETE' as const, entry: r.entry })));
    cleaner.close();
    assert.equal(acl(), 0);
    const pub = publicKeyPath(join(dir, 'keys', 'signing.pem'));
    const serve = new CliDaemon(
      ['serve', '--config', join(dir, 'nicguard.yaml'), '--require-signature', pub, '--liveness-ms', '1000'],
      dir,
    );
    try {
      const rejected = await until('policy.rejected', () => serve.events('policy.rejected')[0], 20_000);
      assert.equal(rejected.reason, 'signature');
      await until('connected', () => serve.events('device.connected')[0], 20_000);
      assert.equal(acl(), 0, 'nothing pushed without a valid signature');
      await until('the refusal in the evidence log', () => notes(dir).length > 0, 10_000);
      const sign = await runCli(
        ['policy', 'sign', join(dir, 'policies'), '--key', join(dir, 'keys', 'signing.pem')],
        { cwd: dir },
      );
      assert.equal(sign.code, 0, sign.stderr);
      // The signature file is not a policy file; touching a policy file makes serve look again.
      const file = join(dir, 'policies', 'support.policy.yaml');
      writeFileSync(file, readFileSync(file, 'utf8'));
      await until('the signed policy applied', () => acl() === 4, 20_000);
      unlinkSync(join(dir, 'policies', 'policy.sig'));
    } finally {
      await serve.stop();
    }
  });
});
