// A model of the data plane's stateless decisions over a set of table entries, with P4Runtime
// matching semantics: exact, ternary (value & mask), range (inclusive) and lpm fields, an absent
// field is a don't-care, the matching entry with the highest priority wins (longest prefix for an
// lpm-only table), and a miss takes the table's constant default action. It follows the apply block
// of p4/nicguard.p4 and is what the tests hold compiled entries and intermediate plan states to.
import {
  ACTIONS,
  AgentFlag,
  FIRST_POLICY_REASON,
  NO_EXFIL_LIMIT,
  Reason,
  RuleFlag,
  TABLES,
  reasonName,
} from '../pipeline/contract';
import { EntrySpec, FieldValue } from '../pipeline/entries';
import { parseAddress, parseMac } from '../policy/addr';
import { ETH_ARP, ETH_IPV4, ETH_IPV6, Limit, Packet, Verdict } from '../policy/evaluate';

export class AmbiguousMatchError extends Error {
  override readonly name = 'AmbiguousMatchError';
  readonly code = 'AMBIGUOUS_MATCH';
}

function fieldMatches(field: FieldValue, value: bigint): boolean {
  switch (field.kind) {
    case 'exact':
    case 'optional':
      return field.value === value;
    case 'ternary':
      return (value & field.mask) === (field.value & field.mask);
    case 'range':
      return field.low <= value && value <= field.high;
    case 'lpm':
      return true; // checked with the width in lookup()
  }
}

/** Entries grouped by table, for repeated lookups. */
export type EntryTables = ReadonlyMap<string, readonly EntrySpec[]>;

export function groupByTable(entries: Iterable<EntrySpec>): EntryTables {
  const out = new Map<string, EntrySpec[]>();
  for (const entry of entries) {
    const list = out.get(entry.table);
    if (list) list.push(entry);
    else out.set(entry.table, [entry]);
  }
  return out;
}

