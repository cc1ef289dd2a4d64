// Fault class 6: transport. Each way TLS can be wrong, as an operator meets it through the CLI:
// the command fails, with the device-unreachable exit code, and the message names the cause.
// And the keepalive settings that keep an idle stream alive against C-core servers (which close
// connections that ping more often than every 5 minutes, or ping without calls in flight).

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient } from '../../controller/p4runtime/client';
import { channelOptions } from '../../controller/p4runtime/connection';
import { ClientOptionsError } from '../../controller/p4runtime/errors';
import { Softnic, type SoftnicTlsOptions } from '../../controller/softnic/server';
import { makeTestPki, type TestPki } from '../support/certs';
import { ROOT, report, runCli } from './support';

describe('fault: transport', function () {
  this.timeout(120_000);
  let dir: string;
  let pki: TestPki;
  let trials = 0;
  const failures: string[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nicguard-transport-'));
    pki = makeTestPki(dir);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    report({
      fault: '6 transport (TLS negatives, keepalive)',
      trials,
      failures: failures.length,
      figures:
        'wrong CA, expired, name mismatch, no/untrusted/expired client cert, plaintext vs TLS: each named',
    });
  });

  async function withDevice<T>(
    tls: SoftnicTlsOptions | undefined,
    fn: (port: number) => Promise<T>,
  ): Promise<T> {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1, tls });
    try {
      return await fn(nic.port);
    } finally {
      nic.kill();
    }
  }

  const f = (): TestPki['files'] => pki.files;
  const serverTls = (): SoftnicTlsOptions => ({ cert: pki.serverCert, key: pki.serverKey });
  const mutual = (): SoftnicTlsOptions => ({ ...serverTls(), ca: pki.ca, requireClientCert: true });
  const cases: [string, () => SoftnicTlsOptions | undefined, () => string[], RegExp][] = [
    ['wrong CA', serverTls, () => ['--ca', f().wrongCa], /CA|not issued|untrusted/i],
    [
      'expired device certificate',
      () => ({ cert: pki.expiredServerCert, key: pki.expiredServerKey }),
      () => ['--ca', f().ca],
      /expired/i,
    ],
    [
      'name mismatch',
      () => ({ cert: pki.otherHostServerCert, key: pki.otherHostServerKey }),
      () => ['--ca', f().ca],
      /name|host|match/i,
    ],
    ['missing client certificate', mutual, () => ['--ca', f().ca], /client certificate/i],
    [
      'client certificate from another CA',
      mutual,
      () => ['--ca', f().ca, '--cert', f().wrongClientCert, '--key', f().wrongClientKey],
      /client certificate/i,
    ],
    [
      'expired client certificate',
      mutual,
      () => ['--ca', f().ca, '--cert', f().expiredClientCert, '--key', f().expiredClientKey],
      /client certificate|expired/i,
    ],
    ['TLS asked of a plaintext device', () => undefined, () => ['--ca', f().ca], /TLS|plaintext|handshake/i],
  ];

  for (const [name, tls, flags, cause] of cases) {
    it(`names the cause: ${name}`, async () => {
      trials++;
      const r = await withDevice(tls(), (port) =>
        runCli(
          [
            'plan',
            join(ROOT, 'examples', 'support-agent.policy.yaml'),
            '-d',
            `localhost:${port}`,
            '--device-id',
            '1',
            '--profile',
            'softnic',
            ...flags(),
          ],
          { cwd: dir, timeoutMs: 30_000 },
        ),
      );
      if (r.code !== 3 || !cause.test(r.stderr)) failures.push(`${name}: exit ${r.code}: ${r.stderr.trim()}`);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, cause);
    });
  }

  it('keeps C-core servers happy: keepalive at least 5 minutes, no pings without calls', async () => {
    trials++;
    // The settings DeviceClient.connect builds when none are given.
    const base = {
      address: '127.0.0.1:1',
      insecure: true,
      maxUpdatesPerBatch: 256,
      reconnectInitialMs: 100,
      reconnectMaxMs: 10_000,
    };
    const opts = channelOptions(base);
    assert.ok(Number(opts['grpc.keepalive_time_ms']) >= 300_000, JSON.stringify(opts));
    assert.equal(opts['grpc.keepalive_permit_without_calls'], 0);
    assert.throws(() => channelOptions({ ...base, keepaliveTimeMs: 10_000 }), ClientOptionsError);
    await assert.rejects(
      DeviceClient.connect({ address: '127.0.0.1:1', deviceId: 1, insecure: true, keepaliveTimeMs: 1_000 }),
      (err: unknown) => err instanceof ClientOptionsError && /keepalive/i.test(err.message),
    );
  });
});
