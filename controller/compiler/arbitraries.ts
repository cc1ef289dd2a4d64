// Random policy sets, edits and packets for the property tests (test support only: imports
// fast-check). Addresses come from a small universe of nested and adjacent prefixes so that random
// rules overlap, shadow and except each other often, and random packets hit their boundaries.
import fc from 'fast-check';
import {
  AgentDef,
  CidrSelector,
  DestinationDef,
  GroupDef,
  PolicySet,
  PortSelector,
  RuleDef,
} from '../policy/model';
import { ETH_ARP, ETH_IPV4, ETH_IPV6, Packet } from '../policy/evaluate';

const V4_CIDRS: readonly CidrSelector[] = [
  { cidr: '192.0.2.0/24', except: [] },
  { cidr: '192.0.2.0/24', except: ['192.0.2.128/26'] },
  { cidr: '192.0.2.0/25', except: [] },
  { cidr: '192.0.2.128/26', except: ['192.0.2.160/27', '192.0.2.130/32'] },
  { cidr: '192.0.2.7/32', except: [] },
  { cidr: '198.51.100.0/24', except: [] },
  { cidr: '0.0.0.0/0', except: ['192.0.2.0/24'] },
];
const V6_CIDRS: readonly CidrSelector[] = [
  { cidr: '2001:db8::/32', except: [] },
  { cidr: '2001:db8::/32', except: ['2001:db8:ffff::/48'] },
  { cidr: '2001:db8:1::/48', except: [] },
  { cidr: '::/0', except: ['2001:db8::/32'] },
];
const PORTS: readonly PortSelector[] = [
  { protocol: 'TCP', port: 443 },
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 80, endPort: 90 },
  { protocol: 'TCP' },
  { protocol: 'ICMP' },
  { protocol: 'ANY', port: 1000, endPort: 2000 },
  { protocol: 'ANY' },
];
export const V4_PROBES = [
  '192.0.2.0',
  '192.0.2.7',
  '192.0.2.127',
  '192.0.2.128',
  '192.0.2.130',
  '192.0.2.161',
  '192.0.2.200',
  '198.51.100.9',
  '10.9.9.9',
];
export const V6_PROBES = ['2001:db8::1', '2001:db8:1::5', '2001:db8:ffff::1', 'fd00::9'];
export const PROTOCOL_PROBES = [6, 17, 1, 58, 47];
export const PORT_PROBES = [0, 53, 85, 443, 1500, 9999];
export const AGENT_COUNT = 3;

export const agentDef = (i: number, mode: 'enforce' | 'audit', threshold?: number): AgentDef => ({
  name: `agent-${i}`,
  port: i + 1,
  mac: `02:00:00:00:00:0${i + 1}`,
  ipv4: i === 2 ? [] : [`10.0.0.${i + 1}`],
  ipv6: [`fd00::${i + 1}`],
  mode,
  ...(threshold !== undefined ? { exfiltrationThreshold: threshold } : {}),
});

const ruleArb = (name: string): fc.Arbitrary<RuleDef> =>
  fc
    .record({
      agents: fc.subarray(['agent-0', 'agent-1', 'agent-2']),
      groups: fc.subarray(['group-a']),
      destinations: fc.subarray(['dest-a', 'dest-b']),
      v4: fc.subarray([...V4_CIDRS], { maxLength: 2 }),
      v6: fc.subarray([...V6_CIDRS], { maxLength: 1 }),
      ports: fc.subarray([...PORTS], { maxLength: 2 }),
      deny: fc.boolean(),
      trusted: fc.boolean(),
      audit: fc.integer({ min: 0, max: 4 }),
      quota: fc.integer({ min: 0, max: 3 }),
      rate: fc.integer({ min: 0, max: 3 }),
    })
    .map((r) => ({
      name,
      agents: r.agents.length + r.groups.length === 0 ? ['agent-0'] : r.agents,
      groups: r.groups,
      destinations: r.destinations,
      cidrs: [...r.v4, ...r.v6],
      fqdns: [],
      ports: r.ports,
      action: r.deny ? 'deny' : 'allow',
      trusted: r.trusted,
      mode: r.audit === 0 ? 'audit' : 'enforce',
      ...(!r.deny && r.quota === 0 ? { quota: { bytes: 1 << 20, windowSeconds: 3600 } } : {}),
      ...(!r.deny && r.rate === 0 ? { rateBytesPerSecond: 125000 } : {}),
    }));

const DESTINATIONS: readonly DestinationDef[] = [
  { name: 'dest-a', cidrs: [V4_CIDRS[2], V6_CIDRS[2]], fqdns: [], sensitive: true },
  {
    name: 'dest-b',
    cidrs: [V4_CIDRS[4]],
    fqdns: [],
    sensitive: false,
    quota: { bytes: 5000, windowSeconds: 60 },
  },
];

