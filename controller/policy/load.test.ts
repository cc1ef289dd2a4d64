import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PolicyError } from './errors';
import { loadPolicySet, loadPolicySources } from './load';
import { policyVersion } from './canonical';

const HEAD = `apiVersion: nicguard/v1
uplink: {port: 0}
agents:
  - name: a1
    port: 1
    mac: '02:00:00:00:00:01'
    ipv4: [10.0.0.1]
`; // lines 1-7

type Want = [code: string, line: number, column: number, path: string, message: RegExp];

function diagnose(text: string, file = 'p.yaml'): PolicyError[] {
  return loadPolicySources([{ file, text }]).diagnostics;
}

function expectOnly(text: string, ...want: Want[]): void {
  const got = diagnose(text);
  assert.deepEqual(
    got.map((d) => [d.code, d.line, d.column, d.path]),
    want.map(([code, line, column, p]) => [code, line, column, p]),
    got.map((d) => d.format()).join('\n'),
  );
  got.forEach((d, i) => {
    assert.match(d.message, want[i][4]);
    assert.ok(d.expected.length > 0, `${d.code} says what was expected`);
    assert.equal(d.file, 'p.yaml');
  });
}

describe('loadPolicySources', () => {
  it('loads a valid policy set with normalized values and no diagnostics', () => {
    const result = loadPolicySources([
      {
        file: 'p.yaml',
        text: `${HEAD}    ipv6: ['FD00:0::1']
egress:
  - name: web
    agents: [a1]
    toCIDRSet: [{cidr: 192.0.2.0/24, except: [192.0.2.128/25]}]
    toPorts: [{ports: [{port: '443'}, {port: 8000, endPort: 8080, protocol: UDP}]}]
    quota: {bytes: 1MiB, per: 1h30m}
    rate: 8Mbit
`,
      },
    ]);
    assert.deepEqual(result.diagnostics, []);
    const set = result.policySet!;
    assert.deepEqual(set.agents[0].ipv6, ['fd00::1']);
    assert.deepEqual(set.rules[0].ports, [
      { protocol: 'TCP', port: 443 },
      { protocol: 'UDP', port: 8000, endPort: 8080 },
    ]);
    assert.deepEqual(set.rules[0].quota, { bytes: 1048576, windowSeconds: 5400 });
    assert.equal(set.rules[0].rateBytesPerSecond, 1_000_000);
    assert.deepEqual(set.rules[0].location, { file: 'p.yaml', line: 10, column: 5 });
  });

  it('merges several files: rules in file order, one uplink, names unique across files', () => {
    const result = loadPolicySources([
      { file: 'a.yaml', text: `${HEAD}egress:\n  - {name: r1, agents: [a1], toCIDR: [192.0.2.0/24]}\n` },
      {
        file: 'b.yaml',
        text: 'apiVersion: nicguard/v1\negress:\n  - {name: r2, agents: [a1], action: deny}\n',
      },
    ]);
    assert.deepEqual(result.diagnostics, []);
    assert.deepEqual(
      result.policySet!.rules.map((r) => [r.name, r.location?.file]),
      [
        ['r1', 'a.yaml'],
        ['r2', 'b.yaml'],
      ],
    );
  });

  it('gives the same version to the same policy written differently', () => {
    const a = loadPolicySources([
      {
        file: 'a.yaml',
        text: `${HEAD}egress:\n  - {name: r, agents: [a1], toCIDR: [192.0.2.0/24], quota: 1MiB per 60m}\n`,
      },
    ]);
    const b = loadPolicySources([
      {
        file: 'b.yaml',
        text: `apiVersion: nicguard/v1\nagents:\n  - {ipv4: [10.0.0.1], mac: '02:00:00:00:00:01', port: 1, name: a1}\negress:\n  - {quota: {per: 1h, bytes: 1048576}, toCIDR: [192.0.2.0/24], agents: [a1], name: r}\nuplink: {port: 0}\n`,
      },
    ]);
    assert.equal(policyVersion(a.policySet!), policyVersion(b.policySet!));
    const c = loadPolicySources([
      { file: 'c.yaml', text: `${HEAD}egress:\n  - {name: r, agents: [a1], toCIDR: [192.0.2.0/25]}\n` },
    ]);
    assert.notEqual(policyVersion(a.policySet!), policyVersion(c.policySet!));
  });

  it('reports YAML syntax errors at their position', () => {
    expectOnly('apiVersion: nicguard/v1\nagents: [\n', [
      'YAML_SYNTAX',
      3,
      1,
      '',
      /flow sequence|Missing|end/i,
    ]);
  });

  it('reports an alias without an anchor at the alias, instead of throwing', () => {
    expectOnly('apiVersion: nicguard/v1\nuplink: {port: 0}\nagents:\n  - *missing\n', [
      'YAML_SYNTAX',
      4,
      5,
      '',
      /Unresolved alias/,
    ]);
  });

  it('reports schema violations at the field, with what was expected', () => {
    expectOnly(
      `${HEAD}    mode: strict
    extra: 1
  - name: A2
    port: '2'
egress:
  - {name: r, agents: [a1], acton: deny}
`,
      ['SCHEMA_VALUE', 8, 11, 'agents[0].mode', /"strict" is not allowed/],
      ['SCHEMA_UNKNOWN_FIELD', 9, 5, 'agents[0].extra', /unknown field "extra"/],
      ['NO_SOURCE_ADDRESS', 10, 5, 'agents[1]', /agent "A2" has no source address/],
      ['SCHEMA_REQUIRED', 10, 5, 'agents[1].mac', /missing required field "mac"/],
      ['SCHEMA_VALUE', 10, 11, 'agents[1].name', /"A2" is not in the expected form/],
      ['SCHEMA_TYPE', 11, 11, 'agents[1].port', /got a string/],
      ['SCHEMA_UNKNOWN_FIELD', 13, 29, 'egress[0].acton', /did you mean "action"/],
    );
  });

  it('reports duplicate names, ports and MACs with the first definition', () => {
    const got = diagnose(`${HEAD}  - name: a1
    port: 1
    mac: '02:00:00:00:00:01'
    ipv4: [10.0.0.2]
`);
    assert.deepEqual(
      got.map((d) => [d.code, d.line, d.column, d.path]),
      [
        ['DUPLICATE_NAME', 8, 11, 'agents[1].name'],
        ['DUPLICATE_PORT', 9, 11, 'agents[1].port'],
        ['DUPLICATE_SOURCE', 10, 10, 'agents[1].mac'],
      ],
    );
    assert.deepEqual(got[0].related, [{ file: 'p.yaml', line: 4, column: 11, note: 'first defined' }]);
    assert.match(got[1].message, /port 1 is already the port of agent "a1"/);
    assert.match(got[2].format(), /first used at p\.yaml:6:10/);
  });

  it('reports reserved ports, a missing uplink and a second uplink', () => {
    expectOnly(
      `${HEAD}  - {name: a2, port: 255, mac: '02:00:00:00:00:02', ipv4: [10.0.0.2]}\n  - {name: a3, port: 0, mac: '02:00:00:00:00:03', ipv4: [10.0.0.3]}\n`,
      ['RESERVED_PORT', 8, 22, 'agents[1].port', /port 255 is the CPU port/],
      ['RESERVED_PORT', 9, 22, 'agents[2].port', /port 0 is the uplink/],
    );
    const missing = loadPolicySources([{ file: 'p.yaml', text: 'apiVersion: nicguard/v1\n' }]).diagnostics;
    assert.deepEqual(
      missing.map((d) => [d.code, d.line, d.column]),
      [['UPLINK_MISSING', 1, 1]],
    );
    const twice = loadPolicySources([
      { file: 'a.yaml', text: HEAD },
      { file: 'b.yaml', text: 'apiVersion: nicguard/v1\nuplink: {port: 9}\n' },
    ]).diagnostics;
    assert.deepEqual(
      twice.map((d) => [d.code, d.file, d.line, d.column]),
      [['UPLINK_DUPLICATE', 'b.yaml', 2, 1]],
    );
    assert.match(twice[0].format(), /first declared at a\.yaml:2:9/);
  });

  it('reports unknown references, listing the known names', () => {
    expectOnly(
      `${HEAD}groups:\n  - {name: g, agents: [a1, ghost]}\negress:\n  - {name: r, groups: [g, nope], toDestinations: [db]}\n`,
      ['UNKNOWN_REFERENCE', 9, 28, 'groups[0].agents[1]', /no agent is named "ghost"/],
      ['UNKNOWN_REFERENCE', 11, 27, 'egress[0].groups[1]', /no group is named "nope"/],
      ['UNKNOWN_REFERENCE', 11, 51, 'egress[0].toDestinations[0]', /no destination is named "db"/],
    );
  });

  it('reports addresses that do not parse strictly, and excepts outside their CIDR', () => {
    expectOnly(
      `${HEAD}    ipv6: ['10.0.0.1', 'fe80::1%eth0']
sensitiveSources: ['127.1']
egress:
  - name: r
    agents: [a1]
    toCIDR: [10.0.0.1/8, 192.0.2.0/33]
    toCIDRSet: [{cidr: 192.0.2.0/24, except: [198.51.100.0/25]}]
`,
      ['BAD_ADDRESS', 8, 12, 'agents[0].ipv6[0]', /"10\.0\.0\.1" is not a valid IPv6 address/],
      ['BAD_ADDRESS', 8, 24, 'agents[0].ipv6[1]', /"fe80::1%eth0" is not a valid IPv6 address/],
      ['BAD_ADDRESS', 9, 20, 'sensitiveSources[0]', /"127\.1" is not a valid address/],
      ['BAD_ADDRESS', 13, 14, 'egress[0].toCIDR[0]', /host bits set/],
      ['BAD_ADDRESS', 13, 26, 'egress[0].toCIDR[1]', /"\/33" is not a valid prefix length/],
      [
        'BAD_EXCEPT',
        14,
        47,
        'egress[0].toCIDRSet[0].except[0]',
        /198\.51\.100\.0\/25 is not inside 192\.0\.2\.0\/24/,
      ],
    );
  });

  it('reports bad port ranges', () => {
    expectOnly(
      `${HEAD}egress:\n  - name: r\n    agents: [a1]\n    toPorts: [{ports: [{port: 90, endPort: 80}, {endPort: 5}, {port: 7, protocol: ICMP}]}]\n`,
      ['BAD_PORT_RANGE', 11, 44, 'egress[0].toPorts[0].ports[0].endPort', /ends before it starts/],
      ['BAD_PORT_RANGE', 11, 50, 'egress[0].toPorts[0].ports[1].endPort', /"endPort" without "port"/],
      ['BAD_PORT_RANGE', 11, 64, 'egress[0].toPorts[0].ports[2].port', /ICMP has no ports/],
    );
  });

  it('reports quantities with wrong units', () => {
    expectOnly(
      `${HEAD}    exfiltration: {threshold: 1Mb}\negress:\n  - {name: r, agents: [a1], quota: 5MiB per 1y, rate: 5MB}\n`,
      ['SCHEMA_VALUE', 8, 31, 'agents[0].exfiltration.threshold', /"1Mb" is not in the expected form/],
      ['BAD_QUANTITY', 10, 36, 'egress[0].quota', /"1y" is not a duration/],
      ['BAD_QUANTITY', 10, 55, 'egress[0].rate', /is a size, not a rate/],
    );
  });

  it('refuses limits and DNS names on deny rules, and a quota on a rule and its destination', () => {
    expectOnly(
      `${HEAD}destinations:
  - {name: d, toCIDR: [192.0.2.0/24], quota: 1MiB per 1h}
  - {name: f, toFQDNs: [{matchName: x.example.com}]}
egress:
  - {name: q, agents: [a1], toDestinations: [d], quota: 1MiB per 1h}
  - {name: r, agents: [a1], action: deny, rate: 1Mbit, toFQDNs: [{matchName: y.example.com}], toDestinations: [f]}
`,
      ['QUOTA_CONFLICT', 12, 46, 'egress[0].toDestinations[0]', /destination "d" has its own quota/],
      ['LIMIT_ON_DENY', 13, 43, 'egress[1].rate', /a deny rule cannot have a rate/],
      ['FQDN_ON_DENY', 13, 56, 'egress[1].toFQDNs', /cannot name destinations by DNS name/],
      ['FQDN_ON_DENY', 13, 112, 'egress[1].toDestinations[0]', /destination "f" is named by DNS name/],
    );
  });

  it('reports an agent without addresses and a rule without agents', () => {
    expectOnly(
      `apiVersion: nicguard/v1\nuplink: {port: 0}\nagents:\n  - {name: a1, port: 1, mac: '02:00:00:00:00:01'}\negress:\n  - {name: r, toCIDR: [192.0.2.0/24]}\n`,
      ['NO_SOURCE_ADDRESS', 4, 5, 'agents[0]', /agent "a1" has no source address/],
      ['RULE_WITHOUT_AGENTS', 6, 5, 'egress[0]', /rule "r" applies to no agent/],
    );
  });

  it('warns about a rule shadowed by an earlier one, naming both locations', () => {
    const result = loadPolicySources([
      {
        file: 'p.yaml',
        text: `${HEAD}groups: [{name: g, agents: [a1]}]
egress:
  - {name: wide, groups: [g], toCIDR: [192.0.2.0/24], toPorts: [{ports: [{port: 400, endPort: 500}]}]}
  - {name: narrow, agents: [a1], action: deny, toCIDR: [192.0.2.0/25], toPorts: [{ports: [{port: 443}]}]}
  - {name: other-port, agents: [a1], toCIDR: [192.0.2.0/25], toPorts: [{ports: [{port: 443, protocol: UDP}]}]}
`,
      },
    ]);
    assert.ok(result.policySet, 'warnings do not fail the load');
    assert.deepEqual(
      result.diagnostics.map((d) => [d.code, d.severity, d.line, d.column, d.path]),
      [['SHADOWED_RULE', 'warning', 11, 5, 'egress[1]']],
    );
    assert.match(result.diagnostics[0].message, /rule "narrow" never applies: rule "wide" \(p\.yaml:10:5\)/);
    assert.deepEqual(result.diagnostics[0].related, [
      { file: 'p.yaml', line: 10, column: 5, note: 'shadowed by' },
    ]);
  });

  it('lists every error of every file, ordered by position', () => {
    const result = loadPolicySources([
      { file: 'b.yaml', text: 'apiVersion: nicguard/v2\n' },
      { file: 'a.yaml', text: `${HEAD}egress:\n  - {name: r, agents: [zz]}\n` },
    ]);
    assert.equal(result.policySet, undefined);
    assert.deepEqual(
      result.diagnostics.map((d) => [d.file, d.code]),
      [
        ['a.yaml', 'UNKNOWN_REFERENCE'],
        ['b.yaml', 'SCHEMA_VALUE'],
      ],
    );
  });
});

