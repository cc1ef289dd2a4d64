// The command line as people and scripts use it: the built binary run as a subprocess, for every
// command its human output, its --json shape, and a bad input with its exit code and message.
// (evidence and scenario commands have their own files; serve has test/serve.test.ts.)

import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceLog } from '../controller/evidence';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'nicguard.js');
const EXAMPLE = join(ROOT, 'examples', 'support-agent.policy.yaml');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function nicguard(
  args: string[],
  options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {},
): Run {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function json<T = Record<string, unknown>>(run: Run): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
}

describe('nicguard CLI', function () {
  this.timeout(60_000);

  it('prints the command tree and its version', () => {
    const help = nicguard(['--help']);
    assert.equal(help.status, 0);
    for (const command of [
      'init',
      'policy',
      'plan',
      'apply',
      'device',
      'evidence',
      'softnic',
      'serve',
      'telemetry',
      'assess',
      'scenario',
      'demo',
    ]) {
      assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'), `${command} is listed`);
    }
    assert.match(nicguard(['--version']).stdout, /^\d+\.\d+\.\d+\n$/);
    const unknown = nicguard(['frobnicate']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  });

  describe('init', () => {
    it('writes a config, a key pair and a policy that validate; refuses to overwrite', () => {
      const dir = mkdtempSync(join(tmpdir(), 'nicguard-init-'));
      const run = nicguard(['--json', 'init', '--dir', dir]);
      assert.equal(run.status, 0, run.stderr);
      const out = json<{ config: string; publicKey: string; keyCreated: boolean }>(run);
      assert.equal(out.keyCreated, true);
      assert.ok(existsSync(out.config) && existsSync(out.publicKey));
      assert.equal(nicguard(['policy', 'validate'], { cwd: dir }).status, 0);
      const again = nicguard(['init', '--dir', dir]);
      assert.equal(again.status, 2);
      assert.match(again.stderr, /already exist[\s\S]*--force/);
    });
  });

  describe('policy', () => {
    it('validates and compiles the example, in words and in JSON', () => {
      const validate = nicguard(['policy', 'validate', EXAMPLE]);
      assert.equal(validate.status, 0);
      assert.match(validate.stdout, /policy is valid: 1 agent\(s\), 3 egress rule\(s\)/);
      const compiled = json<{ version: string; entries: unknown[] }>(
        nicguard(['--json', 'policy', 'compile', EXAMPLE]),
      );
      assert.match(compiled.version, /^[0-9a-f]{64}$/);
      assert.equal(compiled.entries.length, 10);
      assert.match(nicguard(['policy', 'compile', EXAMPLE]).stdout, /support-agent\s+llm\s+3/);
    });

    it('reports every error with file:line:column and exits 2', () => {
      const dir = mkdtempSync(join(tmpdir(), 'nicguard-bad-policy-'));
      const file = join(dir, 'bad.policy.yaml');
      writeFileSync(
        file,
        [
          'apiVersion: nicguard/v1',
          'uplink: { port: 0 }',
          'agents:',
          '  - { name: a, port: 1, ipv4: [127.1] }',
          '',
        ].join('\n'),
      );
      const run = nicguard(['policy', 'validate', file]);
      assert.equal(run.status, 2);
      assert.match(
        run.stderr,
        new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: error\\[\\w+\\]`),
      );
      const asJson = json<{ error: { exitCode: number; details: { diagnostics: { line: number }[] } } }>(
        nicguard(['--json', 'policy', 'validate', file]),
      );
      assert.equal(asJson.error.exitCode, 2);
      assert.ok(asJson.error.details.diagnostics.some((d) => d.line === 4));
      const profile = nicguard(['policy', 'compile', EXAMPLE, '--profile', 'tofino']);
      assert.equal(profile.status, 2);
      assert.match(profile.stderr, /unknown target profile "tofino"/);
    });
  });

  describe('assess', () => {
    it('scores answers given by flag, in words and in JSON; rejects a bad answer', () => {
      const human = nicguard(['assess', '--answers', 'c,b,c,a,b,c']);
      assert.equal(human.status, 0);
      assert.match(human.stdout, /Readiness: 8\/12 — developing/);
      const result = json<{ score: number; items: { id: string; recommendation?: string }[] }>(
        nicguard(['--json', 'assess', '--answers', '2,2,2,2,2,2']),
      );
      assert.equal(result.score, 12);
      assert.ok(result.items.every((i) => !i.recommendation));
      const bad = nicguard(['assess', '--answers', 'c,b']);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /expected 6 answers/);
      const noTty = nicguard(['assess']);
      assert.equal(noTty.status, 2);
      assert.match(noTty.stderr, /--answers/);
    });
  });

  describe('against a running softnic', () => {
    let softnic: ChildProcess;
    let address: string;
    let dir: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'nicguard-cli-'));
      softnic = spawn(process.execPath, [CLI, 'softnic', '--listen', '127.0.0.1:0', '--device-id', '1'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      address = await new Promise<string>((resolve, reject) => {
        let text = '';
        softnic.stderr!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /P4Runtime on (\S+)/.exec(text);
          if (match) resolve(match[1]);
        });
        softnic.once('exit', (code) => reject(new Error(`softnic exited ${code}: ${text}`)));
      });
    });

    after(() => {
      softnic?.kill('SIGTERM');
    });

    const device = (): string[] => ['-d', address, '--insecure', '--profile', 'softnic'];

    it('plan shows the change, apply makes it and records it, a second plan is empty', () => {
      const plan = nicguard(['plan', EXAMPLE, ...device()]);
      assert.equal(plan.status, 0, plan.stderr);
      assert.match(plan.stdout, /10 to add, 0 to change, 0 to remove/);
      const env = { NICGUARD_EVIDENCE_DB: join(dir, 'e.db'), NICGUARD_SIGNING_KEY: join(dir, 'none.pem') };
      const apply = json<{ ok: boolean; summary: { insert: number }; policyVersion: string }>(
        nicguard(['--json', 'apply', EXAMPLE, ...device(), '--author', 'tester'], { env }),
      );
      assert.equal(apply.ok, true);
      assert.equal(apply.summary.insert, 10);
      const log = EvidenceLog.open(join(dir, 'e.db'));
      try {
        const kinds = log
          .recordsByKind('push', 0, Date.now() + 1)
          .map((r) => r.body as { outcome: string; policyVersion: string });
        assert.deepEqual(
          kinds.map((k) => [k.outcome, k.policyVersion]),
          [['ok', apply.policyVersion]],
        );
      } finally {
        log.close();
      }
      const again = json<{ summary: { insert: number; modify: number; delete: number } }>(
        nicguard(['--json', 'plan', EXAMPLE, ...device()]),
      );
      assert.deepEqual([again.summary.insert, again.summary.modify, again.summary.delete], [0, 0, 0]);
    });

    it('device status, pipeline and entries describe the device', () => {
      const status = json<{ primary: boolean; entries: Record<string, number> }>(
        nicguard(['--json', 'device', 'status', ...device()]),
      );
      assert.equal(status.primary, true);
      assert.equal(status.entries['NicguardIngress.acl_v4'], 4);
      const pipeline = json<{ matches: boolean }>(nicguard(['--json', 'device', 'pipeline', ...device()]));
      assert.equal(pipeline.matches, true);
      const entries = nicguard(['device', 'entries', ...device(), '--table', 'acl_v4']);
      assert.equal(entries.status, 0);
      assert.match(entries.stdout, /^4 entries/);
      assert.match(entries.stdout, /rule llm/);
    });

    it('telemetry collect appends samples for rules that moved', () => {
      const env = { NICGUARD_EVIDENCE_DB: join(dir, 't.db'), NICGUARD_SIGNING_KEY: join(dir, 'none.pem') };
      const run = json<{ samples: number; rules: unknown[] }>(
        nicguard(['--json', 'telemetry', 'collect', EXAMPLE, ...device()], { env }),
      );
      assert.equal(run.samples, 0, 'no traffic yet, nothing moved');
      assert.ok(Array.isArray(run.rules));
    });

    it('assess --live answers from the policy, the device and the evidence log', () => {
      const config = join(dir, 'live.yaml');
      writeFileSync(
        config,
        [
          `policyDir: ${join(ROOT, 'examples')}/demo`,
          `evidence: { database: ${join(dir, 'e.db')}, signingKey: ${join(dir, 'none.pem')} }`,
          'devices:',
          `  - { name: sim, address: ${address}, deviceId: 1, profile: softnic, insecure: true }`,
        ].join('\n'),
      );
      const run = nicguard(['--json', 'assess', '--live', '--config', config]);
      assert.equal(run.status, 0, run.stderr);
      const result = json<{
        facts: { agents: number; agentsBound: number; devicesWithTls: number; evidenceRecords: number };
        items: { id: string; basis?: string }[];
      }>(run);
      assert.equal(result.facts.agents, 3);
      assert.equal(
        result.facts.agentsBound,
        1,
        'the device holds the support-agent example: one of the three demo agents is bound',
      );
      assert.equal(result.facts.devicesWithTls, 0);
      assert.ok(result.facts.evidenceRecords > 0);
      assert.ok(
        result.items.every((i) => i.basis),
        'every live answer says what it was based on',
      );
    });

    it('an unreachable device exits 3 and says what to check', () => {
      const run = nicguard(['device', 'status', '-d', '127.0.0.1:1', '--insecure']);
      assert.equal(run.status, 3);
      assert.match(run.stderr, /cannot reach device 127\.0\.0\.1:1[\s\S]*check that the device/);
      const noTransport = nicguard(['device', 'status', '-d', '127.0.0.1:1']);
      assert.equal(noTransport.status, 2);
      assert.match(noTransport.stderr, /--ca <pem> for TLS, or --insecure/);
      const unknownDevice = nicguard(['device', 'status', '-d', 'nosuch']);
      assert.equal(unknownDevice.status, 2);
      assert.match(unknownDevice.stderr, /no device named "nosuch"/);
    });
  });

  describe('softnic', () => {
    it('refuses a bad device id and a half TLS configuration', () => {
      const id = nicguard(['softnic', '--device-id', '0']);
      assert.equal(id.status, 2);
      assert.match(id.stderr, /--device-id must be a positive integer/);
      const tls = nicguard(['softnic', '--tls-cert', 'x.pem']);
      assert.equal(tls.status, 2);
      assert.match(tls.stderr, /--tls-cert and --tls-key go together/);
    });
  });

  describe('demo', () => {
    it('tells the story with measured numbers, writes a verified log and a report', () => {
      const out = mkdtempSync(join(tmpdir(), 'nicguard-demo-'));
      const run = nicguard(['demo', '--out', out]);
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /dropped by the quota of 50 MiB per hour/);
      assert.match(run.stdout, /packets dropped by the exfiltration guard/);
      assert.match(run.stdout, /dropped \(SPOOFED\)/);
      assert.match(run.stdout, /every leaf, node and checkpoint checks out/);
      assert.ok(readFileSync(join(out, 'report.html'), 'utf8').includes('<svg'));
      const bad = nicguard(['demo', '--out', out, '--policy', join(out, 'nope')]);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /no policy directory/);
    });

    it('gives the same story as JSON', () => {
      const out = mkdtempSync(join(tmpdir(), 'nicguard-demo-json-'));
      const result = json<{
        ok: boolean;
        steps: { title: string; facts: Record<string, unknown> }[];
        reportPath: string;
      }>(nicguard(['--json', 'demo', '--out', out]));
      assert.equal(result.ok, true);
      assert.ok(result.steps.length >= 10);
      const quota = result.steps.find((s) => /quota bites/.test(s.title))!;
      assert.ok((quota.facts.packetsDropped as number) > 0);
      assert.ok((quota.facts.bytesAllowed as number) <= 50 * 1024 * 1024);
    });
  });
});
