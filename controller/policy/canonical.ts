// The canonical form of a policy set, and its version. Two policy sets that mean the same thing
// must get the same version whatever files, key order, spellings of addresses or units they were
// written with; the loader already normalizes spellings and units, so what is left here is order:
// sets (agents, groups, members, destinations, sources) are sorted, while rules keep their order,
// which is their meaning. Source locations are not part of the policy.
import { createHash } from 'crypto';
import { PolicySet } from './model';

/** JSON with object keys sorted at every level; `undefined` members are dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

const byName = <T extends { name: string }>(items: readonly T[]): T[] =>
  [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
const sorted = (items: readonly string[]): string[] => [...items].sort();

/** The policy set as plain data in canonical order, without source locations. */
export function canonicalPolicy(policy: PolicySet): unknown {
  return {
    uplinkPort: policy.uplinkPort,
    agents: byName(policy.agents).map(({ location: _l, ...agent }) => ({
      ...agent,
      ipv4: sorted(agent.ipv4),
      ipv6: sorted(agent.ipv6),
    })),
    groups: byName(policy.groups).map(({ location: _l, ...group }) => ({
      ...group,
      agents: sorted(group.agents),
    })),
    destinations: byName(policy.destinations).map(({ location: _l, ...destination }) => destination),
    rules: policy.rules.map(({ location: _l, ...rule }) => ({
      ...rule,
      agents: sorted(rule.agents),
      groups: sorted(rule.groups),
    })),
    sensitiveSources: sorted(policy.sensitiveSources),
  };
}

/** SHA-256 (hex) of the canonical JSON of the policy set. */
export function policyVersion(policy: PolicySet): string {
  return createHash('sha256')
    .update(canonicalJson(canonicalPolicy(policy)))
    .digest('hex');
}