export const policyArb: fc.Arbitrary<PolicySet> = fc
  .record({
    modes: fc.array(fc.constantFrom<'enforce' | 'audit'>('enforce', 'enforce', 'audit'), {
      minLength: 3,
      maxLength: 3,
    }),
    present: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    threshold: fc.option(fc.constant(1 << 20)),
    members: fc.subarray(['agent-0', 'agent-1', 'agent-2']),
    ruleCount: fc.integer({ min: 0, max: 7 }),
  })
  .chain((base) =>
    fc.tuple(
      fc.constant(base),
      fc.tuple(...Array.from({ length: base.ruleCount }, (_, i) => ruleArb(`rule-${i}`))),
    ),
  )
  .map(([base, rules]) => {
    const agents = [0, 1, 2].filter((i) => base.present[i] || i === 0).map((i) => agentDef(i, base.modes[i]));
    const names = new Set(agents.map((a) => a.name));
    const groups: GroupDef[] = [
      {
        name: 'group-a',
        agents: base.members.filter((m) => names.has(m)),
        ...(base.threshold !== null ? { exfiltrationThreshold: base.threshold } : {}),
      },
    ];
    return {
      uplinkPort: 0,
      agents,
      groups,
      destinations: DESTINATIONS,
      rules: rules as RuleDef[],
      sensitiveSources: ['10.20.0.0/16'],
    };
  });

type Edit =
  | { op: 'remove'; at: number }
  | { op: 'insert'; at: number; rule: RuleDef }
  | { op: 'insertPair'; at: number; deny: RuleDef; allow: RuleDef }
  | { op: 'replace'; at: number; rule: RuleDef }
  | { op: 'swap'; at: number; with: number }
  | { op: 'mode'; agent: number }
  | { op: 'dropAgent'; agent: number }
  | { op: 'moveAgent'; agent: number };

const editArb = (serial: number): fc.Arbitrary<Edit> =>
  fc.oneof(
    fc.record({ op: fc.constant('remove' as const), at: fc.nat(9) }),
    ruleArb(`new-${serial}`).chain((rule) =>
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(9), rule: fc.constant(rule) }),
    ),
    ruleArb('x').chain((rule) =>
      fc.record({ op: fc.constant('replace' as const), at: fc.nat(9), rule: fc.constant(rule) }),
    ),
    // A deny and, right after it, an allow of the same traffic or more: both new, so the deny must
    // be in before the allow it shadows.
    fc.tuple(ruleArb(`pair-${serial}-d`), fc.boolean(), fc.nat(9)).map(([rule, wider, at]): Edit => ({
      op: 'insertPair',
      at,
      deny: { ...rule, action: 'deny', quota: undefined, rateBytesPerSecond: undefined },
      allow: { ...rule, name: `pair-${serial}-a`, action: 'allow', ...(wider ? { ports: [] } : {}) },
    })),
    fc.record({ op: fc.constant('swap' as const), at: fc.nat(9), with: fc.nat(9) }),
    fc.record({ op: fc.constant('mode' as const), agent: fc.nat(2) }),
    fc.record({ op: fc.constant('dropAgent' as const), agent: fc.nat(2) }),
    fc.record({ op: fc.constant('moveAgent' as const), agent: fc.nat(2) }),
  );

function applyEdit(policy: PolicySet, edit: Edit): PolicySet {
  const rules = [...policy.rules];
  const at = (n: number) => (rules.length === 0 ? 0 : n % rules.length);
  switch (edit.op) {
    case 'remove':
      if (rules.length > 0) rules.splice(at(edit.at), 1);
      return { ...policy, rules };
    case 'insert':
      if (rules.some((r) => r.name === edit.rule.name)) return policy;
      rules.splice(rules.length === 0 ? 0 : edit.at % (rules.length + 1), 0, edit.rule);
      return { ...policy, rules };
    case 'insertPair': {
      if (rules.some((r) => r.name === edit.deny.name || r.name === edit.allow.name)) return policy;
      rules.splice(rules.length === 0 ? 0 : edit.at % (rules.length + 1), 0, edit.deny, edit.allow);
      return { ...policy, rules };
    }
    case 'replace':
      if (rules.length === 0) return policy;
      rules[at(edit.at)] = { ...edit.rule, name: rules[at(edit.at)].name };
      return { ...policy, rules };
    case 'swap': {
      if (rules.length === 0) return policy;
      const [i, j] = [at(edit.at), at(edit.with)];
      [rules[i], rules[j]] = [rules[j], rules[i]];
      return { ...policy, rules };
    }
    case 'mode':
      return {
        ...policy,
        agents: policy.agents.map((a, i) =>
          i === edit.agent ? { ...a, mode: a.mode === 'audit' ? 'enforce' : 'audit' } : a,
        ),
      };
    case 'moveAgent':
      // Moves the agent to a port no one uses.
      return {
        ...policy,
        agents: policy.agents.map((a, i) => (i === edit.agent ? { ...a, port: 10 + a.port } : a)),
      };
    case 'dropAgent': {
      const victim = policy.agents[edit.agent];
      if (!victim || policy.agents.length === 1) return policy;
      const agents = policy.agents.filter((a) => a !== victim);
      const groups = policy.groups.map((g) => ({ ...g, agents: g.agents.filter((a) => a !== victim.name) }));
      const kept = rules
        .map((r) => ({ ...r, agents: r.agents.filter((a) => a !== victim.name) }))
        .filter((r) => r.agents.length > 0 || r.groups.length > 0);
      return { ...policy, agents, groups, rules: kept };
    }
  }
}

