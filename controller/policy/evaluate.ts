// What a policy means, evaluated directly on the policy set: which agent a frame comes from, whether
// its source is one the agent may use, which rule decides it (the first in written order that
// applies to the agent and matches), and what audit mode does with a denial. It shares nothing with
// the compiler but address parsing, so that comparing the two checks the compiler against the
// language rather than against itself. Stateful limits (quota, rate, exfiltration) are not
// evaluated; the verdict lists the ones that would apply to a forwarded packet.
import { ReasonName } from '../pipeline/contract';
import { Address, parseAddress, parseCidr, parseMac, prefixContainsAddress } from './addr';
import {
  AgentDef,
  CidrSelector,
  DestinationDef,
  FqdnResolution,
  PolicySet,
  PortSelector,
  RuleDef,
  agentExfiltrationThreshold,
} from './model';

export const ETH_IPV4 = 0x0800;
export const ETH_IPV6 = 0x86dd;
export const ETH_ARP = 0x0806;

export interface Packet {
  readonly ingressPort: number;
  /** Colon-separated MAC. */
  readonly srcMac: string;
  readonly dstMac?: string;
  readonly ethType: number;
  readonly src?: string;
  readonly dst?: string;
  /** IPv4 protocol or IPv6 next header. */
  readonly protocol?: number;
  /** 0 when the data plane parses no L4 ports (not TCP/UDP, fragments, IPv4 options). */
  readonly dstPort?: number;
}

export type Limit = 'quota' | 'rate' | 'exfiltration';

export interface Verdict {
  readonly forward: boolean;
  /** Why it was (or, in audit mode, would have been) dropped; NONE when simply forwarded. */
  readonly reason: ReasonName;
  /** A policy drop turned into a forward by audit mode. */
  readonly audit: boolean;
  readonly agent?: string;
  readonly rule?: string;
  readonly egressPort?: number;
  /** Stateful checks that may still drop a packet this verdict forwards. */
  readonly limits: readonly Limit[];
}

export interface EvaluateOptions {
  readonly resolutions?: readonly FqdnResolution[];
}

function inSelectors(selectors: readonly CidrSelector[], addr: Address): boolean {
  return selectors.some((selector) => {
    const outer = parseCidr(selector.cidr);
    if (!('prefix' in outer) || !prefixContainsAddress(outer.prefix, addr)) return false;
    return !selector.except.some((e) => {
      const hole = parseCidr(e);
      return 'prefix' in hole && prefixContainsAddress(hole.prefix, addr);
    });
  });
}

function inFqdns(fqdns: readonly string[], addr: Address, resolutions: readonly FqdnResolution[]): boolean {
  return fqdns.some((name) =>
    resolutions
      .filter((r) => r.name === name)
      .some((r) =>
        r.addresses.some((a) => {
          const parsed = parseAddress(a);
          return parsed !== null && parsed.family === addr.family && parsed.value === addr.value;
        }),
      ),
  );
}

function inDestination(d: DestinationDef, addr: Address, resolutions: readonly FqdnResolution[]): boolean {
  return inSelectors(d.cidrs, addr) || inFqdns(d.fqdns, addr, resolutions);
}

function portMatches(selector: PortSelector, family: 4 | 6, protocol: number, port: number): boolean {
  const numbers: Record<PortSelector['protocol'], number[] | 'any'> = {
    TCP: [6],
    UDP: [17],
    ICMP: [family === 4 ? 1 : 58],
    ANY: selector.port === undefined ? 'any' : [6, 17],
  };
  const allowed = numbers[selector.protocol];
  if (allowed !== 'any' && !allowed.includes(protocol)) return false;
  if (selector.port === undefined) return true;
  return port >= selector.port && port <= (selector.endPort ?? selector.port);
}

interface Match {
  readonly rule: RuleDef;
  readonly quota: boolean;
}

