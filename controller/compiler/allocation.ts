// The allocation read back from a device. Everything the compiler assigns and must keep stable
// (agent ids, rule ids, priorities, quota slots, meter indices) is visible in the entries it wrote,
// together with the provenance in each entry's metadata (P4Runtime §9.1: metadata is stored and
// returned by the device as written), so the device itself can be the record of the last compile:
// `compilePolicy(policy, profile, { previous: recoverAllocation(entriesReadBack, profile) })` keeps
// what is installed in place without any state file.
import { ACTIONS, TABLES } from '../pipeline/contract';
import { EntrySpec, FieldValue, fieldKey } from '../pipeline/entries';
import { TargetProfile } from '../pipeline/profiles';
import type { Allocation, PairAllocation } from './compile';
import { decodeProvenance, fnv1a } from './metadata';

const ACL_TABLES = new Set<string>([TABLES.aclV4.name, TABLES.aclV6.name]);

function fieldText(value: FieldValue | undefined): string {
  return value ? fieldKey(value) : '*';
}

/** The match of one ACL entry of a rule without its agent: the part that is the same for every agent. */
export interface AclKeyParts {
  readonly table: string;
  readonly protocol?: FieldValue;
  readonly dstPort?: FieldValue;
  readonly dstAddr?: FieldValue;
}

/**
 * Digest (32-bit FNV-1a) of the match keys of a rule's entries for one agent, agent aside. It is
 * computed from the keys themselves, so that it can be computed again from the entries on a device.
 */
export function aclKeysDigest(parts: readonly AclKeyParts[]): number {
  const lines = parts.map(
    (p) => `${p.table}|${fieldText(p.protocol)}|${fieldText(p.dstPort)}|${fieldText(p.dstAddr)}`,
  );
  lines.sort();
  return fnv1a(lines.join('\n'));
}

export interface RecoverOptions {
  /**
   * The target the entries were compiled for. It decides what the meter of a quota entry is: on a
   * target whose quotas the controller enforces it is the quota's overshoot meter, otherwise the
   * rule's rate meter. Default: a target with data-plane quotas.
   */
  readonly profile?: TargetProfile;
}

/**
 * The allocation of the compile that wrote `entries`, as read back from a device. Entries without
 * nicguard provenance, and ACL entries of agent ids no port_map entry binds, are ignored: they
 * assign nothing the next compile must keep.
 */
export function recoverAllocation(entries: readonly EntrySpec[], options: RecoverOptions = {}): Allocation {
  const profile = options.profile;
  const controllerQuotas =
    profile !== undefined && (!profile.registers || profile.quotaEnforcement === 'controller');
  const agents: Record<string, number> = {};
  const agentName = new Map<number, string>();
  for (const entry of entries) {
    if (entry.table !== TABLES.portMap.name || entry.action !== ACTIONS.agentPort.name) continue;
    const provenance = decodeProvenance(entry.metadata);
    if (provenance?.kind !== 'agent') continue;
    const id = Number(entry.params.agent_id);
    agents[provenance.name] = id;
    agentName.set(id, provenance.name);
  }

  /** Per agent, per rule: what its entries carry, and the keys of its entries. */
  interface Pair {
    ruleId: number;
    priority: number;
    digest: number;
    parts: AclKeyParts[];
  }
  const pairsOf = new Map<string, Map<string, Pair>>();
  for (const name of agentName.values()) pairsOf.set(name, new Map());
  const quotaSlots: Record<string, number> = {};
  const meters: Record<string, number> = {};
  for (const entry of entries) {
    if (!ACL_TABLES.has(entry.table)) continue;
    const provenance = decodeProvenance(entry.metadata);
    const agentField = entry.match.agent_id;
    if (provenance?.kind !== 'rule' || agentField?.kind !== 'exact') continue;
    const agent = agentName.get(Number(agentField.value));
    if (agent === undefined) continue;
    const rule = provenance.name;
    const pairs = pairsOf.get(agent) as Map<string, Pair>;
    let pair = pairs.get(rule);
    if (!pair) {
      pair = {
        ruleId: Number(entry.params.rule_id),
        priority: entry.priority ?? 0,
        digest: parseInt(provenance.digest, 16),
        parts: [],
      };
      pairs.set(rule, pair);
    }
    pair.parts.push({
      table: entry.table,
      protocol: entry.match.protocol,
      dstPort: entry.match.dst_port,
      dstAddr: entry.match.dst_addr,
    });
    const meter = entry.params.meter_index;
    if (entry.action === ACTIONS.allowQuota.name) {
      const quotaKey =
        provenance.quotaDestination !== undefined
          ? `${agent}/destination:${provenance.quotaDestination}`
          : `${agent}/rule:${rule}`;
      quotaSlots[quotaKey] = Number(entry.params.quota_slot);
      if (meter !== undefined && meter !== 0n) {
        meters[controllerQuotas ? `${agent}/overshoot:${rule}:${quotaKey}` : `${agent}/rate:${rule}`] =
          Number(meter);
      }
    } else if (entry.action === ACTIONS.allowRate.name && meter !== undefined && meter !== 0n) {
      meters[`${agent}/rate:${rule}`] = Number(meter);
    }
  }
  const pairs: Record<string, PairAllocation> = {};
  for (const [agent, byRule] of pairsOf) {
    // The compile lists an agent's pairs in written order, which is priority order, highest first.
    const ordered = [...byRule].sort(([ra, a], [rb, b]) => b.priority - a.priority || (ra < rb ? -1 : 1));
    pairs[agent] = {
      rules: ordered.map(([rule]) => rule),
      ruleIds: ordered.map(([, p]) => p.ruleId),
      priorities: ordered.map(([, p]) => p.priority),
      digests: ordered.map(([, p]) => p.digest),
      matchDigests: ordered.map(([, p]) => aclKeysDigest(p.parts)),
    };
  }
  return { agents, pairs, quotaSlots, meters };
}
