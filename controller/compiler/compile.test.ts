import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { ACTIONS, NO_EXFIL_LIMIT, RuleFlag, TABLES } from '../pipeline/contract';
import { EntrySpec, entryKey } from '../pipeline/entries';
import { PROFILES } from '../pipeline/profiles';
import { ETH_IPV4, ETH_IPV6, evaluatePolicy } from '../policy/evaluate';
import { loadPolicySources } from '../policy/load';
import { FqdnResolution, PolicySet } from '../policy/model';
import { agentDef, packetArb, policyArb, policyEditArb } from './arbitraries';
import { CompileError, compilePolicy, compiledToJson, rateMeter, tableCapacity } from './compile';
import { evaluateEntries, groupByTable } from './entryEval';
import { decodeProvenance, fnv1a, hex8 } from './metadata';
import { MAX_PRIORITY, allocatePriorities } from './priorities';
import { isSelfContained, ruleContentJson } from './ruleContent';

const REPO = path.resolve(__dirname, '..', '..', '..');
const RESOLUTIONS: FqdnResolution[] = [
  {
    name: 'files.example.net',
    addresses: ['192.0.2.80'],
    ttlSeconds: 300,
    resolvedAt: '2025-01-01T00:00:00.000Z',
  },
];

function loadExample(name: string): PolicySet {
  const file = `examples/${name}.policy.yaml`;
  const result = loadPolicySources([{ file, text: fs.readFileSync(path.join(REPO, file), 'utf8') }]);
  assert.deepEqual(
    result.diagnostics.map((d) => d.format()),
    [],
  );
  return result.policySet as PolicySet;
}