/** A policy and an edited version of it. */
export const policyEditArb: fc.Arbitrary<[PolicySet, PolicySet]> = policyArb.chain((policy) =>
  fc
    .array(fc.nat(1000), { minLength: 1, maxLength: 4 })
    .chain((serials) => fc.tuple(...serials.map((s, i) => editArb(s * 10 + i))))
    .map((edits) => [policy, edits.reduce(applyEdit, policy)] as [PolicySet, PolicySet]),
);

/** Packets from each agent port (plus the uplink and an unknown port), aimed at the probe addresses. */
export function probePackets(policy: PolicySet): Packet[] {
  const out: Packet[] = [];
  const ports = [...policy.agents.map((a) => a.port), 7];
  for (const port of ports) {
    const agent = policy.agents.find((a) => a.port === port);
    const mac = agent?.mac ?? '02:00:00:00:00:99';
    for (const [ethType, src, probes] of [
      [ETH_IPV4, agent?.ipv4[0] ?? '10.0.0.1', V4_PROBES],
      [ETH_IPV6, agent?.ipv6[0] ?? 'fd00::1', V6_PROBES],
    ] as const) {
      for (const dst of probes) {
        for (const protocol of PROTOCOL_PROBES) {
          for (const dstPort of protocol === 6 || protocol === 17 ? PORT_PROBES : [0]) {
            out.push({ ingressPort: port, srcMac: mac, ethType, src, dst, protocol, dstPort });
          }
        }
      }
      out.push({
        ingressPort: port,
        srcMac: mac,
        ethType,
        src: ethType === ETH_IPV4 ? '10.0.0.77' : 'fd00::77',
        dst: probes[0],
        protocol: 6,
        dstPort: 443,
      });
    }
    out.push({
      ingressPort: port,
      srcMac: '02:00:00:00:00:99',
      ethType: ETH_IPV4,
      src: '10.0.0.1',
      dst: '192.0.2.7',
      protocol: 6,
      dstPort: 443,
    });
    out.push({ ingressPort: port, srcMac: mac, ethType: ETH_ARP });
    out.push({ ingressPort: port, srcMac: mac, ethType: 0x88cc });
  }
  for (const agent of policy.agents)
    out.push({
      ingressPort: policy.uplinkPort,
      srcMac: '02:00:00:00:00:aa',
      dstMac: agent.mac,
      ethType: ETH_IPV4,
    });
  out.push({
    ingressPort: policy.uplinkPort,
    srcMac: '02:00:00:00:00:aa',
    dstMac: '02:00:00:00:00:bb',
    ethType: ETH_IPV4,
  });
  return out;
}

/** A random packet around the probe universe. */
export const packetArb = (policy: PolicySet): fc.Arbitrary<Packet> =>
  fc
    .record({
      port: fc.constantFrom(...policy.agents.map((a) => a.port), policy.uplinkPort, 7),
      family: fc.constantFrom(4, 6),
      dst4: fc.constantFrom(...V4_PROBES),
      dst6: fc.constantFrom(...V6_PROBES),
      protocol: fc.constantFrom(...PROTOCOL_PROBES),
      dstPort: fc.constantFrom(...PORT_PROBES, 1000, 2000, 2001, 79, 90, 91),
      spoof: fc.integer({ min: 0, max: 9 }),
    })
    .map((r) => {
      const agent = policy.agents.find((a) => a.port === r.port);
      const mac = r.spoof === 0 ? '02:00:00:00:00:99' : (agent?.mac ?? '02:00:00:00:00:aa');
      const v4 = r.family === 4 && (agent?.ipv4.length ?? 1) > 0;
      const src =
        r.spoof === 1
          ? v4
            ? '10.0.0.99'
            : 'fd00::99'
          : v4
            ? (agent?.ipv4[0] ?? '10.0.0.1')
            : (agent?.ipv6[0] ?? 'fd00::1');
      return {
        ingressPort: r.port,
        srcMac: mac,
        dstMac: policy.agents[r.spoof % policy.agents.length]?.mac,
        ethType: v4 ? ETH_IPV4 : ETH_IPV6,
        src,
        dst: v4 ? r.dst4 : r.dst6,
        protocol: r.protocol,
        dstPort: r.protocol === 6 || r.protocol === 17 ? r.dstPort : 0,
      };
    });
