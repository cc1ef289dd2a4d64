import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from './config';

const GOOD = `# a device over mutual TLS and one in simulation
policyDir: ./policies
evidence:
  database: state/evidence.db
  origin: example.org/nicguard
devices:
  - name: dpu-a
    address: 10.0.0.5:9559
    deviceId: 7
    electionId: "18446744073709551617"
    profile: bluefield-dpl
    tls: { ca: ca.pem, cert: client.pem, key: client.key }
  - name: sim
    address: 127.0.0.1:9559
    insecure: true
telemetry: { intervalMs: 1000 }
`;

describe('nicguard.yaml', () => {
  it('reads a full file, resolving paths against the file', () => {
    const config = parseConfig(GOOD, '/etc/nicguard/nicguard.yaml');
    assert.equal(config.policyDir, '/etc/nicguard/policies');
    assert.equal(config.evidence.database, '/etc/nicguard/state/evidence.db');
    assert.equal(config.evidence.origin, 'example.org/nicguard');
    assert.equal(config.devices.length, 2);
    const [dpu, sim] = config.devices;
    assert.equal(dpu.profile, 'bluefield-dpl');
    assert.equal(dpu.deviceId, 7n);
    assert.equal(dpu.electionId, 18446744073709551617n);
    assert.equal(dpu.tls?.key, '/etc/nicguard/client.key');
    assert.equal(sim.insecure, true);
    assert.equal(sim.profile, 'bmv2');
    assert.equal(config.telemetry.intervalMs, 1000);
  });

  it('reports every problem with its line, column and field', () => {
    const text = [
      'devices:',
      '  - name: a',
      '    address: nowhere',
      '    profile: tofino',
      '    insecure: true',
      '  - name: a',
      '    address: 127.0.0.1:1',
      'telemetry: { intervalMs: 5 }',
      'colour: blue',
    ].join('\n');
    try {
      parseConfig(text, 'x.yaml');
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const lines = err.message.split('\n');
      assert.ok(
        lines.includes(
          'x.yaml:3:14: devices[0].address: expected host:port, e.g. 127.0.0.1:9559 or [::1]:9559',
        ),
        err.message,
      );
      assert.ok(
        lines.some((l) => l.startsWith('x.yaml:4:14: devices[0].profile: unknown profile "tofino"')),
        err.message,
      );
      assert.ok(
        lines.includes('x.yaml:6:5: devices[1]: say how to reach the device: tls: {ca: …} or insecure: true'),
        err.message,
      );
      assert.ok(lines.includes('x.yaml:6:11: devices[1].name: duplicate device name "a"'), err.message);
      assert.ok(
        lines.includes('x.yaml:8:26: telemetry.intervalMs: expected an integer from 100 to 3600000'),
        err.message,
      );
      assert.ok(
        lines.some((l) => l.startsWith('x.yaml:9:1: colour: unknown setting')),
        err.message,
      );
    }
  });

  it('reports YAML syntax errors with a position', () => {
    assert.throws(() => parseConfig('devices: [\n', 'bad.yaml'), /bad\.yaml:\d+:\d+: \(yaml\)/);
  });

  it('uses defaults without a file and lets the environment override secrets and paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nicguard-config-'));
    const file = join(dir, 'n.yaml');
    writeFileSync(file, 'evidence: { database: e.db }\n');
    const config = loadConfig(file, { NICGUARD_SIGNING_KEY: '/secrets/key.pem' });
    assert.equal(config.evidence.database, join(dir, 'e.db'));
    assert.equal(config.evidence.signingKey, '/secrets/key.pem');
    assert.equal(config.devices[0].profile, 'softnic');
    assert.throws(() => loadConfig(join(dir, 'absent.yaml'), {}), /absent\.yaml:1:1: \(file\): no such file/);
  });
});