function matchRule(
  policy: PolicySet,
  rule: RuleDef,
  addr: Address,
  protocol: number,
  port: number,
  resolutions: readonly FqdnResolution[],
): Match | undefined {
  if (
    rule.ports.length > 0 &&
    !rule.ports.some((p) => portMatches(p, addr.family as 4 | 6, protocol, port))
  ) {
    return undefined;
  }
  const used = rule.destinations
    .map((name) => policy.destinations.find((d) => d.name === name))
    .filter((d): d is DestinationDef => d !== undefined);
  const anywhere = used.length === 0 && rule.cidrs.length === 0 && rule.fqdns.length === 0;
  const viaDestination = used.filter((d) => inDestination(d, addr, resolutions));
  const direct = inSelectors(rule.cidrs, addr) || inFqdns(rule.fqdns, addr, resolutions);
  if (!anywhere && viaDestination.length === 0 && !direct) return undefined;
  // A rule's own quota covers all it matches; otherwise a named destination's quota applies to
  // the addresses of that destination.
  const quota = rule.action === 'allow' && (rule.quota !== undefined || viaDestination.some((d) => d.quota));
  return { rule, quota };
}

function drop(reason: ReasonName, agent?: AgentDef, rule?: RuleDef, uplinkPort?: number): Verdict {
  const policyReason = reason === 'NO_MATCH' || reason === 'DENY_RULE';
  const audit =
    policyReason && (agent?.mode === 'audit' || (reason === 'DENY_RULE' && rule?.mode === 'audit'));
  return {
    forward: audit,
    reason,
    audit,
    ...(agent ? { agent: agent.name } : {}),
    ...(rule ? { rule: rule.name } : {}),
    ...(audit ? { egressPort: uplinkPort } : {}),
    limits: [],
  };
}

/** The verdict the policy gives a frame, stateful limits aside. */
export function evaluatePolicy(policy: PolicySet, packet: Packet, options: EvaluateOptions = {}): Verdict {
  const resolutions = options.resolutions ?? [];
  if (packet.ingressPort === policy.uplinkPort) {
    const dst = packet.dstMac !== undefined ? parseMac(packet.dstMac) : null;
    const owner = policy.agents.find((a) => dst !== null && parseMac(a.mac) === dst);
    if (!owner) return drop('NO_ROUTE');
    return {
      forward: true,
      reason: 'NONE',
      audit: false,
      agent: owner.name,
      egressPort: owner.port,
      limits: [],
    };
  }
  const agent = policy.agents.find((a) => a.port === packet.ingressPort);
  if (!agent) return drop('UNKNOWN_PORT');
  if (parseMac(packet.srcMac) === null || parseMac(packet.srcMac) !== parseMac(agent.mac))
    return drop('SPOOFED', agent);
  if (packet.ethType === ETH_ARP) {
    return {
      forward: true,
      reason: 'NONE',
      audit: false,
      agent: agent.name,
      egressPort: policy.uplinkPort,
      limits: [],
    };
  }
  const family = packet.ethType === ETH_IPV4 ? 4 : packet.ethType === ETH_IPV6 ? 6 : undefined;
  if (family === undefined) return drop('NOT_IP', agent);
  const src = packet.src !== undefined ? parseAddress(packet.src, family) : null;
  const own = family === 4 ? agent.ipv4 : agent.ipv6;
  if (!src || !own.some((a) => parseAddress(a, family)?.value === src.value)) return drop('SPOOFED', agent);
  const dst = packet.dst !== undefined ? parseAddress(packet.dst, family) : null;
  if (!dst) return drop('NO_MATCH', agent, undefined, policy.uplinkPort);

  const groupsOfAgent = policy.groups.filter((g) => g.agents.includes(agent.name)).map((g) => g.name);
  for (const rule of policy.rules) {
    const applies = rule.agents.includes(agent.name) || rule.groups.some((g) => groupsOfAgent.includes(g));
    if (!applies) continue;
    const match = matchRule(policy, rule, dst, packet.protocol ?? 0, packet.dstPort ?? 0, resolutions);
    if (!match) continue;
    if (rule.action === 'deny') return drop('DENY_RULE', agent, rule, policy.uplinkPort);
    const limits: Limit[] = [];
    if (agentExfiltrationThreshold(policy, agent) !== undefined && !rule.trusted) limits.push('exfiltration');
    if (rule.rateBytesPerSecond !== undefined) limits.push('rate');
    if (match.quota) limits.push('quota');
    return {
      forward: true,
      reason: 'NONE',
      audit: false,
      agent: agent.name,
      rule: rule.name,
      egressPort: policy.uplinkPort,
      limits,
    };
  }
  return drop('NO_MATCH', agent, undefined, policy.uplinkPort);
}