describe('loadPolicySet', () => {
  it('reads every YAML file of a directory in name order, and reports unreadable paths', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-'));
    try {
      fs.writeFileSync(path.join(dir, '10-agents.yaml'), HEAD);
      fs.writeFileSync(
        path.join(dir, '20-rules.yml'),
        'apiVersion: nicguard/v1\negress:\n  - {name: r, agents: [a1]}\n',
      );
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a policy');
      const result = loadPolicySet(dir);
      assert.deepEqual(result.diagnostics, []);
      assert.equal(result.policySet?.rules[0].location?.file, path.join(dir, '20-rules.yml'));
      const missing = loadPolicySet([path.join(dir, 'nope.yaml')]);
      assert.deepEqual(
        missing.diagnostics.map((d) => d.code),
        ['FILE_READ'],
      );
      assert.deepEqual(
        loadPolicySet([]).diagnostics.map((d) => d.code),
        ['NO_POLICY_FILES'],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads every example without diagnostics', () => {
    const examples = path.resolve(__dirname, '..', '..', '..', 'examples');
    for (const name of fs.readdirSync(examples).filter((n) => n.endsWith('.policy.yaml'))) {
      const result = loadPolicySet(path.join(examples, name));
      assert.deepEqual(
        result.diagnostics.map((d) => d.format()),
        [],
        name,
      );
    }
  });
});
