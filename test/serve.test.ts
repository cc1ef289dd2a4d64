// `nicguard serve` as a user runs it: a child process with a configuration, a policy directory and a
// device. The test changes a policy file and sees the change on the device and in the evidence log,
// kills the device and restarts it empty and sees the state restored, and scrapes /metrics as
// Prometheus text format with a parser that is not ours.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceLog } from '../controller/evidence';
import { publicKeyPath, writeSigningKeyPair } from '../controller/ops/evidence';
import { TABLES } from '../controller/pipeline/contract';
import { SoftnicDataplane } from '../controller/softnic/dataplane';
import { Softnic } from '../controller/softnic/server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (
  text: string,
) => { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string }[] }[];

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'nicguard.js');

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function aclCount(nic: Softnic): number {
  return nic.state?.table(TABLES.aclV4.name).entries.size ?? 0;
}

describe('nicguard serve', function () {
  this.timeout(60_000);
  let dir: string;
  let nic: Softnic;
  let dataplane: SoftnicDataplane & { detach(): void };
  let port: number;
  let child: ChildProcess;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nicguard-serve-'));
    mkdirSync(join(dir, 'policies'));
    copyFileSync(
      join(ROOT, 'examples', 'support-agent.policy.yaml'),
      join(dir, 'policies', 'support.policy.yaml'),
    );
    writeSigningKeyPair(join(dir, 'keys', 'signing.pem'));
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    dataplane = SoftnicDataplane.attachTo(nic);
    port = nic.port;
    writeFileSync(
      join(dir, 'nicguard.yaml'),
      [
        'policyDir: policies',
        'evidence: { database: evidence.db, signingKey: keys/signing.pem, origin: test.nicguard/serve }',
        'devices:',
        `  - { name: sim, address: 127.0.0.1:${port}, deviceId: 1, electionId: 5, profile: softnic, insecure: true }`,
        'telemetry: { intervalMs: 200 }',
        'metrics: { listen: 127.0.0.1:0 }',
      ].join('\n'),
    );
    child = spawn(
      process.execPath,
      [CLI, 'serve', '--config', join(dir, 'nicguard.yaml'), '--liveness-ms', '500'],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let buffer = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ raw: line });
        }
      }
    });
  });

  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    dataplane?.detach();
    await nic?.stop();
  });

  it('reconciles the device to the policy directory on start', async () => {
    await until('the example entries on the device', () => aclCount(nic) === 4);
    await until('a reconcile log line', () => logs.find((l) => l.event === 'device.reconciled'));
  });

  it('applies a changed policy file and records it as evidence', async () => {
    const file = join(dir, 'policies', 'support.policy.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      text +
        [
          '  - name: status-page',
          '    agents: [support-agent]',
          '    toCIDR: [198.51.100.7/32]',
          '    toPorts:',
          '      - ports: [{ port: 443, protocol: TCP }]',
          '',
        ].join('\n'),
    );
    await until('the new rule on the device', () => aclCount(nic) === 5);
    await until('two policy versions in the log', () => {
      const log = EvidenceLog.open(join(dir, 'evidence.db'));
      try {
        return log.recordsByKind('policy_version', 0, Date.now() + 1).length === 2;
      } finally {
        log.close();
      }
    });
  });

  it('refuses a policy file that does not load, keeping the policy in force', async () => {
    writeFileSync(join(dir, 'policies', 'broken.policy.yaml'), 'agents: [ {name: x, port: "one"} ]\n');
    await until('a policy.rejected log line', () => logs.find((l) => l.event === 'policy.rejected'));
    assert.equal(aclCount(nic), 5, 'nothing half-applied');
  });

  it('restores the device after it dies and comes back empty', async () => {
    nic.kill();
    dataplane.detach();
    await until('the loss noticed', () => logs.find((l) => l.event === 'device.lost'));
    nic = await Softnic.start({ address: `127.0.0.1:${port}`, deviceId: 1 });
    dataplane = SoftnicDataplane.attachTo(nic);
    assert.equal(aclCount(nic), 0, 'the new device starts empty');
    await until('the entries restored', () => aclCount(nic) === 5, 30_000);
    const log = EvidenceLog.open(join(dir, 'evidence.db'));
    try {
      const events = log
        .recordsByKind('device_event', 0, Date.now() + 1)
        .map((r) => (r.body as { event: string }).event);
      assert.ok(events.includes('lost'), events.join(','));
      assert.ok(events.filter((e) => e === 'pipeline_pushed').length >= 2, events.join(','));
    } finally {
      log.close();
    }
  });

  it('serves /metrics in Prometheus text format and /healthz', async () => {
    const started = await until('serve.started', () => logs.find((l) => l.event === 'serve.started'));
    const metricsPort = started.metricsPort as number;
    await until('a collection after the restart', async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const families = parsePrometheusTextFormat(text);
      const up = families.find((f) => f.name === 'nicguard_device_up');
      return up?.metrics.some((m) => m.labels?.device === 'sim' && m.value === '1') ? families : undefined;
    });
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const families = parsePrometheusTextFormat(text);
    for (const name of [
      'nicguard_rule_bytes',
      'nicguard_device_primary',
      'nicguard_collect_missed_intervals',
      'nicguard_process_resident_memory_bytes',
    ]) {
      assert.ok(
        families.some((f) => f.name === name),
        `${name} is exported`,
      );
    }
    const health = (await (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).json()) as {
      devices: { name: string }[];
    };
    assert.equal(health.devices[0].name, 'sim');
  });

  it('stops cleanly on SIGTERM with the evidence log verifying', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(logs.some((l) => l.event === 'serve.stopped'));
    const log = EvidenceLog.open(join(dir, 'evidence.db'));
    try {
      const result = log.verify({
        publicKey: readFileSync(publicKeyPath(join(dir, 'keys', 'signing.pem')), 'utf8'),
      });
      assert.equal(result.ok, true, JSON.stringify(result));
    } finally {
      log.close();
    }
  });
});
