// `nicguard scenario run` as a user runs it: a separate process, exit codes, what it prints, the
// JUnit file it writes, and a remote target reached only over P4Runtime.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Softnic } from '../controller/softnic/server';
import { SoftnicDataplane } from '../controller/softnic/dataplane';
import { parseXml } from './support/xml';

const REPO = path.join(__dirname, '..', '..');
const CLI = path.join(REPO, 'dist', 'cli', 'nicguard.js');
const EXAMPLES = fs
  .readdirSync(path.join(REPO, 'examples'))
  .filter((f) => f.endsWith('.scenario.yaml'))
  .map((f) => path.join('examples', f));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function nicguard(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

describe('nicguard scenario run (CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scenario-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes every example scenario and exits 0', async () => {
    assert.ok(EXAMPLES.length >= 4, `examples: ${EXAMPLES.join(', ')}`);
    const junit = path.join(dir, 'examples.xml');
    const r = await nicguard(['scenario', 'run', ...EXAMPLES, '--junit', junit]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /FAIL/);
    assert.match(r.stdout, /4 scenario\(s\), \d+ step\(s\): \d+ passed, 0 failed/);
    const root = parseXml(fs.readFileSync(junit, 'utf8'));
    const suites = root.children.filter((c) => c.name === 'testsuite');
    assert.deepEqual(suites.map((s) => s.attrs.name).sort(), [...EXAMPLES].sort());
    assert.equal(root.attrs.failures, '0');
    assert.ok(
      suites.every((s) => Number(s.attrs.tests) === s.children.filter((c) => c.name === 'testcase').length),
    );
  });

  it('exits 1 when a step fails, naming the step and why, in text, JSON and JUnit', async () => {
    const file = path.join(dir, 'wrong.scenario.yaml');
    fs.writeFileSync(
      file,
      [
        `policy: ${path.join(REPO, 'examples', 'support-agent.policy.yaml')}`,
        'topology: { hosts: [{ name: pastebin, ipv4: 198.51.100.9 }] }',
        'steps:',
        '  - advance: 1s',
        '  - name: ssh out to the pastebin',
        '    send: { from: support-agent, to: pastebin, port: 22, bytes: 1KiB }',
        '    expect: allowed',
      ].join('\n'),
    );
    const junit = path.join(dir, 'wrong.xml');
    const text = await nicguard(['scenario', 'run', file, '--junit', junit]);
    assert.equal(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stdout, /^FAIL {2}.*wrong\.scenario\.yaml/m);
    assert.match(text.stdout, /^ {2}ok {4}step 1 \(line 4\): advance 1s$/m);
    assert.match(text.stdout, /^ {2}FAIL {2}step 2 \(line 5\): ssh out to the pastebin$/m);
    assert.match(
      text.stdout,
      /expected allowed .*first mismatching packet #1: dropped, reason NO_MATCH, no rule/,
    );

    const json = await nicguard(['--json', 'scenario', 'run', file]);
    assert.equal(json.code, 1);
    const doc = JSON.parse(json.stdout) as {
      ok: boolean;
      scenarios: { steps: { step: number; name: string; ok: boolean; problems: string[] }[] }[];
    };
    assert.equal(doc.ok, false);
    const failed = doc.scenarios[0].steps.filter((s) => !s.ok);
    assert.deepEqual(
      failed.map((s) => [s.step, s.name]),
      [[2, 'ssh out to the pastebin']],
    );
    assert.match(failed[0].problems[0], /^expected allowed/);

    const root = parseXml(fs.readFileSync(junit, 'utf8'));
    const cases = root.children[0].children.filter((c) => c.name === 'testcase');
    const failure = cases[1].children.find((c) => c.name === 'failure');
    assert.equal(cases[1].attrs.name, 'step 2: ssh out to the pastebin');
    assert.ok(failure);
    assert.match(failure.attrs.message, /first mismatching packet #1: dropped, reason NO_MATCH/);
  });

  it('exits 2 for a malformed file, with file:line:column of every problem and without running anything', async () => {
    const bad = path.join(dir, 'bad.scenario.yaml');
    fs.writeFileSync(
      bad,
      [
        `policy: ${path.join(REPO, 'examples', 'support-agent.policy.yaml')}`,
        'steps:',
        '  - send: { from: support-agent, to: 10.0.0.1, port: 22, bytes: lots }',
        '    expect: allowed',
        '  - advance: later',
      ].join('\n'),
    );
    const good = path.join('examples', 'support-agent.scenario.yaml');
    const r = await nicguard(['scenario', 'run', good, bad]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, '', 'no scenario ran');
    assert.ok(
      r.stderr.includes(`${bad}:3:65: error[VALUE] steps[0].send.bytes: "lots" is not a byte size`),
      r.stderr,
    );
    assert.ok(
      r.stderr.includes(`${bad}:5:14: error[VALUE] steps[1].advance: "later" is not a duration`),
      r.stderr,
    );

    const yaml = path.join(dir, 'broken.scenario.yaml');
    fs.writeFileSync(yaml, 'policy: x.yaml\nsteps:\n  - advance: 1s\n   bad indent: [\n');
    const y = await nicguard(['scenario', 'run', yaml]);
    assert.equal(y.code, 2);
    assert.match(
      y.stderr,
      new RegExp(`${yaml.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: error\\[YAML_SYNTAX\\]`),
    );
  });

  it('runs against a softnic in another process through P4Runtime alone (--target softnic-remote)', async () => {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 7 });
    const dataplane = SoftnicDataplane.attachTo(nic);
    try {
      const r = await nicguard([
        'scenario',
        'run',
        path.join('examples', 'no-export.scenario.yaml'),
        '--target',
        'softnic-remote',
        '--address',
        `127.0.0.1:${nic.port}`,
        '--device-id',
        '7',
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /report-mode PacketOut probes/);
      assert.match(r.stdout, /180 dropped EXFIL/);
    } finally {
      dataplane.detach();
      await nic.stop();
    }
  });

  it('exits 3 when the remote target cannot be reached, and 2 for a remote target without an address', async () => {
    const unreachable = await nicguard([
      'scenario',
      'run',
      path.join('examples', 'ipv6-agent.scenario.yaml'),
      '--target',
      'softnic-remote',
      '--address',
      '127.0.0.1:1',
    ]);
    assert.equal(unreachable.code, 3, unreachable.stdout + unreachable.stderr);
    assert.match(unreachable.stdout, /could not start \(device\)/);
    const noAddress = await nicguard(['scenario', 'run', EXAMPLES[0], '--target', 'softnic-remote']);
    assert.equal(noAddress.code, 2);
    assert.match(noAddress.stderr, /needs --address/);
  });
});
