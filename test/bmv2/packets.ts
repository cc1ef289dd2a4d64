// Packets for the differential test: wire frames for policy-level packet descriptions, and for a
// written policy (the examples) the packets at the edges of every rule it has — first and last
// address of each CIDR and the addresses just outside, each excepted range, the ends of each port
// range and one past them — plus the identity cases (spoofed MAC or address, unknown port, ARP,
// non-IP) and traffic from the uplink, sensitive sources included.

import { ETH_ARP, ETH_IPV4, ETH_IPV6, type Packet } from '../../controller/policy/evaluate';
import { formatAddress, parseCidr, type Family } from '../../controller/policy/addr';
import type { AgentDef, CidrSelector, PolicySet, PortSelector, RuleDef } from '../../controller/policy/model';
import { arpFrame, ethernet, ipFrame, type Transport } from '../../controller/traffic/frames';

export const GATEWAY_MAC = '02:00:00:00:00:fe';
const STRANGER_MAC = '02:00:00:00:00:99';
const UNUSED_PORT = 7;

/** The frame a Packet describes, as it would arrive on the wire. */
export function frameOf(p: Packet): Uint8Array {
  const dstMac = p.dstMac ?? GATEWAY_MAC;
  if (p.ethType === ETH_ARP) {
    return arpFrame({ op: 'request', senderMac: p.srcMac, senderIp: '10.0.0.1', targetIp: '10.0.0.254' });
  }
  if (p.ethType !== ETH_IPV4 && p.ethType !== ETH_IPV6) {
    return ethernet({ dst: dstMac, src: p.srcMac, etherType: p.ethType, payload: new Uint8Array(46) });
  }
  const family = p.ethType === ETH_IPV4 ? 4 : 6;
  const protocol = p.protocol ?? 0;
  let transport: Transport;
  if (protocol === 6) transport = { proto: 'tcp', srcPort: 40000, dstPort: p.dstPort ?? 0 };
  else if (protocol === 17) transport = { proto: 'udp', srcPort: 40000, dstPort: p.dstPort ?? 0 };
  else if ((family === 4 && protocol === 1) || (family === 6 && protocol === 58))
    transport = { proto: 'icmp' };
  else transport = { proto: 'raw', protocol };
  return ipFrame({
    srcMac: p.srcMac,
    dstMac,
    src: p.src ?? (family === 4 ? '10.0.0.1' : 'fd00::1'),
    dst: p.dst ?? (family === 4 ? '10.0.0.2' : 'fd00::2'),
    transport,
    payloadSize: 32,
  });
}

const familyOfCidr = (cidr: string): Family => (cidr.includes(':') ? 6 : 4);

/** First and last address of a CIDR, and the neighbours just outside it. */
function edgeAddresses(cidr: string): string[] {
  const parsed = parseCidr(cidr);
  if (!('prefix' in parsed)) return [];
  const { family, value, len } = parsed.prefix;
  const bits = family === 4 ? 32 : 128;
  const last = value + (1n << BigInt(bits - len)) - 1n;
  const max = (1n << BigInt(bits)) - 1n;
  const out = [value, last];
  if (value > 0n) out.push(value - 1n);
  if (last < max) out.push(last + 1n);
  return out.map((v) => formatAddress(family, v));
}

function selectorAddresses(selector: CidrSelector): string[] {
  return [...edgeAddresses(selector.cidr), ...selector.except.flatMap((e) => edgeAddresses(e).slice(0, 2))];
}

interface Probe {
  readonly protocol: number;
  readonly dstPort: number;
}

function portProbes(selectors: readonly PortSelector[], family: Family): Probe[] {
  const icmp = family === 4 ? 1 : 58;
  if (selectors.length === 0) {
    return [
      { protocol: 6, dstPort: 443 },
      { protocol: 17, dstPort: 53 },
      { protocol: icmp, dstPort: 0 },
    ];
  }
  const out: Probe[] = [];
  for (const s of selectors) {
    const protocols =
      s.protocol === 'TCP' ? [6] : s.protocol === 'UDP' ? [17] : s.protocol === 'ICMP' ? [icmp] : [6, 17];
    for (const protocol of protocols) {
      if (protocol === icmp) {
        out.push({ protocol, dstPort: 0 });
        continue;
      }
      const first = s.port ?? 443;
      const end = s.endPort ?? s.port ?? 443;
      for (const port of [first - 1, first, end, end + 1]) {
        if (port >= 0 && port <= 65535) out.push({ protocol, dstPort: port });
      }
    }
    // Another protocol to the same place: the rule must not match it unless it says ANY.
    out.push({ protocol: 47, dstPort: 0 });
  }
  return out;
}

