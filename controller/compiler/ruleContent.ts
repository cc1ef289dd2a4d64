// A rule's content: everything it compiles from but its name, agents and groups. Its text goes into
// the rule's digest (see ruleDigest in compile.ts), and rules of one content share what they compile
// to, so a compile of a hundred thousand rules must tell rules of one content apart cheaply.
//
// The text is JSON of an array, written field by field in a fixed order:
//
//   [destinations, cidrs, fqdns, ports, action, trusted, mode, quota | null, rate | null,
//    [[cidrs, fqdns, sensitive, quota | null] | null for each named destination],
//    [addresses for each FQDN of the rule, then of its destinations]]
//
// with selectors written as {"cidr","except"}, {"protocol","port"?,"endPort"?} and quotas as
// {"bytes","windowSeconds"}: the key order the loader builds them in, so that the text is what
// JSON.stringify writes for a loaded policy, whatever order a policy built another way has.
import type { CidrSelector, DestinationDef, PortSelector, Quota, RuleDef } from '../policy/model';

const q = JSON.stringify;

const stringsJson = (items: readonly string[]): string => (items.length === 0 ? '[]' : q(items));

function cidrsJson(cidrs: readonly CidrSelector[]): string {
  let out = '[';
  for (let i = 0; i < cidrs.length; i++) {
    const c = cidrs[i];
    out += `${i ? ',' : ''}{"cidr":${q(c.cidr)},"except":${stringsJson(c.except)}}`;
  }
  return `${out}]`;
}

function portsJson(ports: readonly PortSelector[]): string {
  let out = '[';
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i];
    out += `${i ? ',' : ''}{"protocol":${q(p.protocol)}`;
    if (p.port !== undefined) out += `,"port":${q(p.port)}`;
    if (p.endPort !== undefined) out += `,"endPort":${q(p.endPort)}`;
    out += '}';
  }
  return `${out}]`;
}

const quotaJson = (quota: Quota | undefined): string =>
  quota ? `{"bytes":${q(quota.bytes)},"windowSeconds":${q(quota.windowSeconds)}}` : 'null';

/**
 * The content text of a rule, given the definitions of the destinations it names (undefined for a
 * name that is not defined) and the DNS answers of its FQDNs.
 */
export function ruleContentJson(
  rule: RuleDef,
  used: readonly (DestinationDef | undefined)[],
  dnsAnswers: readonly (readonly string[])[],
): string {
  let destinations = '[';
  for (let i = 0; i < used.length; i++) {
    const d = used[i];
    destinations += i ? ',' : '';
    destinations += d
      ? `[${cidrsJson(d.cidrs)},${stringsJson(d.fqdns)},${q(d.sensitive)},${quotaJson(d.quota)}]`
      : 'null';
  }
  return (
    `[${stringsJson(rule.destinations)},${cidrsJson(rule.cidrs)},${stringsJson(rule.fqdns)},` +
    `${portsJson(rule.ports)},${q(rule.action)},${q(rule.trusted)},${q(rule.mode)},` +
    `${quotaJson(rule.quota)},${q(rule.rateBytesPerSecond ?? null)},${destinations}],${q(dnsAnswers)}]`
  );
}

/** Whether a rule compiles from its own fields only: it names no destination and no FQDN. */
export const isSelfContained = (rule: RuleDef): boolean =>
  rule.destinations.length === 0 && rule.fqdns.length === 0;

/**
 * Hashes of self-contained rules' contents: equal for rules sameSelfContainedContent calls the
 * same. A text is hashed by a number given to each distinct text when first seen, which the engine
 * finds by the hash it keeps with the string, instead of reading every character again.
 */
export class RuleContentHasher {
  private readonly textIds = new Map<string, number>();

  private text(hash: number, text: string): number {
    let id = this.textIds.get(text);
    if (id === undefined) this.textIds.set(text, (id = this.textIds.size));
    return mix(hash, id);
  }

  private value(hash: number, value: string | number | boolean | undefined): number {
    if (typeof value === 'string') return this.text(mix(hash, 1), value);
    if (typeof value === 'number') {
      return (value | 0) === value ? mix(mix(hash, 2), value) : this.text(mix(hash, 3), String(value));
    }
    return mix(hash, value === undefined ? 4 : value ? 5 : 6);
  }

  hash(rule: RuleDef): number {
    let h = mix(0, rule.cidrs.length);
    for (const c of rule.cidrs) {
      h = this.text(h, c.cidr);
      h = mix(h, c.except.length);
      for (const hole of c.except) h = this.text(h, hole);
    }
    h = mix(h, rule.ports.length);
    for (const p of rule.ports) {
      h = this.value(h, p.protocol);
      h = this.value(h, p.port);
      h = this.value(h, p.endPort);
    }
    h = this.value(h, rule.action);
    h = this.value(h, rule.trusted);
    h = this.value(h, rule.mode);
    h = this.value(h, rule.quota?.bytes);
    h = this.value(h, rule.quota?.windowSeconds);
    return this.value(h, rule.rateBytesPerSecond);
  }
}

/**
 * One more 32-bit word into an FNV-1a-style hash, kept as a signed 32-bit number: the engine holds
 * those without allocating, where an unsigned one above 2^31 would be boxed at every step.
 */
function mix(hash: number, word: number): number {
  return Math.imul(hash ^ word, 0x01000193);
}

/**
 * Whether two self-contained rules have one content text, told without writing it: the fields the
 * text is written from are equal, compared as the values JSON writes (=== on each written value:
 * equal values are written alike; NaN, the one value unequal to itself, only costs a text).
 */
export function sameSelfContainedContent(a: RuleDef, b: RuleDef): boolean {
  if (!isSelfContained(a) || !isSelfContained(b)) return false;
  if (a.action !== b.action || a.trusted !== b.trusted || a.mode !== b.mode) return false;
  if (a.rateBytesPerSecond !== b.rateBytesPerSecond) return false;
  if (a.quota !== b.quota) {
    if (!a.quota || !b.quota) return false;
    if (a.quota.bytes !== b.quota.bytes || a.quota.windowSeconds !== b.quota.windowSeconds) return false;
  }
  if (a.cidrs.length !== b.cidrs.length || a.ports.length !== b.ports.length) return false;
  for (let i = 0; i < a.cidrs.length; i++) {
    const x = a.cidrs[i];
    const y = b.cidrs[i];
    if (x.cidr !== y.cidr || x.except.length !== y.except.length) return false;
    for (let j = 0; j < x.except.length; j++) if (x.except[j] !== y.except[j]) return false;
  }
  for (let i = 0; i < a.ports.length; i++) {
    const x = a.ports[i];
    const y = b.ports[i];
    if (x.protocol !== y.protocol || x.port !== y.port || x.endPort !== y.endPort) return false;
  }
  return true;
}