function lookup(
  tables: EntryTables,
  table: string,
  key: Record<string, bigint>,
  bits: Record<string, number> = {},
): EntrySpec | undefined {
  let best: EntrySpec | undefined;
  let bestRank = -1;
  let tie = false;
  for (const entry of tables.get(table) ?? []) {
    let ok = true;
    let rank = entry.priority ?? 0;
    for (const [name, field] of Object.entries(entry.match)) {
      const value = key[name];
      if (value === undefined) {
        ok = false;
        break;
      }
      if (field.kind === 'lpm') {
        const width = bits[name];
        const shift = BigInt(width - field.prefixLen);
        if (value >> shift !== field.value >> shift) {
          ok = false;
          break;
        }
        rank = field.prefixLen;
      } else if (!fieldMatches(field, value)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (rank > bestRank) {
      best = entry;
      bestRank = rank;
      tie = false;
    } else if (
      rank === bestRank &&
      best &&
      (best.action !== entry.action || JSON.stringify(best.params, big) !== JSON.stringify(entry.params, big))
    ) {
      tie = true;
    }
  }
  if (tie)
    throw new AmbiguousMatchError(`two entries of ${table} with priority ${bestRank} match the same packet`);
  return best;
}

const big = (_: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

const drop = (
  reason: number,
  agentFlags: number,
  ruleFlags: number,
  extra: Partial<Verdict>,
  uplink?: number,
): Verdict => {
  const audit =
    reason >= FIRST_POLICY_REASON &&
    ((agentFlags & AgentFlag.AUDIT) !== 0 || (ruleFlags & RuleFlag.AUDIT) !== 0);
  return {
    forward: audit,
    reason: reasonName(reason) as Verdict['reason'],
    audit,
    limits: [],
    ...extra,
    ...(audit ? { egressPort: uplink } : {}),
  };
};

export interface EntryVerdict extends Verdict {
  readonly agentId?: number;
  readonly ruleId?: number;
}

/**
 * The verdict of the entries for a frame. Agent and rule are reported by id (names are the
 * compiler's business); `names` maps them back when given.
 */
export function evaluateEntries(
  entries: Iterable<EntrySpec> | EntryTables,
  packet: Packet,
  names: { agents?: ReadonlyMap<number, string>; rules?: ReadonlyMap<number, string> } = {},
): EntryVerdict {
  const tables: EntryTables = entries instanceof Map ? entries : groupByTable(entries as Iterable<EntrySpec>);
  const port = lookup(tables, TABLES.portMap.name, { ingress_port: BigInt(packet.ingressPort) });
  if (!port) return drop(Reason.UNKNOWN_PORT, 0, 0, {});
  if (port.action === ACTIONS.uplinkPort.name) {
    const dst = packet.dstMac !== undefined ? parseMac(packet.dstMac) : null;
    const route = dst === null ? undefined : lookup(tables, TABLES.hostRoute.name, { dst_mac: dst });
    if (!route) return drop(Reason.NO_ROUTE, 0, 0, {});
    const agentId = Number(route.params.agent_id);
    return {
      forward: true,
      reason: 'NONE',
      audit: false,
      agentId,
      ...(names.agents?.has(agentId) ? { agent: names.agents.get(agentId) } : {}),
      egressPort: Number(route.params.port),
      limits: [],
    };
  }
  const agentId = Number(port.params.agent_id);
  const agentFlags = Number(port.params.flags);
  const uplink = Number(port.params.uplink_port);
  const who = { agentId, ...(names.agents?.has(agentId) ? { agent: names.agents.get(agentId) } : {}) };
  const id = BigInt(agentId);
  const mac = parseMac(packet.srcMac);
  if (mac === null || !lookup(tables, TABLES.macGuard.name, { agent_id: id, src_mac: mac })) {
    return drop(Reason.SPOOFED, agentFlags, 0, who);
  }
  if (packet.ethType === ETH_ARP)
    return { forward: true, reason: 'NONE', audit: false, ...who, egressPort: uplink, limits: [] };
  const family = packet.ethType === ETH_IPV4 ? 4 : packet.ethType === ETH_IPV6 ? 6 : undefined;
  if (family === undefined) return drop(Reason.NOT_IP, agentFlags, 0, who);
  const src = packet.src !== undefined ? parseAddress(packet.src, family) : null;
  const guard = family === 4 ? TABLES.ipv4Guard.name : TABLES.ipv6Guard.name;
  if (!src || !lookup(tables, guard, { agent_id: id, src_addr: src.value }))
    return drop(Reason.SPOOFED, agentFlags, 0, who);
  const dst = packet.dst !== undefined ? parseAddress(packet.dst, family) : null;
  if (!dst) return drop(Reason.NO_MATCH, agentFlags, 0, who, uplink);
  const acl = lookup(tables, family === 4 ? TABLES.aclV4.name : TABLES.aclV6.name, {
    agent_id: id,
    dst_addr: dst.value,
    protocol: BigInt(packet.protocol ?? 0),
    dst_port: BigInt(packet.dstPort ?? 0),
  });
  if (!acl) return drop(Reason.NO_MATCH, agentFlags, 0, who, uplink);
  const ruleId = Number(acl.params.rule_id);
  const ruleFlags = Number(acl.params.flags);
  const rule = { ruleId, ...(names.rules?.has(ruleId) ? { rule: names.rules.get(ruleId) } : {}) };
  if (acl.action === ACTIONS.deny.name)
    return drop(Reason.DENY_RULE, agentFlags, ruleFlags, { ...who, ...rule }, uplink);
  const limits: Limit[] = [];
  if (BigInt(port.params.exfil_limit) !== NO_EXFIL_LIMIT && (ruleFlags & RuleFlag.TRUSTED) === 0)
    limits.push('exfiltration');
  if ((acl.params.meter_index ?? 0n) !== 0n) limits.push('rate');
  if ((acl.params.quota_slot ?? 0n) !== 0n) limits.push('quota');
  return { forward: true, reason: 'NONE', audit: false, ...who, ...rule, egressPort: uplink, limits };
}
