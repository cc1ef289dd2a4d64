// The scenario parser: what a valid file becomes, and every class of mistake reported with its
// code, position, field and what was expected.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROFILES } from '../pipeline/profiles';
import type { ScenarioError } from './errors';
import { parseComparison, parseScenarioFile, parseScenarioText } from './parse';
import { prepareParsed } from './prepare';

const FILE = '/scenarios/t.scenario.yaml';

function errorsOf(text: string): ScenarioError[] {
  const r = parseScenarioText(FILE, text);
  assert.equal(r.scenario, undefined, 'the text should not parse');
  return [...r.errors];
}

function only(text: string): ScenarioError {
  const errors = errorsOf(text);
  assert.equal(errors.length, 1, errors.map((e) => e.format()).join('\n'));
  return errors[0];
}

const HEAD = 'policy: p.yaml\nsteps:\n';

describe('scenario parser', () => {
  it('reads a full scenario: units, defaults, relative policy paths, default step names', () => {
    const r = parseScenarioText(
      FILE,
      [
        'apiVersion: nicguard/v1',
        'kind: Scenario',
        'name: demo',
        'policy: [../policies/a.policy.yaml, b.policy.yaml]',
        'topology:',
        "  gatewayMac: '02:00:00:00:00:AA'",
        '  hosts:',
        "    - { name: api, ipv4: 203.0.113.10, ipv6: '2001:db8::10' }",
        '  agents:',
        '    - { name: a1, port: 7 }',
        'steps:',
        '  - send: { from: a1, to: api, port: 443, bytes: 50MiB, replyBytes: 1KiB, mtu: 9000, pace: 20Mbit }',
        '    expect: quota-dropped',
        "    forwardedBytes: '~40MiB'",
        '    reason: quota',
        '  - advance: 1h30m',
        "  - expect-counter: { rule: llm, bytes: '>= 1GiB', packets: 3 }",
        '  - spoof: { from: a1, to: 10.0.0.1, protocol: icmp, bytes: 64, ingressPort: 9 }',
      ].join('\n'),
    );
    assert.deepEqual(r.errors, []);
    const s = r.scenario!;
    assert.equal(s.name, 'demo');
    assert.deepEqual(s.policyFiles, ['/policies/a.policy.yaml', '/scenarios/b.policy.yaml']);
    assert.equal(s.topology.gatewayMac, '02:00:00:00:00:aa');
    assert.deepEqual(s.topology.hosts, [{ name: 'api', ipv4: '203.0.113.10', ipv6: '2001:db8::10' }]);
    assert.deepEqual(s.topology.agents, [{ name: 'a1', port: 7 }]);
    const [send, advance, counter, spoof] = s.steps;
    assert.ok(send.kind === 'send');
    assert.equal(send.flow.bytes, 50 * 2 ** 20);
    assert.equal(send.flow.replyBytes, 1024);
    assert.equal(send.flow.protocol, 'tcp');
    assert.equal(send.flow.mtu, 9000);
    assert.equal(send.flow.paceBytesPerSecond, 2_500_000);
    assert.deepEqual(send.check, {
      expect: 'quota-dropped',
      reason: 'QUOTA',
      forwardedBytes: { op: '~', value: 40 * 2 ** 20, text: '~40MiB' },
    });
    assert.equal(send.line, 12);
    assert.ok(advance.kind === 'advance');
    assert.equal(advance.seconds, 5400);
    assert.equal(advance.name, 'advance 1h30m');
    assert.ok(counter.kind === 'expect-counter');
    assert.deepEqual(counter.counter, {
      kind: 'rule',
      rule: 'llm',
      packets: { op: '==', value: 3, text: '3' },
      bytes: { op: '>=', value: 2 ** 30, text: '>= 1GiB' },
    });
    assert.ok(spoof.kind === 'spoof');
    assert.equal(spoof.check.expect, 'spoofed', 'a spoof expects spoofed unless told otherwise');
    assert.equal(spoof.flow.ingressPort, 9);
    assert.equal(spoof.flow.port, undefined);
  });

  it('parses comparisons and refuses what is not one', () => {
    assert.deepEqual(parseComparison('>=50MiB'), { op: '>=', value: 50 * 2 ** 20, text: '>=50MiB' });
    assert.deepEqual(parseComparison('< 0'), { op: '<', value: 0, text: '< 0' });
    assert.deepEqual(parseComparison('= 7'), { op: '==', value: 7, text: '= 7' });
    assert.equal(parseComparison('about 5'), undefined);
    assert.equal(parseComparison('>= 5 parsecs'), undefined);
  });

  it('YAML_SYNTAX: where the YAML breaks', () => {
    const e = only('policy: p.yaml\nsteps: [\n');
    assert.equal(e.code, 'YAML_SYNTAX');
    assert.equal(e.file, FILE);
    assert.equal(e.line, 3);
    assert.equal(e.expected, 'well-formed YAML');
  });

  it('FILE_READ: a file that cannot be read', () => {
    const r = parseScenarioFile('/nonexistent/x.scenario.yaml');
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].code, 'FILE_READ');
    assert.match(
      r.errors[0].format(),
      /^\/nonexistent\/x\.scenario\.yaml:1:1: error\[FILE_READ\] cannot read: /,
    );
  });

  it('REQUIRED: a missing field at its parent, naming the field', () => {
    const e = only('steps:\n  - advance: 1h\n');
    assert.equal(e.code, 'REQUIRED');
    assert.equal(e.field, 'policy');
    assert.equal(e.message, 'missing required field "policy"');
    assert.deepEqual([e.line, e.column], [1, 1]);

    const send = only(HEAD + '  - send: { from: a, to: h, port: 1 }\n    expect: allowed\n');
    assert.equal(send.code, 'REQUIRED');
    assert.equal(send.field, 'steps[0].send.bytes');
    assert.deepEqual([send.line, send.column], [3, 11]);
    assert.match(send.expected, /byte size/);

    const port = only(HEAD + '  - send: { from: a, to: h, protocol: udp, bytes: 1 }\n    expect: allowed\n');
    assert.equal(port.field, 'steps[0].send.port');
    assert.equal(port.message, 'missing required field "port" for udp');
  });

  it('UNKNOWN_FIELD: at the key, with the fields that are allowed', () => {
    const e = only(HEAD + '  - advance: 1h\n    expct: allowed\n');
    assert.equal(e.code, 'UNKNOWN_FIELD');
    assert.equal(e.field, 'steps[0].expct');
    assert.deepEqual([e.line, e.column], [4, 5]);
    assert.match(e.expected, /^one of name, send, spoof, expect-counter, advance/);

    const misplaced = only(HEAD + '  - advance: 1h\n    expect: allowed\n');
    assert.equal(misplaced.code, 'UNKNOWN_FIELD');
    assert.equal(misplaced.message, '"expect" belongs to send and spoof steps');
  });

  it('TYPE: a value of the wrong kind, at the value', () => {
    const e = only(HEAD + '  - send: { from: a, to: h, port: "443", bytes: 1 }\n    expect: allowed\n');
    assert.equal(e.code, 'TYPE');
    assert.equal(e.field, 'steps[0].send.port');
    assert.equal(e.message, '"443" is not a whole number');
    assert.deepEqual([e.line, e.column], [3, 35]);

    const steps = only('policy: p.yaml\nsteps: {advance: 1h}\n');
    assert.equal(steps.code, 'TYPE');
    assert.equal(steps.message, 'a mapping is not a list');
    assert.deepEqual([steps.line, steps.column], [2, 8]);
  });

  it('VALUE: a value of the right kind that is not acceptable, with what is', () => {
    const expect = only(HEAD + '  - send: { from: a, to: h, port: 1, bytes: 1 }\n    expect: blocked\n');
    assert.equal(expect.code, 'VALUE');
    assert.equal(expect.field, 'steps[0].expect');
    assert.equal(expect.message, '"blocked" is not allowed here');
    assert.match(
      expect.expected,
      /allowed, denied, quota-dropped, rate-limited, exfil-blocked, audited, spoofed, unknown-port/,
    );
    assert.deepEqual([expect.line, expect.column], [4, 13]);

    const size = only(
      HEAD + '  - send: { from: a, to: h, port: 1, bytes: 5 parsecs }\n    expect: allowed\n',
    );
    assert.equal(size.field, 'steps[0].send.bytes');
    assert.equal(size.message, '"5 parsecs" is not a byte size');

    const duration = only(HEAD + '  - advance: soon\n');
    assert.equal(duration.field, 'steps[0].advance');
    assert.equal(duration.message, '"soon" is not a duration');

    const reason = only(HEAD + '  - expect-counter: { drops: LOST, packets: 1 }\n');
    assert.equal(reason.field, 'steps[0].expect-counter.drops');
    assert.match(reason.expected, /^one of UNKNOWN_PORT, SPOOFED/);

    const icmp = only(
      HEAD + '  - send: { from: a, to: h, protocol: icmp, port: 7, bytes: 1 }\n    expect: allowed\n',
    );
    assert.equal(icmp.message, 'ICMP has no ports');

    const mac = only("policy: p.yaml\ntopology: { gatewayMac: '02:00' }\nsteps:\n  - advance: 1s\n");
    assert.equal(mac.field, 'topology.gatewayMac');
    assert.equal(mac.message, '"02:00" is not a MAC address');
    assert.deepEqual([mac.line, mac.column], [2, 25]);
  });

  it('STEP_KIND: a step that does nothing or two things', () => {
    const none = only(HEAD + '  - name: idle\n');
    assert.equal(none.code, 'STEP_KIND');
    assert.equal(none.message, 'a step must do something');
    assert.equal(none.field, 'steps[0]');
    const two = only(HEAD + '  - advance: 1h\n    expect-counter: { drops: QUOTA, packets: 1 }\n');
    assert.equal(two.message, 'a step does one thing, not expect-counter and advance');
    assert.deepEqual([two.line, two.column], [3, 5]);
  });

  it('reports every problem in one pass, in file order', () => {
    const errors = errorsOf(
      'bogus: 1\nsteps:\n  - advance: never\n  - send: { from: a, to: h, bytes: 1 }\n    expect: allowed\n',
    );
    assert.deepEqual(
      errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.field}`),
      [
        '1:1 REQUIRED policy',
        '1:1 UNKNOWN_FIELD bogus',
        '3:14 VALUE steps[0].advance',
        '4:11 REQUIRED steps[1].send.port',
      ],
    );
  });
});

describe('scenario references into the policy', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scenario-parse-'));
    fs.copyFileSync(
      path.join(__dirname, '..', '..', '..', 'examples', 'support-agent.policy.yaml'),
      path.join(dir, 'p.policy.yaml'),
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function prepareErrors(text: string): ScenarioError[] {
    const file = path.join(dir, 't.scenario.yaml');
    fs.writeFileSync(file, text);
    const parsed = parseScenarioFile(file);
    assert.deepEqual(parsed.errors, []);
    const r = prepareParsed(parsed, PROFILES.softnic);
    assert.equal(r.ok, false);
    return r.ok ? [] : [...r.errors];
  }

  it('UNKNOWN_REFERENCE: agents, hosts and rules the policy and topology do not have', () => {
    const errors = prepareErrors(
      [
        'policy: p.policy.yaml',
        'topology: { hosts: [{ name: llm, ipv4: 203.0.113.10 }] }',
        'steps:',
        '  - send: { from: ghost, to: llm, port: 443, bytes: 1 }',
        '    expect: allowed',
        '  - send: { from: support-agent, to: nowhere, port: 443, bytes: 1 }',
        '    expect: allowed',
        '  - send: { from: support-agent, to: llm, port: 443, bytes: 1 }',
        '    expect: allowed',
        '    rule: lm',
        '  - expect-counter: { rule: llm, agent: nobody, packets: 1 }',
      ].join('\n'),
    );
    assert.deepEqual(
      errors.map((e) => [e.code, e.field, `${e.line}:${e.column}`, e.message]),
      [
        ['UNKNOWN_REFERENCE', 'steps[0].send.from', '4:19', 'no agent "ghost" in the policy'],
        [
          'UNKNOWN_REFERENCE',
          'steps[1].send.to',
          '6:38',
          '"nowhere" is neither a host of the topology nor an IP address',
        ],
        ['UNKNOWN_REFERENCE', 'steps[2].rule', '10:11', 'no rule "lm" in the policy'],
        ['UNKNOWN_REFERENCE', 'steps[3].expect-counter.agent', '11:41', 'no agent "nobody" in the policy'],
      ],
    );
    assert.equal(errors[0].expected, 'one of support-agent');
    assert.match(errors[2].expected, /^one of internal-dns, crm-query, llm$/);
  });

  it('VALUE: a flow whose agent has no address of the destination family', () => {
    const [e] = prepareErrors(
      "policy: p.policy.yaml\nsteps:\n  - send: { from: support-agent, to: '2001:db8::1', port: 443, bytes: 1 }\n    expect: denied\n",
    );
    assert.equal(e.code, 'VALUE');
    assert.equal(e.field, 'steps[0].send.from');
    assert.equal(e.message, 'agent "support-agent" has no IPv6 address to send from');
  });

  it("POLICY: the policy file's own diagnostics, at their positions in the policy file", () => {
    fs.writeFileSync(
      path.join(dir, 'bad.policy.yaml'),
      'apiVersion: nicguard/v1\nuplink: { port: 0 }\nagents: 3\n',
    );
    const errors = prepareErrors('policy: bad.policy.yaml\nsteps:\n  - advance: 1s\n');
    assert.ok(errors.length >= 1);
    assert.ok(errors.every((e) => e.code === 'POLICY'));
    const agents = errors.find((e) => e.field === 'agents');
    assert.ok(agents, errors.map((e) => e.format()).join('\n'));
    assert.equal(agents.file, path.join(dir, 'bad.policy.yaml'));
    assert.equal(agents.line, 3);
  });
});