function ruleAppliesTo(policy: PolicySet, rule: RuleDef, agent: AgentDef): boolean {
  if (rule.agents.includes(agent.name)) return true;
  return policy.groups.some((g) => rule.groups.includes(g.name) && g.agents.includes(agent.name));
}

function ruleSelectors(policy: PolicySet, rule: RuleDef): CidrSelector[] {
  const named = policy.destinations.filter((d) => rule.destinations.includes(d.name)).flatMap((d) => d.cidrs);
  const all = [...rule.cidrs, ...named];
  // A rule without any destination selector reaches everywhere.
  return all.length > 0 || rule.fqdns.length > 0
    ? all
    : [
        { cidr: '0.0.0.0/0', except: [] },
        { cidr: '::/0', except: [] },
      ];
}

/** Packets at the edges of every rule of a policy, plus the identity and uplink cases. */
export function edgePackets(policy: PolicySet): Packet[] {
  const out: Packet[] = [];
  for (const agent of policy.agents) {
    const source: Record<Family, string | undefined> = { 4: agent.ipv4[0], 6: agent.ipv6[0] };
    for (const rule of policy.rules) {
      if (!ruleAppliesTo(policy, rule, agent)) continue;
      for (const selector of ruleSelectors(policy, rule)) {
        const family = familyOfCidr(selector.cidr);
        const src = source[family];
        if (src === undefined) continue;
        for (const dst of selectorAddresses(selector)) {
          for (const { protocol, dstPort } of portProbes(rule.ports, family)) {
            out.push({
              ingressPort: agent.port,
              srcMac: agent.mac,
              ethType: family === 4 ? ETH_IPV4 : ETH_IPV6,
              src,
              dst,
              protocol,
              dstPort,
            });
          }
        }
      }
    }
    const v4 = agent.ipv4.length > 0;
    const base: Packet = {
      ingressPort: agent.port,
      srcMac: agent.mac,
      ethType: v4 ? ETH_IPV4 : ETH_IPV6,
      src: v4 ? agent.ipv4[0] : agent.ipv6[0],
      dst: v4 ? '198.18.0.1' : '2001:db8:ffff::1',
      protocol: 6,
      dstPort: 443,
    };
    out.push(
      base,
      { ...base, srcMac: STRANGER_MAC },
      { ...base, src: v4 ? '10.255.0.99' : 'fd00:ffff::99' },
      { ...base, ingressPort: UNUSED_PORT },
      { ingressPort: agent.port, srcMac: agent.mac, ethType: ETH_ARP },
      { ingressPort: agent.port, srcMac: agent.mac, ethType: 0x88cc },
    );
    // From the uplink to the agent: from each sensitive source (charged to its tally) and elsewhere.
    const senders = policy.destinations
      .filter((d) => d.sensitive)
      .flatMap((d) => d.cidrs.map((c) => edgeAddresses(c.cidr)[0]));
    for (const from of [...senders, '198.18.0.1', '2001:db8:ffff::1']) {
      const family = familyOfCidr(from);
      const to = source[family];
      if (to === undefined) continue;
      out.push({
        ingressPort: policy.uplinkPort,
        srcMac: GATEWAY_MAC,
        dstMac: agent.mac,
        ethType: family === 4 ? ETH_IPV4 : ETH_IPV6,
        src: from,
        dst: to,
        protocol: 6,
        dstPort: 40000,
      });
    }
  }
  out.push({
    ingressPort: policy.uplinkPort,
    srcMac: GATEWAY_MAC,
    dstMac: '02:00:00:00:00:bb',
    ethType: ETH_IPV4,
    src: '198.18.0.1',
    dst: '10.0.9.9',
    protocol: 6,
    dstPort: 40000,
  });
  const seen = new Set<string>();
  return out.filter((p) => {
    const key = JSON.stringify(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
