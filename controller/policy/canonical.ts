// The canonical form of a policy set, and its version. Two policy sets that mean the same thing
// must get the same version whatever files, key order, spellings of addresses or units they were
// written with; the loader already normalizes spellings and units, so what is left here is order:
// sets (agents, groups, members, destinations, sources) are sorted, while rules keep their order,
// which is their meaning. Source locations are not part of the policy.
import { createHash } from 'crypto';
import { PolicySet, RuleDef } from './model';

/** JSON with object keys sorted at every level; `undefined` members are dropped. */
export function canonicalJson(value: unknown): string {
  // The native serializer with a key-sorting replacer: the same output as a hand-written walk, at a
  // fraction of the cost on policy sets with a hundred thousand rules.
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const obj = v as Record<string, unknown>;
    const sortedObj: Record<string, unknown> = {};
    for (const k of Object.keys(obj).sort()) sortedObj[k] = obj[k];
    return sortedObj;
  });
}

const byName = <T extends { name: string }>(items: readonly T[]): T[] =>
  [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
const sorted = (items: readonly string[]): string[] => [...items].sort();

function canonicalRule({ location: _l, ...rule }: RuleDef): unknown {
  return { ...rule, agents: sorted(rule.agents), groups: sorted(rule.groups) };
}

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
    rules: policy.rules.map(canonicalRule),
    sensitiveSources: sorted(policy.sensitiveSources),
  };
}

const RULE_KEYS = new Set([
  'name',
  'agents',
  'groups',
  'destinations',
  'cidrs',
  'fqdns',
  'ports',
  'action',
  'trusted',
  'mode',
  'quota',
  'rateBytesPerSecond',
  'location',
]);
const q = JSON.stringify;

function hasOnlyKeys(obj: object, allowed: readonly string[]): boolean {
  const keys = Object.keys(obj);
  for (const key of keys) if (!allowed.includes(key)) return false;
  return true;
}

function sortedStrings(items: readonly string[]): readonly string[] {
  for (let i = 1; i < items.length; i++) if (items[i - 1] > items[i]) return [...items].sort();
  return items;
}

/**
 * A rule's canonical JSON without its name, agents and groups: the text around them, which depends
 * only on the rule's other fields, and so is the same for rules that differ in those three only.
 */
export interface RuleJsonFrame {
  /** `{"action":…,"agents":` */
  readonly beforeAgents: string;
  /** `,"cidrs":…,"destinations":…,"fqdns":…,"groups":` */
  readonly beforeGroups: string;
  /** `,"mode":…,"name":` */
  readonly beforeName: string;
  /** `,"ports":…,"trusted":…}` */
  readonly end: string;
}

/**
 * The frame of a rule's canonical JSON, written field by field in sorted key order: the same text
 * as canonicalJson of the rule's canonical form, at a fraction of the cost, which matters at a
 * hundred thousand rules. Undefined when the rule has a field this writer does not know (then the
 * generic path is taken, so an unexpected field can never be left out of the version).
 */
export function ruleJsonFrame(rule: RuleDef): RuleJsonFrame | undefined {
  for (const key of Object.keys(rule)) if (!RULE_KEYS.has(key)) return undefined;
  let cidrs = '[';
  for (let i = 0; i < rule.cidrs.length; i++) {
    const c = rule.cidrs[i];
    if (!hasOnlyKeys(c, ['cidr', 'except'])) return undefined;
    cidrs += `${i ? ',' : ''}{"cidr":${q(c.cidr)},"except":${q(c.except)}}`;
  }
  let ports = '[';
  for (let i = 0; i < rule.ports.length; i++) {
    const p = rule.ports[i];
    if (!hasOnlyKeys(p, ['protocol', 'port', 'endPort'])) return undefined;
    let one = '{';
    if (p.endPort !== undefined) one += `"endPort":${q(p.endPort)},`;
    if (p.port !== undefined) one += `"port":${q(p.port)},`;
    ports += `${i ? ',' : ''}${one}"protocol":${q(p.protocol)}}`;
  }
  let end = `,"ports":${ports}]`;
  if (rule.quota !== undefined) {
    if (!hasOnlyKeys(rule.quota, ['bytes', 'windowSeconds'])) return undefined;
    end += `,"quota":{"bytes":${q(rule.quota.bytes)},"windowSeconds":${q(rule.quota.windowSeconds)}}`;
  }
  if (rule.rateBytesPerSecond !== undefined) end += `,"rateBytesPerSecond":${q(rule.rateBytesPerSecond)}`;
  return {
    beforeAgents: `{"action":${q(rule.action)},"agents":`,
    beforeGroups: `,"cidrs":${cidrs}],"destinations":${q(rule.destinations)},"fqdns":${q(rule.fqdns)},"groups":`,
    beforeName: `,"mode":${q(rule.mode)},"name":`,
    end: `${end},"trusted":${q(rule.trusted)}}`,
  };
}

