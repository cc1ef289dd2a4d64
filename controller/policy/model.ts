// The policy set after loading: every file merged, every reference checked, every quantity in base
// units and every address in its normalized spelling. The compiler and the reference evaluator read
// only this shape, which is plain JSON so that tests and benchmarks can also build it directly.

export type Mode = 'enforce' | 'audit';
export type RuleAction = 'allow' | 'deny';
export type Protocol = 'TCP' | 'UDP' | 'ICMP' | 'ANY';

export interface SourceLocation {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

export interface AgentDef {
  readonly name: string;
  /** DPU port (representor) number the agent's traffic enters on. */
  readonly port: number;
  /** Lower-case colon-separated MAC. */
  readonly mac: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  readonly mode: Mode;
  /** Bytes from sensitive sources after which untrusted egress is denied. */
  readonly exfiltrationThreshold?: number;
  readonly location?: SourceLocation;
}

export interface GroupDef {
  readonly name: string;
  readonly agents: readonly string[];
  readonly exfiltrationThreshold?: number;
  readonly location?: SourceLocation;
}

/** A CIDR with excepted sub-ranges; both normalized (`10.0.0.0/8`, `2001:db8::/32`). */
export interface CidrSelector {
  readonly cidr: string;
  readonly except: readonly string[];
}

export interface Quota {
  readonly bytes: number;
  readonly windowSeconds: number;
}

export interface DestinationDef {
  readonly name: string;
  readonly cidrs: readonly CidrSelector[];
  /** Lower-case fully qualified names, without the trailing dot. */
  readonly fqdns: readonly string[];
  /** Bytes received from these addresses count toward the receiver's exfiltration tally. */
  readonly sensitive: boolean;
  /** A budget shared, per agent, by every rule that reaches this destination. */
  readonly quota?: Quota;
  readonly location?: SourceLocation;
}

export interface PortSelector {
  readonly protocol: Protocol;
  /** Absent: every port of the protocol. */
  readonly port?: number;
  /** Inclusive end of a range starting at `port`. */
  readonly endPort?: number;
}

export interface RuleDef {
  readonly name: string;
  readonly agents: readonly string[];
  readonly groups: readonly string[];
  /** Named destinations (DestinationDef.name). */
  readonly destinations: readonly string[];
  readonly cidrs: readonly CidrSelector[];
  readonly fqdns: readonly string[];
  /** Empty: every protocol and port. */
  readonly ports: readonly PortSelector[];
  readonly action: RuleAction;
  readonly trusted: boolean;
  readonly mode: Mode;
  readonly quota?: Quota;
  readonly rateBytesPerSecond?: number;
  readonly location?: SourceLocation;
}

export interface PolicySet {
  readonly uplinkPort: number;
  readonly agents: readonly AgentDef[];
  readonly groups: readonly GroupDef[];
  readonly destinations: readonly DestinationDef[];
  /** In evaluation order: the first rule that matches a packet decides it. */
  readonly rules: readonly RuleDef[];
  /** Extra sensitive source CIDRs, normalized. */
  readonly sensitiveSources: readonly string[];
}

/** A rule without any destination selector applies to every destination. */
export function ruleHasDestinationSelector(rule: RuleDef): boolean {
  return rule.destinations.length > 0 || rule.cidrs.length > 0 || rule.fqdns.length > 0;
}

export interface RuleAgentIndex {
  /** For each rule (by position), the positions of the agents it applies to, ascending. */
  readonly agentsOfRule: readonly (readonly number[])[];
  /** For each agent (by position), the positions of the rules that apply to it, in rule order. */
  readonly rulesOfAgent: readonly (readonly number[])[];
}

/**
 * For each agent (by position), the positions of the rules that apply to it, in rule order, in time
 * linear in the number of (agent, rule) pairs.
 */
export function rulesByAgent(policy: PolicySet): number[][] {
  const agentPos = new Map<string, number>(policy.agents.map((agent, i) => [agent.name, i]));
  const groupMembers = new Map<string, number[]>();
  for (const group of policy.groups) {
    const members: number[] = [];
    for (const name of group.agents) {
      const i = agentPos.get(name);
      if (i !== undefined) members.push(i);
    }
    groupMembers.set(group.name, members);
  }
  const rulesOfAgent: number[][] = policy.agents.map(() => []);
  // Rules go by in order, so a rule reaching an agent twice (by name and through a group, or through
  // two groups) would be pushed twice in a row: it is enough to look at the last one.
  const add = (agent: number, r: number) => {
    const list = rulesOfAgent[agent];
    if (list.length === 0 || list[list.length - 1] !== r) list.push(r);
  };
  for (let r = 0; r < policy.rules.length; r++) {
    const rule = policy.rules[r];
    for (const name of rule.agents) {
      const i = agentPos.get(name);
      if (i !== undefined) add(i, r);
    }
    for (const group of rule.groups) {
      const members = groupMembers.get(group);
      if (members) for (const i of members) add(i, r);
    }
  }
  return rulesOfAgent;
}

/** Which rules apply to which agents, both ways. */
export function ruleAgentIndex(policy: PolicySet): RuleAgentIndex {
  const rulesOfAgent = rulesByAgent(policy);
  const agentsOfRule: number[][] = policy.rules.map(() => []);
  // Agents in ascending order, so each rule's list comes out sorted.
  rulesOfAgent.forEach((rules, a) => {
    for (const r of rules) agentsOfRule[r].push(a);
  });
  return { agentsOfRule, rulesOfAgent };
}

/** The tightest exfiltration threshold an agent is subject to, directly or through any of its groups. */
export function agentExfiltrationThreshold(policy: PolicySet, agent: AgentDef): number | undefined {
  let threshold = agent.exfiltrationThreshold;
  for (const group of policy.groups) {
    if (group.exfiltrationThreshold === undefined || !group.agents.includes(agent.name)) continue;
    threshold =
      threshold === undefined
        ? group.exfiltrationThreshold
        : Math.min(threshold, group.exfiltrationThreshold);
  }
  return threshold;
}

/** FQDN resolutions made before compiling: the compiler and evaluator read addresses only from here. */
export interface FqdnResolution {
  readonly name: string;
  /** Normalized addresses, both families. */
  readonly addresses: readonly string[];
  readonly ttlSeconds: number;
  /** ISO-8601 time of the lookup. */
  readonly resolvedAt: string;
}
