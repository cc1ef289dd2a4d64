// What a rule matches, as sets: destination prefixes per family and (protocol, port range) pairs.
// The shadowing check compares these sets and the compiler turns them into keys; both need the same
// normal form (disjoint, merged), which is why it is computed in one place.
import { Family, Prefix, normalizePrefixes, parseCidr, subtractPrefixes } from './addr';
import { CidrSelector, DestinationDef, FqdnResolution, PortSelector, RuleDef } from './model';

export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/** Port 0 is what the data plane sees when a packet has no parsed L4 ports (fragments, options). */
export const ALL_PORTS: PortRange = { low: 0, high: 65535 };

export interface PortSpace {
  /** Every protocol, every port. */
  readonly any: boolean;
  readonly icmp: boolean;
  readonly tcp: readonly PortRange[];
  readonly udp: readonly PortRange[];
}

function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.low - b.low || a.high - b.high);
  const out: PortRange[] = [];
  for (const range of sorted) {
    const last = out[out.length - 1];
    if (last && range.low <= last.high + 1)
      out[out.length - 1] = { low: last.low, high: Math.max(last.high, range.high) };
    else out.push(range);
  }
  return out;
}

export function portSpace(ports: readonly PortSelector[]): PortSpace {
  if (ports.length === 0) return { any: true, icmp: true, tcp: [ALL_PORTS], udp: [ALL_PORTS] };
  let icmp = false;
  const tcp: PortRange[] = [];
  const udp: PortRange[] = [];
  for (const selector of ports) {
    const range =
      selector.port === undefined
        ? ALL_PORTS
        : { low: selector.port, high: selector.endPort ?? selector.port };
    if (selector.protocol === 'ANY' && selector.port === undefined) {
      return { any: true, icmp: true, tcp: [ALL_PORTS], udp: [ALL_PORTS] };
    }
    if (selector.protocol === 'ICMP') icmp = true;
    // Only TCP and UDP carry ports in the data plane, so ANY with a port means those two.
    if (selector.protocol === 'TCP' || selector.protocol === 'ANY') tcp.push(range);
    if (selector.protocol === 'UDP' || selector.protocol === 'ANY') udp.push(range);
  }
  return { any: false, icmp, tcp: mergeRanges(tcp), udp: mergeRanges(udp) };
}

function rangesContain(outer: readonly PortRange[], inner: readonly PortRange[]): boolean {
  return inner.every((r) => outer.some((o) => o.low <= r.low && r.high <= o.high));
}

export function portSpaceContains(outer: PortSpace, inner: PortSpace): boolean {
  if (outer.any) return true;
  if (inner.any) return false;
  return (
    (!inner.icmp || outer.icmp) && rangesContain(outer.tcp, inner.tcp) && rangesContain(outer.udp, inner.udp)
  );
}

export function selectorPrefixes(selectors: readonly CidrSelector[], family: Family): Prefix[] {
  const out: Prefix[] = [];
  for (const selector of selectors) {
    const parsed = parseCidr(selector.cidr);
    if (!('prefix' in parsed) || parsed.prefix.family !== family) continue;
    const holes = selector.except.map((e) => parseCidr(e)).flatMap((r) => ('prefix' in r ? [r.prefix] : []));
    out.push(...subtractPrefixes([parsed.prefix], holes));
  }
  return normalizePrefixes(out);
}

export function fqdnPrefixes(
  fqdns: readonly string[],
  family: Family,
  resolutions: ReadonlyMap<string, FqdnResolution>,
): Prefix[] {
  const out: Prefix[] = [];
  for (const name of fqdns) {
    for (const address of resolutions.get(name)?.addresses ?? []) {
      const parsed = parseCidr(address);
      if ('prefix' in parsed && parsed.prefix.family === family) out.push(parsed.prefix);
    }
  }
  return normalizePrefixes(out);
}

/** One part of a rule's destinations that shares a quota: the rule's own, or a named destination's. */
export interface DestinationChunk {
  /** The named destination whose quota applies, if any. */
  readonly quotaDestination?: string;
  readonly v4: readonly Prefix[];
  readonly v6: readonly Prefix[];
}

/**
 * A rule's destinations split by whose quota applies, made disjoint: named destinations with a
 * quota come first, in the order listed, and each keeps the addresses no earlier part took; the
 * rule's remaining addresses come last. Every address is so charged to exactly one budget, and no
 * two entries of one rule overlap.
 */
export function destinationChunks(
  rule: RuleDef,
  destinations: ReadonlyMap<string, DestinationDef>,
  resolutions: ReadonlyMap<string, FqdnResolution>,
): DestinationChunk[] {
  const fam = (selectors: readonly CidrSelector[], fqdns: readonly string[]) => ({
    v4: normalizePrefixes([...selectorPrefixes(selectors, 4), ...fqdnPrefixes(fqdns, 4, resolutions)]),
    v6: normalizePrefixes([...selectorPrefixes(selectors, 6), ...fqdnPrefixes(fqdns, 6, resolutions)]),
  });
  if (rule.destinations.length === 0 && rule.cidrs.length === 0 && rule.fqdns.length === 0) {
    return [{ v4: [{ family: 4, value: 0n, len: 0 }], v6: [{ family: 6, value: 0n, len: 0 }] }];
  }
  const parts: { quotaDestination?: string; v4: Prefix[]; v6: Prefix[] }[] = [];
  const plain = { v4: [] as Prefix[], v6: [] as Prefix[] };
  const quotaParts = new Map<string, { v4: Prefix[]; v6: Prefix[] }>();
  for (const name of rule.destinations) {
    const destination = destinations.get(name);
    if (!destination) continue;
    const space = fam(destination.cidrs, destination.fqdns);
    // A destination quota applies to allow rules without a quota of their own.
    if (destination.quota && rule.action === 'allow' && !rule.quota) quotaParts.set(name, space);
    else {
      plain.v4.push(...space.v4);
      plain.v6.push(...space.v6);
    }
  }
  const own = fam(rule.cidrs, rule.fqdns);
  plain.v4.push(...own.v4);
  plain.v6.push(...own.v6);
  for (const [name, space] of quotaParts) parts.push({ quotaDestination: name, ...space });
  parts.push({ v4: plain.v4, v6: plain.v6 });
  const taken = { v4: [] as Prefix[], v6: [] as Prefix[] };
  const out: DestinationChunk[] = [];
  for (const part of parts) {
    const v4 = subtractPrefixes(part.v4, taken.v4);
    const v6 = subtractPrefixes(part.v6, taken.v6);
    taken.v4.push(...v4);
    taken.v6.push(...v6);
    if (v4.length > 0 || v6.length > 0) out.push({ quotaDestination: part.quotaDestination, v4, v6 });
  }
  return out;
}
