// The scenario runner against the built-in target: expectations that do not hold are failures with
// messages that say what was expected and what happened; the report-mode probe target, which uses
// nothing but P4Runtime, reaches the same verdicts as in-process injection; JUnit XML reads back.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROFILES } from '../controller/pipeline/profiles';
import { junitXml } from '../controller/scenario/junit';
import { prepareScenario, type PreparedScenario } from '../controller/scenario/prepare';
import { runScenario, startInProcessDevice, type ScenarioResult } from '../controller/scenario/runner';
import { parseXml, type XmlElement } from './support/xml';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

function prepare(file: string): PreparedScenario {
  const r = prepareScenario(file, PROFILES.softnic);
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.format()).join('\n'));
  return r.prepared;
}

describe('scenario runner', function () {
  this.timeout(60_000);
  let dir: string;
  const write = (name: string, lines: string[]): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };
  const SUPPORT = [
    `policy: ${path.join(EXAMPLES, 'support-agent.policy.yaml')}`,
    'topology:',
    '  hosts:',
    '    - { name: llm, ipv4: 203.0.113.10 }',
    '    - { name: elsewhere, ipv4: 198.51.100.9 }',
    'steps:',
  ];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scenario-runner-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fails a step whose traffic does not get the expected verdict, and says how', async () => {
    const file = write('wrong.scenario.yaml', [
      ...SUPPORT,
      '  - name: ssh is surely fine',
      '    send: { from: support-agent, to: elsewhere, port: 22, bytes: 3000 }',
      '    expect: allowed',
      '  - name: the llm call is decided by the dns rule',
      '    send: { from: support-agent, to: llm, port: 443, bytes: 100 }',
      '    expect: allowed',
      '    rule: internal-dns',
      '  - name: the quota bites at once',
      '    send: { from: support-agent, to: llm, port: 443, bytes: 10KiB }',
      '    expect: quota-dropped',
      "    forwardedBytes: '~1MiB'",
      "  - expect-counter: { rule: llm, bytes: '>= 1GiB', packets: '< 2' }",
      '  - expect-counter: { drops: NO_MATCH, packets: 2 }',
    ]);
    const result = await runScenario(prepare(file), () => startInProcessDevice());
    assert.equal(result.ok, false);
    assert.equal(result.setupError, undefined);
    const [ssh, rule, quota, counter, drops] = result.steps;

    assert.equal(ssh.ok, false);
    assert.equal(ssh.summary, '3 packets: 0 forwarded (0 B), 3 dropped NO_MATCH');
    assert.deepEqual(ssh.problems, [
      'expected allowed (every packet forwarded, none under audit mode); first mismatching packet #1: dropped, reason NO_MATCH, no rule',
    ]);

    assert.equal(rule.ok, false);
    assert.deepEqual(rule.problems, [
      'expected allowed (every packet forwarded, none under audit mode) decided by rule internal-dns; first mismatching packet #1: forwarded to port 0, rule llm',
    ]);

    assert.equal(quota.ok, false);
    assert.equal(quota.problems.length, 2);
    assert.match(quota.problems[0], /^expected quota-dropped .*, but no packet was dropped by the quota$/);
    assert.match(quota.problems[1], /^expected forwardedBytes ~1MiB, got 10[0-9]{3} B \(10\.[0-9]+ KiB\)$/);

    assert.equal(counter.ok, false);
    assert.equal(counter.problems.length, 2);
    assert.match(counter.problems[0], /^expected rule llm packets < 2, got 9$/);
    assert.match(counter.problems[1], /^expected rule llm bytes >= 1GiB, got 10[0-9]{3} B/);

    assert.equal(drops.ok, false, 'three NO_MATCH drops happened, not two');
    assert.deepEqual(drops.problems, ['expected drops NO_MATCH packets 2, got 3']);
  });

  it('passes the same kinds of steps when the expectations are right', async () => {
    const file = write('right.scenario.yaml', [
      ...SUPPORT,
      '  - send: { from: support-agent, to: elsewhere, port: 22, bytes: 3000 }',
      '    expect: denied',
      '    reason: NO_MATCH',
      '  - send: { from: support-agent, to: llm, port: 443, bytes: 10KiB }',
      '    expect: allowed',
      '    rule: llm',
      "    forwardedBytes: '~10KiB'",
      "  - expect-counter: { rule: llm, packets: 8, bytes: '> 10KiB' }",
      '  - expect-counter: { drops: NO_MATCH, packets: 3 }',
      '  - expect-counter: { agent: support-agent, tainted: false, sensitiveBytes: 0 }',
    ]);
    const result = await runScenario(prepare(file), () => startInProcessDevice());
    assert.deepEqual(
      result.steps.filter((s) => !s.ok).map((s) => s.problems),
      [],
    );
    assert.equal(result.ok, true);
  });

  it('reports a device that cannot be reached as a setup error, not as passed steps', async () => {
    const file = write('any.scenario.yaml', [...SUPPORT, '  - advance: 1s']);
    const result = await runScenario(prepare(file), () => Promise.reject(new Error('connection refused')));
    assert.equal(result.ok, false);
    assert.deepEqual(result.setupError, { kind: 'device', message: 'connection refused' });
    assert.deepEqual(result.steps, []);
  });

  describe('report-mode PacketOut probes over P4Runtime', () => {
    it('run the no-export example to the same verdicts as in-process injection', async () => {
      const prepared = prepare(path.join(EXAMPLES, 'no-export.scenario.yaml'));
      const probed = await runScenario(prepared, () => startInProcessDevice({ probes: true }));
      const direct = await runScenario(prepared, () => startInProcessDevice());
      assert.match(probed.target, /PacketOut probes/);
      assert.deepEqual(
        probed.steps.filter((s) => !s.ok).map((s) => [s.name, s.problems]),
        [],
      );
      const verdicts = (r: ScenarioResult) =>
        r.steps.map((s) => {
          const o = s.observation as { packets?: number; forwarded?: number; drops?: unknown } | undefined;
          return [s.name, s.ok, o?.packets, o?.forwarded, o?.drops];
        });
      assert.deepEqual(verdicts(probed), verdicts(direct));
    });

    it('see audit mode through the audit counter, since a report PacketIn shows an audited frame as forwarded', async () => {
      const file = write('audit.scenario.yaml', [
        `policy: ${path.join(EXAMPLES, 'audit-agent.policy.yaml')}`,
        'topology: { hosts: [{ name: test-net, ipv4: 192.0.2.15 }, { name: web, ipv4: 10.40.2.10 }] }',
        'steps:',
        '  - send: { from: batch-agent, to: web, port: 443, bytes: 2KiB }',
        '    expect: allowed',
        '  - send: { from: batch-agent, to: test-net, port: 443, bytes: 2KiB }',
        '    expect: audited',
        '    reason: DENY_RULE',
        '    rule: no-test-net',
        '  - send: { from: batch-agent, to: 8.8.8.8, protocol: udp, port: 53, bytes: 10 }',
        '    expect: audited',
        '    reason: NO_MATCH',
        '  - send: { from: batch-agent, to: web, port: 443, bytes: 2KiB }',
        '    expect: audited',
        '  - expect-counter: { audits: DENY_RULE, packets: 2 }',
      ]);
      const result = await runScenario(prepare(file), () => startInProcessDevice({ probes: true }));
      const [allowed, deny, noMatch, wrong, counter] = result.steps;
      assert.ok(allowed.ok, allowed.problems.join('\n'));
      assert.ok(deny.ok, deny.problems.join('\n'));
      assert.match(
        deny.summary,
        /^2 packets: 2 forwarded \([0-9.]+ KiB\), 2 of them under audit \(would drop: DENY_RULE\); offered [0-9.]+ MB\/s$/,
      );
      assert.ok(noMatch.ok, noMatch.problems.join('\n'));
      assert.equal(wrong.ok, false, 'plainly allowed traffic is not audited');
      assert.match(wrong.problems[0], /but no packet was forwarded under audit mode$/);
      assert.ok(counter.ok, counter.problems.join('\n'));
    });
  });

  describe('JUnit XML', () => {
    it('is well-formed and carries one testsuite per file, one testcase per step, and the failures', () => {
      const results: ScenarioResult[] = [
        {
          file: 'a & b.scenario.yaml',
          name: 'quotes " and <tags>',
          target: 'in-process softnic',
          ok: false,
          durationMs: 1234,
          steps: [
            {
              index: 0,
              name: 'fine',
              kind: 'advance',
              line: 3,
              ok: true,
              summary: 'clock +1s',
              problems: [],
              durationMs: 1,
            },
            {
              index: 1,
              name: "it's <broken> & \u0001odd",
              kind: 'send',
              line: 5,
              ok: false,
              summary: '1 packet: 0 forwarded',
              problems: [
                'expected allowed; first mismatching packet #1: dropped, reason NO_MATCH',
                'second "problem"',
              ],
              durationMs: 2,
            },
          ],
        },
        {
          file: 'down.scenario.yaml',
          name: 'no device',
          target: 'none',
          ok: false,
          durationMs: 5,
          steps: [],
          setupError: { kind: 'device', message: 'connect ECONNREFUSED 127.0.0.1:1' },
        },
      ];
      const root = parseXml(junitXml(results));
      assert.equal(root.name, 'testsuites');
      assert.deepEqual([root.attrs.tests, root.attrs.failures, root.attrs.errors], ['3', '1', '1']);
      const suites = root.children.filter((c) => c.name === 'testsuite');
      assert.deepEqual(
        suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.failures, s.attrs.errors, s.attrs.time]),
        [
          ['a & b.scenario.yaml', '2', '1', '0', '1.234'],
          ['down.scenario.yaml', '1', '0', '1', '0.005'],
        ],
      );
      const cases = suites[0].children.filter((c) => c.name === 'testcase');
      assert.deepEqual(
        cases.map((c) => [c.attrs.name, c.attrs.classname, c.attrs.line]),
        [
          ['step 1: fine', 'quotes " and <tags>', '3'],
          ["step 2: it's <broken> & odd", 'quotes " and <tags>', '5'],
        ],
      );
      assert.deepEqual(cases[0].children, []);
      const failure = cases[1].children.find((c) => c.name === 'failure') as XmlElement;
      assert.equal(
        failure.attrs.message,
        'expected allowed; first mismatching packet #1: dropped, reason NO_MATCH; second "problem"',
      );
      assert.match(failure.text, /observed: 1 packet: 0 forwarded$/);
      const error = suites[1].children.find((c) => c.name === 'testcase')!.children[0];
      assert.equal(error.name, 'error');
      assert.equal(error.attrs.message, 'connect ECONNREFUSED 127.0.0.1:1');
    });

    it('the checker itself rejects XML that is not well-formed', () => {
      assert.throws(() => parseXml('<a><b></a>'), /closes <b>|mismatched/);
      assert.throws(() => parseXml('<a x="1 & 2"/>'), /entity/);
      assert.throws(() => parseXml('<a x=1/>'), /attribute/);
      assert.throws(() => parseXml('<a>'), /unclosed/);
    });
  });
});