describe('compilePolicy against the policy semantics', () => {
  for (const profileName of ['bmv2', 'bluefield-dpl'] as const) {
    it(`entries decide random packets as evaluatePolicy does (${profileName})`, () => {
      const profile = PROFILES[profileName];
      fc.assert(
        fc.property(
          policyArb.chain((policy) =>
            fc.tuple(fc.constant(policy), fc.array(packetArb(policy), { minLength: 40, maxLength: 40 })),
          ),
          ([policy, packets]) => {
            const compiled = compilePolicy(policy, profile);
            const tables = groupByTable(compiled.entries);
            const names = {
              agents: new Map(compiled.agents.map((a) => [a.agentId, a.name])),
              rules: new Map(compiled.rules.map((r) => [r.ruleId, r.rule])),
            };
            for (const packet of packets) {
              const want = evaluatePolicy(policy, packet);
              const got = evaluateEntries(tables, packet, names);
              const context = `${JSON.stringify(packet)}\nwant ${JSON.stringify(want)}\ngot ${JSON.stringify(got)}`;
              assert.equal(got.forward, want.forward, context);
              assert.equal(got.reason, want.reason, context);
              assert.equal(got.audit, want.audit, context);
              assert.equal(got.rule, want.rule, context);
              assert.equal(got.agent, want.agent, context);
              assert.equal(got.egressPort, want.egressPort, context);
              // Controller-enforced quotas also meter their traffic, so only the data-plane form maps 1:1.
              if (profile.registers)
                assert.deepEqual([...got.limits].sort(), [...want.limits].sort(), context);
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('never gives two overlapping entries of one agent the same priority', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const compiled = compilePolicy(policy, PROFILES.bmv2);
        const acl = compiled.entries.filter((e) => e.priority !== undefined);
        const byAgentPriority = new Map<string, EntrySpec[]>();
        for (const e of acl) {
          const k = `${e.table}|${e.match.agent_id && 'value' in e.match.agent_id ? e.match.agent_id.value : ''}|${e.priority}`;
          byAgentPriority.set(k, [...(byAgentPriority.get(k) ?? []), e]);
        }
        for (const group of byAgentPriority.values()) {
          for (let i = 0; i < group.length; i++) {
            for (let j = i + 1; j < group.length; j++)
              assert.ok(!overlap(group[i], group[j]), `${entryKey(group[i])} overlaps ${entryKey(group[j])}`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('produces the same output when reusing the previous compile’s entries', () => {
    for (const profile of [PROFILES.bmv2, PROFILES['bluefield-dpl']]) {
      fc.assert(
        fc.property(policyEditArb, ([before, after]) => {
          const old = compilePolicy(before, profile);
          const plain = compilePolicy(after, profile, { previous: old.allocation });
          const reusing = compilePolicy(after, profile, { previous: old.allocation, reuse: old });
          assert.deepEqual(compiledToJson(reusing), compiledToJson(plain));
        }),
        { numRuns: 100 },
      );
    }
  });

  it('is deterministic and keeps ids and priorities across an unchanged recompile', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const a = compilePolicy(policy, PROFILES.bmv2);
        const b = compilePolicy(policy, PROFILES.bmv2);
        const c = compilePolicy(policy, PROFILES.bmv2, { previous: a.allocation });
        assert.deepEqual(compiledToJson(a), compiledToJson(b));
        assert.deepEqual(compiledToJson(c), compiledToJson(a));
      }),
      { numRuns: 50 },
    );
  });
});

/** Each rule's digest, as its entries' provenance carries it. */
function ruleDigestsOf(entries: readonly EntrySpec[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of entries) {
    const provenance = decodeProvenance(entry.metadata);
    if (provenance?.kind === 'rule') out.set(provenance.name, provenance.digest);
  }
  return out;
}

describe('compilePolicy on rules of one content', () => {
  it('finds a rule of a content seen before without serializing it, as serializing it would', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        // The same rules as objects of their own, so that no rule shares a part with another.
        const rebuilt: PolicySet = { ...policy, rules: policy.rules.map((rule) => structuredClone(rule)) };
        const compiled = compilePolicy(policy, PROFILES.bmv2);
        assert.deepEqual(compiledToJson(compilePolicy(rebuilt, PROFILES.bmv2)), compiledToJson(compiled));
        // In reverse order another rule of each content comes first and lends its body to the rest.
        const reversed = { ...rebuilt, rules: [...rebuilt.rules].reverse() };
        const digests = ruleDigestsOf(compiled.entries);
        assert.deepEqual(ruleDigestsOf(compilePolicy(reversed, PROFILES.bmv2).entries), digests);
        // The digest's definition: FNV-1a of the JSON array of the rule's name, agents and groups
        // followed by the items of its content text (whose own definition ruleContent.test.ts checks).
        for (const rule of policy.rules) {
          if (!isSelfContained(rule) || !digests.has(rule.name)) continue;
          const head = [rule.name, rule.agents, rule.groups].map((item) => JSON.stringify(item)).join(',');
          const text = `[${head},${ruleContentJson(rule, [], []).slice(1)}`;
          assert.equal(digests.get(rule.name), hex8(fnv1a(text)), rule.name);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('gives a new agent an id no previous compile used, from below once the ids above run out', () => {
    const policy: PolicySet = {
      uplinkPort: 0,
      agents: [agentDef(0, 'enforce'), agentDef(1, 'enforce'), agentDef(2, 'enforce')],
      groups: [],
      destinations: [],
      sensitiveSources: [],
      rules: [],
    };
    // agent-0 had the last id the register holds and agent-9 (gone) had 1: both stay taken.
    const previous = { agents: { 'agent-0': 4095, 'agent-9': 1 }, pairs: {}, quotaSlots: {}, meters: {} };
    const compiled = compilePolicy(policy, PROFILES.bmv2, { previous });
    assert.deepEqual(compiled.allocation.agents, { 'agent-0': 4095, 'agent-1': 2, 'agent-2': 3 });
  });

  it('tells apart rules whose content differs in one port only', () => {
    const policy: PolicySet = {
      uplinkPort: 0,
      agents: [agentDef(0, 'enforce')],
      groups: [],
      destinations: [],
      sensitiveSources: [],
      rules: [443, 444].map((port) => ({
        name: `web-${port}`,
        agents: ['agent-0'],
        groups: [],
        destinations: [],
        fqdns: [],
        cidrs: [{ cidr: '192.0.2.0/24', except: [] }],
        ports: [{ protocol: 'TCP', port }],
        action: 'allow',
        trusted: false,
        mode: 'enforce',
      })),
    };
    const compiled = compilePolicy(policy, PROFILES.bmv2);
    const ports = compiled.entries
      .filter((e) => e.table === TABLES.aclV4.name)
      .map((e) => {
        const field = e.match.dst_port;
        return field?.kind === 'range' ? Number(field.low) : undefined;
      });
    assert.deepEqual(ports, [443, 444]);
    const digests = ruleDigestsOf(compiled.entries);
    assert.notEqual(digests.get('web-443'), digests.get('web-444'));
  });
});

function overlap(a: EntrySpec, b: EntrySpec): boolean {
  for (const name of new Set([...Object.keys(a.match), ...Object.keys(b.match)])) {
    const x = a.match[name];
    const y = b.match[name];
    if (!x || !y) continue;
    if (x.kind === 'exact' && y.kind === 'exact' && x.value !== y.value) return false;
    if (x.kind === 'ternary' && y.kind === 'ternary' && ((x.value ^ y.value) & x.mask & y.mask) !== 0n)
      return false;
    if (x.kind === 'range' && y.kind === 'range' && (x.high < y.low || y.high < x.low)) return false;
  }
  return true;
}

describe('compilePolicy output', () => {
  const support = loadExample('support-agent');

  it('compiles the support-agent example into the expected entries', () => {
    const compiled = compilePolicy(support, PROFILES.bmv2);
    const portMap = compiled.entries.filter((e) => e.table === TABLES.portMap.name);
    assert.deepEqual(
      portMap.map((e) => [e.match.ingress_port, e.action, e.params]),
      [
        [
          { kind: 'exact', value: 1n },
          ACTIONS.agentPort.name,
          { agent_id: 1n, uplink_port: 0n, flags: 0n, exfil_limit: NO_EXFIL_LIMIT },
        ],
        [{ kind: 'exact', value: 0n }, ACTIONS.uplinkPort.name, {}],
      ],
    );
    const llm = compiled.entries.filter((e) => decodeProvenance(e.metadata)?.name === 'llm');
    assert.equal(llm.length, 1);
    assert.deepEqual(llm[0].match, {
      agent_id: { kind: 'exact', value: 1n },
      dst_addr: { kind: 'ternary', value: 0xcb007100n, mask: 0xffffff00n },
      protocol: { kind: 'ternary', value: 6n, mask: 0xffn },
      dst_port: { kind: 'range', low: 443n, high: 443n },
    });
    assert.equal(llm[0].action, ACTIONS.allowQuota.name);
    assert.deepEqual(llm[0].params, {
      rule_id: 3n,
      flags: 0n,
      quota_slot: 1n,
      budget: 52428800n,
      meter_index: 0n,
    });
    assert.deepEqual(compiled.quotaSlots, [
      {
        slot: 1,
        agent: 'support-agent',
        rules: ['llm'],
        budgetBytes: 52428800,
        windowSeconds: 3600,
        enforcement: 'dataplane',
      },
    ]);
    const sensitive = compiled.entries.filter((e) => e.table === TABLES.sensitiveV4.name);
    assert.deepEqual(
      sensitive.map((e) => e.match.src_addr),
      [{ kind: 'lpm', value: 0x0a140005n, prefixLen: 32 }],
    );
    const priorities = compiled.rules.map((r) => r.priority);
    assert.deepEqual(
      [...priorities].sort((a, b) => b - a),
      priorities,
    );
    assert.match(compiled.version, /^[0-9a-f]{64}$/);
  });

  it('splits an except into the prefixes that remain', () => {
    const compiled = compilePolicy(loadExample('no-export'), PROFILES.bmv2, { resolutions: RESOLUTIONS });
    const exportEntries = compiled.entries.filter((e) => decodeProvenance(e.metadata)?.name === 'export');
    const prefixes = exportEntries.map((e) => {
      const f = e.match.dst_addr;
      assert.ok(f && f.kind === 'ternary');
      return `${f.value.toString(16)}/${f.mask.toString(2).replace(/0/g, '').length}`;
    });
    // 198.51.100.0/24 without .0/28, plus the DNS answer for files.example.net.
    assert.deepEqual(
      prefixes.sort(),
      ['c0000250/32', 'c6336410/28', 'c6336420/27', 'c6336440/26', 'c6336480/25'].sort(),
    );
    assert.deepEqual(compiled.resolutions, RESOLUTIONS);
    const crm = compiled.entries.find((e) => decodeProvenance(e.metadata)?.name === 'crm-query');
    assert.equal(crm?.params.flags, BigInt(RuleFlag.TRUSTED));
    const port = compiled.entries.find((e) => e.action === ACTIONS.agentPort.name);
    assert.equal(port?.params.exfil_limit, 1048576n);
  });

  it('warns about a name with no DNS answer and compiles it to nothing', () => {
    const compiled = compilePolicy(loadExample('no-export'), PROFILES.bmv2);
    assert.deepEqual(
      compiled.warnings.map((w) => w.code),
      ['FQDN_UNRESOLVED'],
    );
    assert.equal(compiled.rules.find((r) => r.rule === 'export')?.entries, 4);
  });

  it('compiles quotas to the counter-driven form on a target without registers', () => {
    const compiled = compilePolicy(support, PROFILES['bluefield-dpl'], { counterPollSeconds: 2 });
    const [slot] = compiled.quotaSlots;
    assert.equal(slot.enforcement, 'controller');
    const meter = compiled.meters.find((m) => m.index === slot.overshootMeter);
    // 10% of 50 MiB per 2 s read interval.
    assert.equal(meter?.cir, BigInt(Math.floor((52428800 * 0.1) / 2)));
    assert.equal(slot.overshootBytes, Math.floor((52428800 * 0.1) / 2) * 2);
    const llm = compiled.entries.find((e) => decodeProvenance(e.metadata)?.name === 'llm');
    assert.equal(llm?.action, ACTIONS.allowQuota.name);
    assert.equal(llm?.params.meter_index, BigInt(slot.overshootMeter as number));
  });

  it('sizes meter bursts to 100 ms of traffic and at least two full frames', () => {
    assert.equal(rateMeter(1, 2_500_000).cburst, 250_000n);
    assert.equal(rateMeter(1, 1000).cburst, 3028n);
    assert.equal(rateMeter(1, 1000).pir, 1000n);
  });

  it('refuses a policy that does not fit, naming the table, the need and the limit', () => {
    const agents = Array.from({ length: 600 }, (_, i) => ({
      ...agentDef(0, 'enforce'),
      name: `a-${i}`,
      port: i + 1 >= 255 ? i + 2 : i + 1,
      mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    }));
    const policy: PolicySet = {
      uplinkPort: 0,
      agents,
      groups: [],
      destinations: [],
      rules: [],
      sensitiveSources: [],
    };
    assert.throws(
      () => compilePolicy(policy, PROFILES.bmv2),
      (e: unknown) =>
        e instanceof CompileError &&
        e.code === 'CAPACITY' &&
        /table NicguardIngress\.port_map needs 601 entries, bmv2 holds 512/.test(e.message) &&
        /port 601 does not fit the 9-bit port field/.test(e.message),
    );
    const unchecked = compilePolicy(policy, PROFILES.bmv2, { checkCapacity: false });
    assert.deepEqual(
      unchecked.capacityIssues.map((i) => [i.resource, i.need, i.limit]),
      [
        [TABLES.portMap.name, 601, 512],
        ['ports', 601, 511],
      ],
    );
  });

  it('rounds table sizes down to a power of two where the target needs it', () => {
    assert.equal(tableCapacity('aclV4', PROFILES['bluefield-dpl']), 131072);
    assert.equal(tableCapacity('portMap', { ...PROFILES['bluefield-dpl'], powerOfTwoSizesBelow: 300 }), 256);
    assert.equal(tableCapacity('portMap', PROFILES.bmv2), 512);
  });

  it('compiles an IPv6-only agent to IPv6 tables only', () => {
    const compiled = compilePolicy(loadExample('ipv6-agent'), PROFILES.bmv2);
    assert.equal(
      compiled.entries.filter((e) => e.table === TABLES.aclV4.name || e.table === TABLES.ipv4Guard.name)
        .length,
      0,
    );
    const verdict = evaluateEntries(compiled.entries, {
      ingressPort: 4,
      srcMac: '02:00:00:00:00:04',
      ethType: ETH_IPV4,
      src: '10.0.4.10',
      dst: '192.0.2.1',
      protocol: 6,
      dstPort: 443,
    });
    assert.equal(verdict.reason, 'SPOOFED');
    const ok = evaluateEntries(compiled.entries, {
      ingressPort: 4,
      srcMac: '02:00:00:00:00:04',
      ethType: ETH_IPV6,
      src: 'fd00:4::10',
      dst: '2001:db8:1::1',
      protocol: 6,
      dstPort: 443,
    });
    assert.deepEqual([ok.forward, ok.limits], [true, ['rate']]);
  });
});

describe('allocatePriorities', () => {
  it('keeps every priority that still agrees with the order and fills gaps between neighbours', () => {
    const first = allocatePriorities([undefined, undefined, undefined]);
    assert.ok(first[0] > first[1] && first[1] > first[2] && first[2] >= 1 && first[0] <= MAX_PRIORITY);
    const inserted = allocatePriorities([first[0], undefined, first[1], first[2]]);
    assert.deepEqual([inserted[0], inserted[2], inserted[3]], first);
    assert.ok(inserted[1] < first[0] && inserted[1] > first[1]);
  });

  it('always yields strictly decreasing priorities in range, whatever came before', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: -5, max: MAX_PRIORITY + 5 }), { nil: undefined }), {
          maxLength: 40,
        }),
        (previous) => {
          const out = allocatePriorities(previous);
          assert.equal(out.length, previous.length);
          for (let i = 0; i < out.length; i++) {
            assert.ok(out[i] >= 1 && out[i] <= MAX_PRIORITY);
            if (i > 0) assert.ok(out[i] < out[i - 1]);
          }
        },
      ),
    );
  });

  it('renumbers when a gap is exhausted', () => {
    const out = allocatePriorities([10, undefined, undefined, 9]);
    assert.ok(out[0] > out[1] && out[1] > out[2] && out[2] > out[3]);
    assert.notEqual(out[0], 10);
  });
});

describe('golden compiler output', () => {
  const GOLDEN = path.join(REPO, 'controller', 'compiler', 'golden');
  const cases: [string, 'bmv2' | 'bluefield-dpl'][] = [
    ['support-agent', 'bmv2'],
    ['support-agent', 'bluefield-dpl'],
    ['no-export', 'bmv2'],
    ['audit-agent', 'bmv2'],
    ['ipv6-agent', 'bmv2'],
  ];
  for (const [example, profile] of cases) {
    it(`${example} on ${profile} matches golden/${example}.${profile}.json (NICGUARD_UPDATE_GOLDEN=1 rewrites)`, () => {
      const compiled = compilePolicy(loadExample(example), PROFILES[profile], { resolutions: RESOLUTIONS });
      // JSON round trip: the golden file holds plain JSON values, however it is formatted.
      const actual: unknown = JSON.parse(JSON.stringify(compiledToJson(compiled)));
      const file = path.join(GOLDEN, `${example}.${profile}.json`);
      if (process.env.NICGUARD_UPDATE_GOLDEN === '1') {
        fs.mkdirSync(GOLDEN, { recursive: true });
        fs.writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
      }
      assert.deepEqual(actual, JSON.parse(fs.readFileSync(file, 'utf8')), `stale golden file ${file}`);
    });
  }
});