/**
 * Whether the frame of any rule whose fields other than name, agents and groups have the same JSON
 * as this one's, as elements of an array, is this rule's frame too. Not when the rule has a field
 * the frame does not know, or a null field: JSON writes null, undefined and a missing field all as
 * null in an array, while the canonical form keeps a null field and leaves the others out.
 */
export function takesSharedFrame(rule: RuleDef): boolean {
  for (const key in rule) {
    if (!RULE_KEYS.has(key) || (rule as unknown as Record<string, unknown>)[key] === null) return false;
  }
  return true;
}

/**
 * A rule's canonical JSON from its frame and the JSON of its name, agents and groups: agents and
 * groups sorted, as JSON.stringify writes them.
 */
export function framedRuleJson(
  frame: RuleJsonFrame,
  nameJson: string,
  agentsJson: string,
  groupsJson: string,
): string {
  return `${frame.beforeAgents}${agentsJson}${frame.beforeGroups}${groupsJson}${frame.beforeName}${nameJson}${frame.end}`;
}

/** The JSON of a rule's agents or groups in canonical (sorted) order, given that of them as written. */
export function sortedListJson(items: readonly string[], asWritten: string): string {
  const sorted = sortedStrings(items);
  return sorted === items ? asWritten : q(sorted);
}

function fastRuleJson(rule: RuleDef): string | undefined {
  const frame = ruleJsonFrame(rule);
  return (
    frame && framedRuleJson(frame, q(rule.name), q(sortedStrings(rule.agents)), q(sortedStrings(rule.groups)))
  );
}

// Rule objects are immutable, so a rule's canonical text is written once: a policy set edited in
// one rule and hashed again costs one rule's text and the hash.
const ruleJsonCache = new WeakMap<RuleDef, string>();

export function canonicalRuleJson(rule: RuleDef): string {
  let text = ruleJsonCache.get(rule);
  if (text === undefined) {
    text = fastRuleJson(rule) ?? canonicalJson(canonicalRule(rule));
    // Written piece by piece, the text is a tree of joined strings; reading a character makes the
    // engine flatten it once here, instead of every time the policy set is hashed.
    text.charCodeAt(0);
    ruleJsonCache.set(rule, text);
  }
  return text;
}

/**
 * The policy version computed piece by piece: the canonical JSON of the set is hashed as it is
 * written, the rules, which are most of it, one by one in order, without one string of the whole.
 */
export class PolicyVersionHash {
  private readonly hash = createHash('sha256');
  private readonly after: string;
  private pending: string;
  private rules = 0;

  constructor(policy: PolicySet) {
    // canonicalPolicy has these six keys; in sorted order the rules come after agents, destinations
    // and groups, and before sensitiveSources and uplinkPort.
    const { agents, destinations, groups, sensitiveSources, uplinkPort } = canonicalPolicy({
      ...policy,
      rules: [],
    }) as Record<string, unknown>;
    const before = canonicalJson({ agents, destinations, groups });
    this.after = `],${canonicalJson({ sensitiveSources, uplinkPort }).slice(1)}`;
    this.pending = `${before.slice(0, -1)},"rules":[`;
  }

  /** The next rule's canonical JSON. */
  addRule(json: string): void {
    this.pending += this.rules++ ? `,${json}` : json;
    if (this.pending.length >= 1 << 16) {
      this.hash.update(this.pending);
      this.pending = '';
    }
  }

  /** SHA-256 (hex), once every rule has been added. */
  digest(): string {
    this.hash.update(this.pending + this.after);
    return this.hash.digest('hex');
  }
}

/** SHA-256 (hex) of the canonical JSON of the policy set. */
export function policyVersion(policy: PolicySet): string {
  const hash = new PolicyVersionHash(policy);
  for (const rule of policy.rules) hash.addRule(canonicalRuleJson(rule));
  return hash.digest();
}
