import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { loadPolicySources } from '../policy/load';
import { DestinationDef, PolicySet, RuleDef } from '../policy/model';
import { policyArb } from './arbitraries';
import { RuleContentHasher, isSelfContained, ruleContentJson, sameSelfContainedContent } from './ruleContent';

const REPO = path.resolve(__dirname, '..', '..', '..');

/** The content text by its definition: JSON.stringify of the array, the loader's key order given. */
function contentByDefinition(
  rule: RuleDef,
  used: readonly (DestinationDef | undefined)[],
  dnsAnswers: readonly (readonly string[])[],
): string {
  return JSON.stringify([
    rule.destinations,
    rule.cidrs,
    rule.fqdns,
    rule.ports,
    rule.action,
    rule.trusted,
    rule.mode,
    rule.quota ?? null,
    rule.rateBytesPerSecond ?? null,
    used.map((d) => (d ? [d.cidrs, d.fqdns, d.sensitive, d.quota ?? null] : null)),
    dnsAnswers,
  ]);
}

function usedBy(policy: PolicySet, rule: RuleDef): (DestinationDef | undefined)[] {
  return rule.destinations.map((name) => policy.destinations.find((d) => d.name === name));
}

// A small domain, so that two rules drawn from it often have one content, or nearly.
const nearRuleArb: fc.Arbitrary<RuleDef> = fc
  .record({
    cidr: fc.constantFrom('192.0.2.0/24', '192.0.2.0/25'),
    except: fc.subarray(['192.0.2.7/32', '192.0.2.8/32']),
    port: fc.constantFrom(443, 444, undefined),
    endPort: fc.constantFrom(500, undefined),
    protocol: fc.constantFrom('TCP' as const, 'UDP' as const),
    action: fc.constantFrom('allow' as const, 'deny' as const),
    trusted: fc.boolean(),
    quota: fc.constantFrom(undefined, 1000, 2000),
    rate: fc.constantFrom(undefined, 125000, 0.5),
  })
  .map((r) => ({
    name: 'r',
    agents: ['agent-0'],
    groups: [],
    destinations: [],
    fqdns: [],
    cidrs: [{ cidr: r.cidr, except: [...r.except] }],
    ports: [
      {
        protocol: r.protocol,
        ...(r.port !== undefined ? { port: r.port } : {}),
        ...(r.port !== undefined && r.endPort !== undefined ? { endPort: r.endPort } : {}),
      },
    ],
    action: r.action,
    trusted: r.trusted,
    mode: 'enforce' as const,
    ...(r.quota !== undefined ? { quota: { bytes: r.quota, windowSeconds: 60 } } : {}),
    ...(r.rate !== undefined ? { rateBytesPerSecond: r.rate } : {}),
  }));

describe('ruleContentJson', () => {
  it('writes what JSON.stringify writes for the rules of loaded policies', () => {
    for (const example of ['support-agent', 'no-export', 'audit-agent', 'ipv6-agent']) {
      const file = `examples/${example}.policy.yaml`;
      const loaded = loadPolicySources([{ file, text: fs.readFileSync(path.join(REPO, file), 'utf8') }]);
      const policy = loaded.policySet as PolicySet;
      assert.ok(policy.rules.length > 0);
      for (const rule of policy.rules) {
        const used = usedBy(policy, rule);
        const answers = rule.fqdns.map(() => ['192.0.2.80']);
        assert.equal(
          ruleContentJson(rule, used, answers),
          contentByDefinition(rule, used, answers),
          rule.name,
        );
      }
    }
  });

  it('writes what JSON.stringify writes for random rules, destinations named or not', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        for (const rule of policy.rules) {
          const used = usedBy(policy, rule);
          assert.equal(ruleContentJson(rule, used, []), contentByDefinition(rule, used, []));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('sameSelfContainedContent', () => {
  it('only calls two rules the same when their content texts are equal, and they then hash alike', () => {
    let same = 0;
    fc.assert(
      fc.property(nearRuleArb, nearRuleArb, fc.integer({ min: 0, max: 3 }), (a, other, pick) => {
        // Half the time the second rule is a copy of the first with at most one field of another.
        const b: RuleDef =
          pick === 0
            ? other
            : pick === 1
              ? structuredClone(a)
              : {
                  ...structuredClone(a),
                  [pick === 2 ? 'ports' : 'cidrs']: structuredClone(other[pick === 2 ? 'ports' : 'cidrs']),
                };
        const equalText = ruleContentJson(a, [], []) === ruleContentJson(b, [], []);
        assert.equal(sameSelfContainedContent(a, b), equalText);
        if (equalText) {
          same++;
          const hasher = new RuleContentHasher();
          assert.equal(hasher.hash(a), hasher.hash(b));
        }
      }),
      { numRuns: 3000 },
    );
    assert.ok(same > 500, `only ${same} draws had one content`);
  });

  it('calls a rule and its copy the same, whatever its name, agents and groups', () => {
    fc.assert(
      fc.property(nearRuleArb, (rule) => {
        const copy = { ...structuredClone(rule), name: 'other', agents: [], groups: ['group-a'] };
        assert.equal(sameSelfContainedContent(rule, copy), true);
        const hasher = new RuleContentHasher();
        assert.equal(hasher.hash(rule), hasher.hash(copy));
      }),
    );
  });

  it('never calls a rule that names a destination or an FQDN the same as another', () => {
    const base: RuleDef = {
      name: 'r',
      agents: ['agent-0'],
      groups: [],
      destinations: [],
      fqdns: [],
      cidrs: [],
      ports: [],
      action: 'allow',
      trusted: false,
      mode: 'enforce',
    };
    const named = { ...base, destinations: ['dest-a'] };
    const fqdn = { ...base, fqdns: ['files.example.net'] };
    assert.equal(isSelfContained(named), false);
    assert.equal(sameSelfContainedContent(named, named), false);
    assert.equal(sameSelfContainedContent(base, fqdn), false);
    assert.equal(sameSelfContainedContent(base, { ...base, rateBytesPerSecond: NaN }), false);
  });
});
