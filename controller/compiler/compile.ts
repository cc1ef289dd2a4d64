// The policy compiler: a loaded policy set in, the exact device state that enforces it out. Pure and
// deterministic: no I/O, no clock, no DNS (names are resolved beforehand and passed in), and the
// same inputs always give the same entries in the same order.
//
// Tables written: port_map (agent ports and the uplink), mac_guard / ipv4_guard / ipv6_guard (the
// sources each agent may use), host_route (return traffic), sensitive_v4 / sensitive_v6 (sources
// whose bytes count toward exfiltration tallies), and acl_v4 / acl_v6 (the egress rules).
//
// ACL entries: for each agent, each rule that applies to it becomes the cross product of its
// destination prefixes (after CIDR subtraction of `except`s, merged and disjoint) and its
// (protocol, port range) pairs (merged and disjoint), all at the rule's priority for that agent
// (see priorities.ts). Because a rule's entries are disjoint, no two overlapping entries of an agent
// ever share a priority, and first-match in written order is exactly highest-priority-wins.
import { createHash } from 'crypto';
import {
  ACTIONS,
  AgentFlag,
  FIRST_SLOT,
  METERS,
  NO_EXFIL_LIMIT,
  PORT_BITS,
  REGISTERS,
  RuleFlag,
  TABLES,
  CPU_PORT,
  TableKey,
} from '../pipeline/contract';
import { EntrySpec, FieldValue, MeterConfigSpec } from '../pipeline/entries';
import { ProfileName, TargetProfile } from '../pipeline/profiles';
import {
  Prefix,
  formatPrefix,
  normalizePrefixes,
  parseAddress,
  parseCidr,
  parseMac,
  prefixMask,
} from '../policy/addr';
import {
  PolicyVersionHash,
  RuleJsonFrame,
  canonicalRuleJson,
  framedRuleJson,
  ruleJsonFrame,
  sortedListJson,
  takesSharedFrame,
} from '../policy/canonical';
import {
  DestinationChunk,
  PortSpace,
  destinationChunks,
  fqdnPrefixes,
  portSpace,
  selectorPrefixes,
} from '../policy/matchspace';
import {
  AgentDef,
  DestinationDef,
  FqdnResolution,
  PolicySet,
  Quota,
  RuleDef,
  SourceLocation,
  rulesByAgent,
} from '../policy/model';
import { aclKeysDigest } from './allocation';
import { FNV1A_OFFSET, ProvenanceKindName, ProvenanceWriter, fnv1a, fnv1aUpdate } from './metadata';
import { RuleContentHasher, isSelfContained, ruleContentJson, sameSelfContainedContent } from './ruleContent';
import { allocatePriorities, freshPriorities } from './priorities';

export interface CompileOptions {
  /** DNS answers for the policy's FQDN destinations, obtained before compiling. */
  readonly resolutions?: readonly FqdnResolution[];
  /** The allocation of the compile this one replaces, so that ids and priorities stay put. */
  readonly previous?: Allocation;
  /**
   * The compile this one replaces: entries of (agent, rule) pairs that did not change are taken
   * from it as the same objects, which makes planning against its installed entries cheap.
   */
  readonly reuse?: CompiledPolicy;
  /** Refuse (throw) when the result does not fit the device. Default true. */
  readonly checkCapacity?: boolean;
  /** For controller-enforced quotas: how often the controller reads the counters. Default 1 s. */
  readonly counterPollSeconds?: number;
}

/**
 * Everything the compiler assigned, so the next compile can keep it stable. Agents, quota slots and
 * meters are few and keyed by name; (agent, rule) pairs, of which a fleet has a hundred thousand,
 * are kept per agent in arrays rather than as a record keyed by `agent/rule` names, whose building
 * was a third of a compile's time.
 */
export interface Allocation {
  /** agent name → agent_id */
  readonly agents: Readonly<Record<string, number>>;
  /** agent name → the pairs of that agent that have entries (every agent has one, maybe empty) */
  readonly pairs: Readonly<Record<string, PairAllocation>>;
  /** quota key (`agent/rule:name` or `agent/destination:name`) → slot */
  readonly quotaSlots: Readonly<Record<string, number>>;
  /** meter key (`agent/rate:rule` or `agent/overshoot:rule:quota key`) → meter index */
  readonly meters: Readonly<Record<string, number>>;
}

/**
 * One agent's (agent, rule) pairs, a column per field, in priority order (highest first, which is
 * the order the rules are written in): the order a device's entries can be put back in.
 */
export interface PairAllocation {
  readonly rules: readonly string[];
  readonly ruleIds: readonly number[];
  readonly priorities: readonly number[];
  /** Digest of what the rule compiles from (the one in its entries' provenance). */
  readonly digests: readonly number[];
  /** Digest of the pair's match keys, agent aside (see aclKeysDigest). */
  readonly matchDigests: readonly number[];
}

export interface QuotaSlotInfo {
  readonly slot: number;
  readonly agent: string;
  /** Rules whose entries charge this slot. */
  readonly rules: readonly string[];
  /** Set when the quota is a named destination's, shared by those rules. */
  readonly destination?: string;
  readonly budgetBytes: number;
  readonly windowSeconds: number;
  /**
   * `dataplane`: the quota_used register enforces the budget; the controller zeroes it each window.
   * `controller`: the target has no registers; the controller reads the entries' counters every
   * counterPollSeconds and withdraws the rule when the budget is spent, and a meter bounds what can
   * pass between two reads (overshootBytes).
   */
  readonly enforcement: 'dataplane' | 'controller';
  readonly overshootMeter?: number;
  readonly overshootBytes?: number;
}

export interface RuleIndexEntry {
  readonly ruleId: number;
  readonly rule: string;
  readonly agent: string;
  readonly priority: number;
  readonly entries: number;
  readonly location?: SourceLocation;
}

export interface AgentIndexEntry {
  readonly name: string;
  readonly agentId: number;
  readonly port: number;
}

export interface CompileWarning {
  readonly code: 'FQDN_UNRESOLVED';
  readonly message: string;
}

export interface CapacityIssue {
  /** Table or resource name. */
  readonly resource: string;
  readonly need: number;
  readonly limit: number;
  readonly message: string;
}

export interface CompiledPolicy {
  /** SHA-256 (hex) of the canonical policy set. */
  readonly version: string;
  readonly profile: ProfileName;
  readonly entries: readonly EntrySpec[];
  readonly meters: readonly MeterConfigSpec[];
  readonly quotaSlots: readonly QuotaSlotInfo[];
  readonly rules: readonly RuleIndexEntry[];
  readonly agents: readonly AgentIndexEntry[];
  /** The DNS answers the entries were built from, to be refreshed when their TTL runs out. */
  readonly resolutions: readonly FqdnResolution[];
  readonly allocation: Allocation;
  readonly warnings: readonly CompileWarning[];
  /** Empty unless compiled with checkCapacity: false. */
  readonly capacityIssues: readonly CapacityIssue[];
  /**
   * Entries by group other than (agent, rule) pairs (an agent's own entries, the uplink, the
   * sensitive sources of a family), for `reuse` by the next compile. Not part of the JSON form.
   */
  readonly groups: ReadonlyMap<string, EntryGroup>;
  /** Per agent, in the order of `agents`: its pairs' entries, for `reuse`. Not part of the JSON form. */
  readonly pairGroups: readonly (readonly PairGroup[])[];
  /** Per rule (by position): what the next compile's `reuse` can take as is. Not part of the JSON form. */
  readonly compiledRules: readonly (CompiledRule | undefined)[];
  /** Set when compiled with `reuse`: how `entries` differ from the reused compile's. Not part of the JSON form. */
  readonly delta?: EntryDelta;
}

/**
 * The entries of one group and what they were built from: another compile's group of the same key,
 * for the same target, with an equal signature has equal entries.
 */
export interface EntryGroup {
  /** The inputs as text. */
  readonly signature: string;
  readonly entries: readonly EntrySpec[];
}

/**
 * The entries of one (agent, rule) pair. Another compile's pair of the same agent and rule, for the
 * same target, with equal signature and numbers has equal entries.
 */
export interface PairGroup extends EntryGroup {
  readonly rule: string;
  /** The quota slots and meters the entries use ('' when none). */
  readonly signature: string;
  readonly ruleDigest: number;
  readonly priority: number;
  readonly ruleId: number;
  readonly agentId: number;
}

/**
 * `entries` as the reused compile's entries (`base`, the very array) less `removed` plus `added`,
 * by object identity: what the planner needs to look at when the device holds `base`.
 */
export interface EntryDelta {
  readonly base: readonly EntrySpec[];
  readonly added: readonly EntrySpec[];
  readonly removed: readonly EntrySpec[];
}

function entryDelta(
  base: CompiledPolicy,
  groups: CompiledPolicy['groups'],
  pairGroups: CompiledPolicy['pairGroups'],
  reusedPairs: ReadonlySet<PairGroup>,
): EntryDelta {
  const added: EntrySpec[] = [];
  const removed: EntrySpec[] = [];
  for (const [key, group] of groups) {
    if (base.groups.get(key)?.entries !== group.entries) for (const e of group.entries) added.push(e);
  }
  for (const [key, group] of base.groups) {
    if (groups.get(key)?.entries !== group.entries) for (const e of group.entries) removed.push(e);
  }
  for (const list of pairGroups) {
    for (const group of list) if (!reusedPairs.has(group)) for (const e of group.entries) added.push(e);
  }
  for (const list of base.pairGroups) {
    for (const group of list) if (!reusedPairs.has(group)) for (const e of group.entries) removed.push(e);
  }
  return { base: base.entries, added, removed };
}

/** The value of a record's own key: never an inherited member, whatever an agent is called. */
function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Every rule id of a previous allocation. */
function* previousRuleIds(previous: Allocation | undefined): Iterable<number> {
  if (!previous) return;
  for (const agent in previous.pairs) yield* ownValue(previous.pairs, agent)?.ruleIds ?? [];
}

// Lists longer than this get an index by name, built once per list; shorter ones are searched.
const SEARCHED_LIST = 16;
const namesIndex = new WeakMap<readonly unknown[], Map<string, number>>();

/**
 * Position of `name` in a list of names given as `nameAt`, trying `hint` first: an agent's rules
 * are mostly where they were the last time.
 */
function indexByName<T>(list: readonly T[], nameAt: (item: T) => string, name: string, hint: number): number {
  if (hint < list.length && nameAt(list[hint]) === name) return hint;
  if (list.length <= SEARCHED_LIST) {
    for (let i = 0; i < list.length; i++) if (nameAt(list[i]) === name) return i;
    return -1;
  }
  let byName = namesIndex.get(list);
  if (!byName) {
    byName = new Map(list.map((item, i) => [nameAt(item), i]));
    namesIndex.set(list, byName);
  }
  return byName.get(name) ?? -1;
}

const indexOfName = (names: readonly string[], name: string, hint: number) =>
  indexByName(names, (n) => n, name, hint);
const indexOfGroup = (list: readonly PairGroup[], rule: string, hint: number) =>
  indexByName(list, (g) => g.rule, rule, hint);

/** The reused compile's pair groups by agent name. */
function pairGroupsByAgent(base: CompiledPolicy): Map<string, readonly PairGroup[]> {
  return new Map(base.agents.map((agent, a) => [agent.name, base.pairGroups[a]]));
}

export const CompileErrorCode = { CAPACITY: 'CAPACITY', INVALID_POLICY: 'INVALID_POLICY' } as const;

export class CompileError extends Error {
  override readonly name = 'CompileError';
  constructor(
    readonly code: keyof typeof CompileErrorCode,
    message: string,
    readonly issues: readonly CapacityIssue[] = [],
  ) {
    super(message);
  }
}

/** Largest frame the bursts are sized for: a full Ethernet frame without FCS. */
export const MTU_FRAME_BYTES = 1514;
/** A meter bucket holds this long of traffic at the configured rate (and at least two frames). */
export const BURST_SECONDS = 0.1;
/** Controller-enforced quotas let at most this share of the budget through between two counter reads. */
export const OVERSHOOT_SHARE = 0.1;

const AGENT_ID_LIMIT = REGISTERS.sensitiveRxBytes.size - 1;
const AGENT_ID_FIELD_LIMIT = 2 ** 16 - 1;
const QUOTA_SLOT_LIMIT = REGISTERS.quotaUsed.size - 1;
const METER_LIMIT = METERS.rate.size - 1;
const RULE_ID_LIMIT = 2 ** 32 - 1;

/**
 * A plain rate limit as a two-rate meter: both rates equal, so there is no yellow band, and a burst
 * of BURST_SECONDS of traffic (never less than two full frames, or a slow limit would drop every
 * full-sized frame).
 */
export function rateMeter(index: number, bytesPerSecond: number): MeterConfigSpec {
  const burst = BigInt(Math.max(Math.ceil(bytesPerSecond * BURST_SECONDS), 2 * MTU_FRAME_BYTES));
  const rate = BigInt(bytesPerSecond);
  return { meter: METERS.rate.name, index, cir: rate, cburst: burst, pir: rate, pburst: burst };
}

/**
 * Fresh ids: from above every id the previous compile used, so that an id released by this change
 * is not handed to something else while old entries that carry it may still be on the device. Only
 * when those run out, the lowest ids no previous compile used, then ids beyond the limit (which the
 * capacity check reports).
 */
class IdPool {
  private readonly taken = new Set<number>();
  private next: number;
  /** Below `next` when the pool started, and not taken: ids handed out once the ids above ran out. */
  private reclaimed = FIRST_SLOT;
  private readonly firstFresh: number;
  private overflow = 0;

  constructor(
    previous: Iterable<number>,
    private readonly limit: number,
  ) {
    let max = FIRST_SLOT - 1;
    for (const id of previous) {
      this.taken.add(id);
      if (id > max) max = id;
    }
    this.firstFresh = this.next = max + 1;
  }

  fresh(): number {
    if (this.next <= this.limit) return this.next++;
    // Every id from the first fresh one up to the limit is in use; what is left lies below it.
    while (this.reclaimed <= this.limit && this.taken.has(this.reclaimed)) this.reclaimed++;
    if (this.reclaimed < this.firstFresh && this.reclaimed <= this.limit) return this.reclaimed++;
    return this.limit + 1 + this.overflow++;
  }
}

/** Ids that stay with their key across compiles; new keys never take an id the previous compile used. */
class StickyIds {
  // A record without prototype rather than a Map: it becomes the allocation record at the end
  // without copying its keys, and no key can hit an inherited member.
  private readonly assigned: Record<string, number> = Object.create(null) as Record<string, number>;
  private readonly pool: IdPool;
  private readonly hasPrevious: boolean;
  private highest = 0;

  constructor(
    private readonly previous: Readonly<Record<string, number>>,
    private readonly limit: number,
  ) {
    const ids = Object.values(previous);
    this.pool = new IdPool(ids, limit);
    this.hasPrevious = ids.length > 0;
  }

  id(key: string): number {
    const known = this.assigned[key];
    if (known !== undefined) return known;
    let id = this.hasPrevious ? ownId(this.previous, key) : undefined;
    if (id === undefined || id > this.limit) id = this.pool.fresh();
    this.assigned[key] = id;
    if (id > this.highest) this.highest = id;
    return id;
  }

  get max(): number {
    return this.highest;
  }

  /** The ids by key as a plain record, in the order assigned. No id is assigned after this. */
  record(): Record<string, number> {
    return Object.setPrototypeOf(this.assigned, Object.prototype) as Record<string, number>;
  }
}

/** The previous id of a key: a number, never an inherited member (those are functions or objects). */
function ownId(previous: Readonly<Record<string, number>>, key: string): number | undefined {
  const id: unknown = previous[key];
  return typeof id === 'number' ? id : undefined;
}

const exact = (value: bigint): FieldValue => ({ kind: 'exact', value });

function ternaryPrefix(prefix: Prefix): FieldValue | undefined {
  if (prefix.len === 0) return undefined;
  return { kind: 'ternary', value: prefix.value, mask: prefixMask(prefix.family, prefix.len) };
}

interface KeyPart {
  readonly protocol?: number;
  readonly low?: number;
  readonly high?: number;
  /** The same, as match fields shared by every entry that uses them. */
  readonly fields: Readonly<Record<string, FieldValue>>;
}

function keyPart(protocol?: number, low?: number, high?: number): KeyPart {
  const fields: Record<string, FieldValue> = {};
  if (protocol !== undefined) fields.protocol = { kind: 'ternary', value: BigInt(protocol), mask: 0xffn };
  if (low !== undefined && high !== undefined)
    fields.dst_port = { kind: 'range', low: BigInt(low), high: BigInt(high) };
  return { protocol, low, high, fields };
}

const ICMP_V4 = 1;
const ICMP_V6 = 58;
const TCP = 6;
const UDP = 17;

/** The disjoint (protocol, port range) keys of a port space, for one address family. */
function portKeys(space: PortSpace, family: 4 | 6): KeyPart[] {
  if (space.any) return [keyPart()];
  const out: KeyPart[] = [];
  if (space.icmp) out.push(keyPart(family === 4 ? ICMP_V4 : ICMP_V6));
  for (const [protocol, ranges] of [
    [TCP, space.tcp],
    [UDP, space.udp],
  ] as const) {
    for (const range of ranges) {
      // The full range is a don't-care: it also matches packets whose ports were not parsed (0).
      if (range.low === 0 && range.high === 65535) out.push(keyPart(protocol));
      else out.push(keyPart(protocol, range.low, range.high));
    }
  }
  return out;
}

/** One ACL entry of a rule, without the agent: the same for every agent the rule applies to. */
interface EntryTemplate {
  readonly table: string;
  /** Index of the destination chunk (and so of the action and parameters) the entry belongs to. */
  readonly chunk: number;
  readonly protocol?: FieldValue;
  readonly dstPort?: FieldValue;
  readonly dstAddr?: FieldValue;
}

/**
 * The match of an ACL entry: the agent's id and the template's fields, in this order, those the
 * template has only. Written as one literal per set of fields, so that each match is one object
 * of its final size instead of one grown field by field.
 */
function aclMatch(agent: FieldValue, t: EntryTemplate): Record<string, FieldValue> {
  const { protocol, dstPort, dstAddr } = t;
  if (protocol) {
    if (dstPort) {
      return dstAddr
        ? { agent_id: agent, protocol, dst_port: dstPort, dst_addr: dstAddr }
        : { agent_id: agent, protocol, dst_port: dstPort };
    }
    return dstAddr ? { agent_id: agent, protocol, dst_addr: dstAddr } : { agent_id: agent, protocol };
  }
  if (dstPort) {
    return dstAddr
      ? { agent_id: agent, dst_port: dstPort, dst_addr: dstAddr }
      : { agent_id: agent, dst_port: dstPort };
  }
  return dstAddr ? { agent_id: agent, dst_addr: dstAddr } : { agent_id: agent };
}

/**
 * What a rule compiles to apart from its name and the agents it applies to. Rules that differ only
 * in those (the same rule written once per agent) share one body, computed once.
 */
interface RuleBody {
  /** The content text the body is filed under (see ruleContentJson). */
  readonly key: string;
  /** The rule the body was made for. */
  readonly model: RuleDef;
  /**
   * The frame of the canonical JSON of the rule the body was made for, if it takes shared frames:
   * then it is that of every rule of the same content that does (see takesSharedFrame).
   */
  readonly frame?: RuleJsonFrame;
  readonly chunks: readonly DestinationChunk[];
  readonly templates: readonly EntryTemplate[];
  /** Digest of the keys of the rule's entries for one agent, agent aside (see aclKeysDigest). */
  readonly matchDigest: number;
  readonly flags: number;
  /** `flags` as the action parameter, shared by every entry of the rule. */
  readonly flagsParam: bigint;
  /** Whether a chunk charges a named destination's quota (its entries then name it). */
  readonly quotaDestinations: boolean;
  /** Per destination chunk: the quota its entries charge, if any. */
  readonly chunkQuotas: readonly (Quota | undefined)[];
  /**
   * The action of every entry when no entry charges a quota or takes a meter: then the entries of
   * one agent differ from another's only in agent id, rule id and priority.
   */
  readonly plainAction?: string;
}

interface RuleShape extends CompiledRule {
  readonly body: RuleBody;
  /**
   * Per destination chunk: the rule's metadata, naming the quota destination where there is one.
   * Absent when no chunk has a quota destination: every entry then carries `metadata`.
   */
  readonly chunkMetadata?: readonly Uint8Array[];
}

function ruleBody(
  rule: RuleDef,
  key: string,
  chunks: readonly DestinationChunk[],
  destinations: ReadonlyMap<string, DestinationDef>,
): RuleBody {
  const flags = (rule.trusted ? RuleFlag.TRUSTED : 0) | (rule.mode === 'audit' ? RuleFlag.AUDIT : 0);
  const templates = ruleTemplates(chunks, portSpace(rule.ports));
  const chunkQuotas = chunks.map((chunk) =>
    chunk.quotaDestination ? destinations.get(chunk.quotaDestination)?.quota : rule.quota,
  );
  let plainAction: string | undefined;
  if (rule.action === 'deny') plainAction = ACTIONS.deny.name;
  else if (rule.rateBytesPerSecond === undefined && chunkQuotas.every((q) => q === undefined))
    plainAction = ACTIONS.allow.name;
  return {
    key,
    model: rule,
    frame: takesSharedFrame(rule) ? ruleJsonFrame(rule) : undefined,
    chunks,
    templates,
    matchDigest: aclKeysDigest(templates),
    flags,
    flagsParam: BigInt(flags),
    quotaDestinations: chunks.some((c) => c.quotaDestination !== undefined),
    chunkQuotas,
    plainAction,
  };
}

function ruleTemplates(chunks: readonly DestinationChunk[], ports: PortSpace): EntryTemplate[] {
  const templates: EntryTemplate[] = [];
  chunks.forEach((chunk, c) => {
    for (const family of [4, 6] as const) {
      const table = family === 4 ? TABLES.aclV4.name : TABLES.aclV6.name;
      const keys = portKeys(ports, family);
      for (const prefix of family === 4 ? chunk.v4 : chunk.v6) {
        const dstAddr = ternaryPrefix(prefix);
        for (const part of keys) {
          templates.push({
            table,
            chunk: c,
            protocol: part.fields.protocol,
            dstPort: part.fields.dst_port,
            dstAddr,
          });
        }
      }
    }
  });
  return templates;
}

/** The JSON of a rule's name, agents and groups, as written: the digest and the version both use them. */
interface RuleHeadJson {
  readonly name: string;
  readonly agents: string;
  readonly groups: string;
}

/** The body among `candidates` (of one content hash) whose content is the rule's, if any. */
function sameContentBody(candidates: readonly RuleBody[] | undefined, rule: RuleDef): RuleBody | undefined {
  if (candidates) for (const body of candidates) if (sameSelfContainedContent(body.model, rule)) return body;
  return undefined;
}

/**
 * JSON.stringify of a list of names. Most lists are empty or name one agent or group, which many
 * rules name: the text of a one-name list is written once per name (`single`) and shared.
 */
function listJson(items: readonly string[], single: Map<string, string>): string {
  if (items.length === 0) return '[]';
  if (items.length > 1 || typeof items[0] !== 'string') return JSON.stringify(items);
  let text = single.get(items[0]);
  if (text === undefined) single.set(items[0], (text = JSON.stringify(items)));
  return text;
}

function ruleHeadJson(rule: RuleDef, single: Map<string, string>): RuleHeadJson {
  return {
    name: JSON.stringify(rule.name),
    agents: listJson(rule.agents, single),
    groups: listJson(rule.groups, single),
  };
}

/**
 * The rule's digest: FNV-1a of the JSON of [name, agents, groups, ...the content's items], hashed
 * piece by piece from texts built anyway instead of being joined into one.
 */
function ruleDigest(head: RuleHeadJson, content: string): number {
  let h = fnv1aUpdate(FNV1A_OFFSET, '[');
  h = fnv1aUpdate(fnv1aUpdate(h, head.name), ',');
  h = fnv1aUpdate(fnv1aUpdate(h, head.agents), ',');
  h = fnv1aUpdate(fnv1aUpdate(h, head.groups), ',');
  return fnv1aUpdate(h, content, 1);
}

/** The rule's canonical JSON for the policy version: from its body's frame where that serves. */
function canonicalRuleText(rule: RuleDef, body: RuleBody, head: RuleHeadJson): string {
  if (!body.frame || !takesSharedFrame(rule)) return canonicalRuleJson(rule);
  return framedRuleJson(
    body.frame,
    head.name,
    sortedListJson(rule.agents, head.agents),
    sortedListJson(rule.groups, head.groups),
  );
}

/**
 * A rule's compiled text, digest and metadata, kept for the next compile's `reuse`: a rule that
 * names no destination and no FQDN compiles from its own fields only, and rule objects are
 * immutable, so the same object seen again need not be serialized again.
 */
export interface CompiledRule {
  readonly rule: RuleDef;
  /** Its content text (see compilePolicy), shared by the rules of the same content. */
  readonly content: string;
  readonly digest: number;
  readonly metadata: Uint8Array;
}

/**
 * Looks up what the reused compile kept of a rule object, by position when the rules are as many as
 * before (an edit in place), by identity otherwise.
 */
function keptRules(reuse: CompiledPolicy | undefined, rules: readonly RuleDef[]) {
  const kept = reuse?.compiledRules;
  if (!kept || kept.length === 0) return () => undefined;
  if (kept.length === rules.length) {
    return (rule: RuleDef, r: number) => (kept[r]?.rule === rule ? kept[r] : undefined);
  }
  const byRule = new Map<RuleDef, CompiledRule>();
  for (const one of kept) if (one) byRule.set(one.rule, one);
  return (rule: RuleDef) => byRule.get(rule);
}

function invalid(message: string): never {
  throw new CompileError('INVALID_POLICY', message);
}

/** The parameters every ACL entry of a pair carries, in this order, before any of its action's own. */
// A type, not an interface: it must pass as a Record of parameters.
type BaseParams = { readonly rule_id: bigint; readonly flags: bigint };

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** Compiles a policy set for a target. Throws CompileError when it does not fit (see options). */
export function compilePolicy(
  policy: PolicySet,
  profile: TargetProfile,
  options: CompileOptions = {},
): CompiledPolicy {
  const previous = options.previous;
  const pollSeconds = options.counterPollSeconds ?? 1;
  const resolutions = [...(options.resolutions ?? [])].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const resolutionByName = new Map(resolutions.map((r) => [r.name, r]));
  const destinations = new Map<string, DestinationDef>(policy.destinations.map((d) => [d.name, d]));
  const rulesOfAgent = rulesByAgent(policy);
  const checkCapacity = options.checkCapacity ?? true;
  const controllerQuotas = !profile.registers || profile.quotaEnforcement === 'controller';
  const warnings: CompileWarning[] = [];

  const agentIds = new StickyIds(
    previous?.agents ?? {},
    checkCapacity ? AGENT_ID_LIMIT : AGENT_ID_FIELD_LIMIT,
  );
  const slots = new StickyIds(previous?.quotaSlots ?? {}, QUOTA_SLOT_LIMIT);
  const meterIds = new StickyIds(previous?.meters ?? {}, METER_LIMIT);

  const provenance = new ProvenanceWriter();
  const meta = (kind: ProvenanceKindName, digest: number, name: string) =>
    provenance.encode(kind, digest, name);

  // ---- rule shapes, once per rule whatever the number of agents it applies to
  const bodies = new Map<string, RuleBody>();
  // The bodies of self-contained rules by a hash of their content.
  const bodiesByHash = new Map<number, RuleBody[]>();
  const hasher = new RuleContentHasher();
  const singleNameLists = new Map<string, string>();
  const noDestinations: never[] = [];
  // The version is hashed as the rules go by, while each one's fields are at hand.
  const version = new PolicyVersionHash(policy);
  const keptRule = keptRules(options.reuse, policy.rules);
  const compiledRules: (CompiledRule | undefined)[] = [];
  const shapes: RuleShape[] = policy.rules.map((rule, r) => {
    const selfContained = isSelfContained(rule);
    if (!selfContained) {
      for (const name of [
        ...rule.fqdns,
        ...rule.destinations.flatMap((d) => destinations.get(d)?.fqdns ?? []),
      ]) {
        if (!resolutionByName.has(name)) {
          warnings.push({
            code: 'FQDN_UNRESOLVED',
            message: `rule "${rule.name}": ${name} has no DNS answer; it matches nothing until resolved`,
          });
        }
      }
    }
    const used = selfContained ? noDestinations : rule.destinations.map((d) => destinations.get(d));
    const dnsAnswers = selfContained
      ? noDestinations
      : [...rule.fqdns, ...used.flatMap((d) => d?.fqdns ?? [])].map(
          (n) => resolutionByName.get(n)?.addresses ?? [],
        );
    // A self-contained rule of the same content as one seen before takes that one's body, and
    // with it the content text, without being serialized.
    const known = selfContained ? keptRule(rule, r) : undefined;
    const shapeHash = selfContained && !known ? hasher.hash(rule) : 0;
    let body = known
      ? bodies.get(known.content)
      : selfContained
        ? sameContentBody(bodiesByHash.get(shapeHash), rule)
        : undefined;
    const content = known?.content ?? body?.key ?? ruleContentJson(rule, used, dnsAnswers);
    if (!body) {
      body = bodies.get(content);
      if (!body) {
        body = ruleBody(rule, content, destinationChunks(rule, destinations, resolutionByName), destinations);
        bodies.set(content, body);
        if (selfContained) {
          const sameHash = bodiesByHash.get(shapeHash);
          if (sameHash) sameHash.push(body);
          else bodiesByHash.set(shapeHash, [body]);
        }
      }
    }
    const head = ruleHeadJson(rule, singleNameLists);
    const digest = known?.digest ?? ruleDigest(head, content);
    version.addRule(canonicalRuleText(rule, body, head));
    const metadata = known?.metadata ?? meta('rule', digest, rule.name);
    // Entries charged to a named destination's quota say which, so the device alone tells the slot.
    const chunkMetadata = body.quotaDestinations
      ? body.chunks.map((chunk) =>
          chunk.quotaDestination === undefined
            ? metadata
            : provenance.encode('rule', digest, rule.name, chunk.quotaDestination),
        )
      : undefined;
    // The content kept is the text the body is filed under, shared by every rule of that content.
    const shape = { rule, content: body.key, digest, metadata, body, chunkMetadata };
    compiledRules.push(selfContained ? shape : undefined);
    return shape;
  });

  const entries: EntrySpec[] = [];
  const meters: MeterConfigSpec[] = [];
  const quotaInfo = new Map<number, { info: Omit<QuotaSlotInfo, 'rules'>; rules: Set<string> }>();
  const ruleIndex: RuleIndexEntry[] = [];
  const agentIndex: AgentIndexEntry[] = [];
  // Every entry belongs to one group (an agent's own entries, an (agent, rule) pair, the uplink, the
  // sensitive sources of a family). A group whose inputs did not change since the `reuse` compile
  // is taken from it as the same objects, which is what lets the planner skip it by identity.
  const groups = new Map<string, EntryGroup>();
  const reuse = options.reuse?.profile === profile.name ? options.reuse : undefined;
  const reusable = reuse?.groups;
  const addGroup = (key: string, signature: string, build: () => EntrySpec[]) => {
    const reused = reusable?.get(key);
    const group = reused && reused.signature === signature ? reused : { signature, entries: build() };
    groups.set(key, group);
    for (const entry of group.entries) entries.push(entry);
  };
  // An agent's tightest exfiltration threshold, over its own and its groups', found in one pass.
  const groupThreshold = new Map<string, number>();
  for (const g of policy.groups) {
    if (g.exfiltrationThreshold === undefined) continue;
    for (const name of g.agents) {
      const known = groupThreshold.get(name);
      groupThreshold.set(
        name,
        known === undefined ? g.exfiltrationThreshold : Math.min(known, g.exfiltrationThreshold),
      );
    }
  }
  const thresholdOf = (agent: AgentDef): number | undefined => {
    const own = agent.exfiltrationThreshold;
    const viaGroups = groupThreshold.get(agent.name);
    if (own === undefined) return viaGroups;
    return viaGroups === undefined ? own : Math.min(own, viaGroups);
  };
  const uplinkDigest = fnv1a(String(policy.uplinkPort));
  if (!Number.isInteger(policy.uplinkPort) || policy.uplinkPort < 0 || policy.uplinkPort >= 2 ** PORT_BITS) {
    invalid(`uplink port ${policy.uplinkPort} is not a ${PORT_BITS}-bit port number`);
  }

  // ---- agents: identity and return path
  const agentIdOf: number[] = [];
  // The agent_id match field of each agent, shared by its guard entries and its ACL entries.
  const agentFieldOf: FieldValue[] = [];
  const uplinkParam = BigInt(policy.uplinkPort);
  policy.agents.forEach((agent: AgentDef) => {
    const agentId = agentIds.id(agent.name);
    agentIdOf.push(agentId);
    const agentField = exact(BigInt(agentId));
    agentFieldOf.push(agentField);
    agentIndex.push({ name: agent.name, agentId, port: agent.port });
    const mac = parseMac(agent.mac);
    if (mac === null) invalid(`agent "${agent.name}": "${agent.mac}" is not a MAC address`);
    if (
      agent.port === CPU_PORT ||
      agent.port === policy.uplinkPort ||
      !Number.isInteger(agent.port) ||
      agent.port < 0
    ) {
      invalid(`agent "${agent.name}": port ${agent.port} is reserved or not a port number`);
    }
    const digest = fnv1a(
      JSON.stringify([
        agent.name,
        agent.port,
        agent.mac,
        agent.ipv4,
        agent.ipv6,
        agent.mode,
        agent.exfiltrationThreshold ?? null,
      ]),
    );
    const threshold = thresholdOf(agent);
    const exfilLimit = threshold === undefined ? NO_EXFIL_LIMIT : BigInt(threshold);
    if (exfilLimit > NO_EXFIL_LIMIT) invalid(`agent "${agent.name}": exfiltration threshold exceeds 48 bits`);
    const group = `\0agent/${agent.name}`;
    const signature = `${digest}|${agentId}|${policy.uplinkPort}|${exfilLimit}|${profile.name}`;
    const reused = reusable?.get(group);
    if (reused && reused.signature === signature) {
      groups.set(group, reused);
      for (const entry of reused.entries) entries.push(entry);
      return;
    }
    const m = meta('agent', digest, agent.name);
    const own: EntrySpec[] = [];
    own.push({
      table: TABLES.portMap.name,
      match: { ingress_port: exact(BigInt(agent.port)) },
      action: ACTIONS.agentPort.name,
      params: {
        agent_id: BigInt(agentId),
        uplink_port: uplinkParam,
        flags: BigInt(agent.mode === 'audit' ? AgentFlag.AUDIT : 0),
        exfil_limit: exfilLimit,
      },
      metadata: m,
    });
    own.push({
      table: TABLES.macGuard.name,
      match: { agent_id: agentField, src_mac: exact(mac) },
      action: ACTIONS.sourceOk.name,
      params: {},
      metadata: m,
    });
    const guardSources = (family: 4 | 6, list: readonly string[]) => {
      for (const text of list) {
        const addr = parseAddress(text, family);
        if (!addr) invalid(`agent "${agent.name}": "${text}" is not an IPv${family} address`);
        own.push({
          table: family === 4 ? TABLES.ipv4Guard.name : TABLES.ipv6Guard.name,
          match: { agent_id: agentField, src_addr: exact(addr.value) },
          action: ACTIONS.sourceOk.name,
          params: {},
          metadata: m,
        });
      }
    };
    guardSources(4, agent.ipv4);
    guardSources(6, agent.ipv6);
    own.push({
      table: TABLES.hostRoute.name,
      match: { dst_mac: exact(mac) },
      action: ACTIONS.toHost.name,
      params: { port: BigInt(agent.port), agent_id: BigInt(agentId) },
      metadata: m,
    });
    groups.set(group, { signature, entries: own });
    for (const entry of own) entries.push(entry);
  });
  addGroup('\0uplink', `${policy.uplinkPort}`, () => [
    {
      table: TABLES.portMap.name,
      match: { ingress_port: exact(BigInt(policy.uplinkPort)) },
      action: ACTIONS.uplinkPort.name,
      params: {},
      metadata: meta('uplink', uplinkDigest, ''),
    },
  ]);

  // ---- sensitive sources
  const sensitiveDestinations = policy.destinations.filter((d) => d.sensitive);
  for (const family of [4, 6] as const) {
    const prefixes: Prefix[] = [];
    for (const d of sensitiveDestinations) {
      prefixes.push(...selectorPrefixes(d.cidrs, family), ...fqdnPrefixes(d.fqdns, family, resolutionByName));
    }
    for (const text of policy.sensitiveSources) {
      const parsed = parseCidr(text);
      if (!('prefix' in parsed)) invalid(`sensitive source "${text}": ${parsed.error}`);
      if (parsed.prefix.family === family) prefixes.push(parsed.prefix);
    }
    const normalized = normalizePrefixes(prefixes);
    addGroup(`\0sensitive/${family}`, normalized.map(formatPrefix).join(','), () =>
      normalized.map((prefix) => ({
        table: family === 4 ? TABLES.sensitiveV4.name : TABLES.sensitiveV6.name,
        match: { src_addr: { kind: 'lpm', value: prefix.value, prefixLen: prefix.len } },
        action: ACTIONS.sensitive.name,
        params: {},
        metadata: meta('sensitive', fnv1a(formatPrefix(prefix)), ''),
      })),
    );
  }

  // ---- ACLs
  // Without a previous compile, an agent's priorities depend on its number of rules only.
  const freshByCount = new Map<number, readonly number[]>();
  /** Priorities of an agent's rules; `beforeAt[k]`: where rule k was among the agent's pairs before. */
  const prioritiesOf = (
    ruleList: readonly number[],
    before: PairAllocation | undefined,
    beforeAt: readonly number[] | undefined,
  ) => {
    if (!before || !beforeAt) {
      let fresh = freshByCount.get(ruleList.length);
      if (!fresh) freshByCount.set(ruleList.length, (fresh = freshPriorities(ruleList.length)));
      return fresh;
    }
    const prior = ruleList.map((r, k) => {
      const at = beforeAt[k];
      if (at < 0) return undefined;
      const shape = shapes[r];
      // A rule whose match keys change moves to a new priority: its new entries never share a
      // priority with its old ones while both are installed, so no two overlapping entries of
      // an agent are ever tied. On a target without MODIFY, any change moves it, so that new
      // entries go in before old ones leave instead of a delete-then-insert gap.
      const keysMoved = before.matchDigests[at] !== shape.body.matchDigest;
      const contentMoved = !profile.modifyEntries && before.digests[at] !== shape.digest;
      return keysMoved || contentMoved ? undefined : before.priorities[at];
    });
    // New values avoid the priorities the agent's entries held before: those may still be installed.
    return allocatePriorities(prior, prior.includes(undefined) ? new Set(before.priorities) : undefined);
  };
  // The rate meter of a pair is taken when an entry first uses it: an index no entry carries could
  // not be read back from the device (see recoverAllocation).
  const takeRateMeter = (agent: AgentDef, rule: RuleDef, bytesPerSecond: number): number => {
    const index = meterIds.id(`${agent.name}/rate:${rule.name}`);
    meters.push(rateMeter(index, bytesPerSecond));
    return index;
  };
  // The action and parameters of a pair's entries charged to `quota` (one destination chunk).
  const quotaAction = (
    agent: AgentDef,
    rule: RuleDef,
    chunk: DestinationChunk,
    quota: Quota,
    baseParams: BaseParams,
    rateMeterIndex: number,
  ): { action: string; params: Record<string, bigint> } => {
    const quotaKey = chunk.quotaDestination
      ? `${agent.name}/destination:${chunk.quotaDestination}`
      : `${agent.name}/rule:${rule.name}`;
    const slot = slots.id(quotaKey);
    let meterIndex = rateMeterIndex;
    let overshoot: { overshootMeter: number; overshootBytes: number } | undefined;
    if (controllerQuotas) {
      // Between two counter reads, the meter caps what can pass beyond the budget.
      const cap = Math.max(1, Math.floor((quota.bytes * OVERSHOOT_SHARE) / pollSeconds));
      const rate = Math.min(cap, rule.rateBytesPerSecond ?? cap);
      meterIndex = meterIds.id(`${agent.name}/overshoot:${rule.name}:${quotaKey}`);
      meters.push(rateMeter(meterIndex, rate));
      overshoot = { overshootMeter: meterIndex, overshootBytes: Math.ceil(rate * pollSeconds) };
    }
    const existing = quotaInfo.get(slot);
    if (existing) existing.rules.add(rule.name);
    else {
      // Field by field in the order of the JSON form, without spreading optional parts in.
      const info: Writable<Omit<QuotaSlotInfo, 'rules'>> = { slot, agent: agent.name } as Writable<
        Omit<QuotaSlotInfo, 'rules'>
      >;
      if (chunk.quotaDestination) info.destination = chunk.quotaDestination;
      info.budgetBytes = quota.bytes;
      info.windowSeconds = quota.windowSeconds;
      info.enforcement = controllerQuotas ? 'controller' : 'dataplane';
      if (overshoot) {
        info.overshootMeter = overshoot.overshootMeter;
        info.overshootBytes = overshoot.overshootBytes;
      }
      quotaInfo.set(slot, { info, rules: new Set([rule.name]) });
    }
    return {
      action: ACTIONS.allowQuota.name,
      params: {
        rule_id: baseParams.rule_id,
        flags: baseParams.flags,
        quota_slot: BigInt(slot),
        budget: BigInt(quota.bytes),
        meter_index: BigInt(meterIndex),
      },
    };
  };
  // Per destination chunk, the action and parameters of a pair's entries, for a rule whose entries
  // charge a quota or take a meter; and the quota slots and meters used, for the pair's signature.
  const chunkActions = (agent: AgentDef, shape: RuleShape, baseParams: BaseParams) => {
    const rule = shape.rule;
    const built: { action: string; params: Readonly<Record<string, bigint>> }[] = [];
    let signature = '';
    let rateMeterIndex = 0;
    const rate = rule.action === 'allow' ? rule.rateBytesPerSecond : undefined;
    shape.body.chunks.forEach((chunk, c) => {
      const quota = shape.body.chunkQuotas[c];
      let one: { action: string; params: Readonly<Record<string, bigint>> };
      if (quota) {
        if (!controllerQuotas && rateMeterIndex === 0 && rate !== undefined)
          rateMeterIndex = takeRateMeter(agent, rule, rate);
        one = quotaAction(agent, rule, chunk, quota, baseParams, controllerQuotas ? 0 : rateMeterIndex);
      } else {
        if (rateMeterIndex === 0 && rate !== undefined) rateMeterIndex = takeRateMeter(agent, rule, rate);
        one = rateMeterIndex
          ? {
              action: ACTIONS.allowRate.name,
              params: {
                rule_id: baseParams.rule_id,
                flags: baseParams.flags,
                meter_index: BigInt(rateMeterIndex),
              },
            }
          : { action: ACTIONS.allow.name, params: baseParams };
      }
      built.push(one);
      signature += `|${one.action}:${one.params.quota_slot ?? ''}:${one.params.meter_index ?? ''}`;
    });
    return { built, signature };
  };
  // Rule ids are looked up through the agent's pairs before, not by an `agent/rule` key.
  const ruleIdPool = new IdPool(previousRuleIds(previous), RULE_ID_LIMIT);
  // Without prototype while it is filled, so that no agent name can hit an inherited member.
  const pairAllocation = Object.create(null) as Record<string, PairAllocation>;
  const pairGroups: PairGroup[][] = [];
  const basePairs = reuse ? pairGroupsByAgent(reuse) : undefined;
  // The reused compile's pair groups taken as they are: the others are what the change removes.
  const reusedPairs = new Set<PairGroup>();
  policy.agents.forEach((agent, a) => {
    const agentId = agentIdOf[a];
    const agentField = agentFieldOf[a];
    const ruleList = rulesOfAgent[a];
    const before = previous ? ownValue(previous.pairs, agent.name) : undefined;
    const beforeAt = before
      ? ruleList.map((r, k) => indexOfName(before.rules, policy.rules[r].name, k))
      : undefined;
    const assigned = prioritiesOf(ruleList, before, beforeAt);
    const baseGroups = basePairs?.get(agent.name);
    // The agent's PairAllocation, a column at a time.
    const pairRules: string[] = [];
    const pairRuleIds: number[] = [];
    const pairPriorities: number[] = [];
    const pairDigests: number[] = [];
    const pairMatchDigests: number[] = [];
    const agentGroups = new Array<PairGroup>(ruleList.length);
    ruleList.forEach((r, k) => {
      const shape = shapes[r];
      const rule = shape.rule;
      const body = shape.body;
      const priority = assigned[k];
      const at = beforeAt ? beforeAt[k] : -1;
      let ruleId = before && at >= 0 ? before.ruleIds[at] : undefined;
      if (ruleId === undefined || ruleId > RULE_ID_LIMIT) ruleId = ruleIdPool.fresh();
      const baseParams = { rule_id: BigInt(ruleId), flags: body.flagsParam };
      const actions = body.plainAction === undefined ? chunkActions(agent, shape, baseParams) : undefined;
      const signature = actions ? actions.signature : '';
      // An unchanged pair is the previous compile's very group, entry objects and all: the planner
      // then knows them by identity and only the pairs that changed cost anything to compare.
      const reusedAt = baseGroups ? indexOfGroup(baseGroups, rule.name, k) : -1;
      const reused = reusedAt >= 0 ? (baseGroups as readonly PairGroup[])[reusedAt] : undefined;
      let group: PairGroup;
      if (
        reused &&
        reused.signature === signature &&
        reused.ruleDigest === shape.digest &&
        reused.priority === priority &&
        reused.ruleId === ruleId &&
        reused.agentId === agentId
      ) {
        group = reused;
        reusedPairs.add(reused);
      } else {
        // Sized up front: grown by push, the arrays of a hundred thousand pairs would be mostly slack.
        const built = new Array<EntrySpec>(body.templates.length);
        for (let i = 0; i < built.length; i++) {
          const t = body.templates[i];
          const match = aclMatch(agentField, t);
          const action = actions ? actions.built[t.chunk].action : (body.plainAction as string);
          const params = actions ? actions.built[t.chunk].params : baseParams;
          const metadata = shape.chunkMetadata ? shape.chunkMetadata[t.chunk] : shape.metadata;
          built[i] = { table: t.table, match, priority, action, params, metadata };
        }
        group = {
          rule: rule.name,
          signature,
          ruleDigest: shape.digest,
          priority,
          ruleId,
          agentId,
          entries: built,
        };
      }
      agentGroups[k] = group;
      for (const entry of group.entries) entries.push(entry);
      const count = group.entries.length;
      // The allocation records only what the entries carry, so that it can be read back from a
      // device: a pair that compiles to no entry keeps nothing across compiles.
      if (count > 0) {
        pairRules.push(rule.name);
        pairRuleIds.push(ruleId);
        pairPriorities.push(priority);
        pairDigests.push(shape.digest);
        pairMatchDigests.push(body.matchDigest);
      }
      ruleIndex.push({
        ruleId,
        rule: rule.name,
        agent: agent.name,
        priority,
        entries: count,
        location: rule.location,
      });
    });
    pairAllocation[agent.name] = {
      rules: pairRules,
      ruleIds: pairRuleIds,
      priorities: pairPriorities,
      digests: pairDigests,
      matchDigests: pairMatchDigests,
    };
    pairGroups.push(agentGroups);
  });

  const quotaSlots: QuotaSlotInfo[] = [...quotaInfo.values()]
    .map(({ info, rules }) => Object.assign(info, { rules: [...rules] }) as QuotaSlotInfo)
    .sort((a, b) => a.slot - b.slot);
  const compiled: CompiledPolicy = {
    version: version.digest(),
    profile: profile.name,
    entries,
    meters: meters.sort((a, b) => a.index - b.index),
    quotaSlots,
    rules: ruleIndex,
    agents: agentIndex,
    resolutions,
    allocation: {
      agents: agentIds.record(),
      pairs: Object.setPrototypeOf(pairAllocation, Object.prototype) as Record<string, PairAllocation>,
      quotaSlots: slots.record(),
      meters: meterIds.record(),
    },
    warnings,
    capacityIssues: [],
    groups,
    pairGroups,
    compiledRules,
    ...(options.reuse ? { delta: entryDelta(options.reuse, groups, pairGroups, reusedPairs) } : {}),
  };
  const issues = capacityIssues(compiled, profile, {
    agentIds: agentIds.max,
    quotaSlots: slots.max,
    meters: meterIds.max,
    ports: policy.agents.map((agent) => agent.port),
  });
  if (issues.length > 0 && checkCapacity) {
    throw new CompileError(
      'CAPACITY',
      `the policy does not fit ${profile.name}:\n${issues.map((i) => `  ${i.message}`).join('\n')}`,
      issues,
    );
  }
  return { ...compiled, capacityIssues: issues };
}

/** Entries a table can hold on a target: the contract size, rounded down to a power of two where required. */
export function tableCapacity(table: TableKey, profile: TargetProfile): number {
  const size: number = TABLES[table].size;
  if (profile.powerOfTwoSizesBelow === undefined) return size;
  let pow = 1;
  while (pow * 2 <= size && pow * 2 < profile.powerOfTwoSizesBelow) pow *= 2;
  return pow;
}

function capacityIssues(
  compiled: CompiledPolicy,
  profile: TargetProfile,
  used: { agentIds: number; quotaSlots: number; meters: number; ports: number[] },
): CapacityIssue[] {
  const issues: CapacityIssue[] = [];
  const perTable = new Map<string, number>();
  // Entries of one table come in runs (a pair's entries, an agent's): counted a run at a time.
  let table: string | undefined;
  let run = 0;
  for (const entry of compiled.entries) {
    if (entry.table === table) run++;
    else {
      if (table !== undefined) perTable.set(table, (perTable.get(table) ?? 0) + run);
      table = entry.table;
      run = 1;
    }
  }
  if (table !== undefined) perTable.set(table, (perTable.get(table) ?? 0) + run);
  for (const key of Object.keys(TABLES) as TableKey[]) {
    const need = perTable.get(TABLES[key].name) ?? 0;
    const limit = tableCapacity(key, profile);
    if (need > limit) {
      issues.push({
        resource: TABLES[key].name,
        need,
        limit,
        message: `table ${TABLES[key].name} needs ${need} entries, ${profile.name} holds ${limit}`,
      });
    }
  }
  const limits: [string, number, number, string][] = [
    [
      'agent ids',
      used.agentIds,
      AGENT_ID_LIMIT,
      `register ${REGISTERS.sensitiveRxBytes.name} has ${AGENT_ID_LIMIT} agent cells (ids 1-${AGENT_ID_LIMIT})`,
    ],
    [
      'quota slots',
      used.quotaSlots,
      QUOTA_SLOT_LIMIT,
      `register ${REGISTERS.quotaUsed.name} has ${QUOTA_SLOT_LIMIT} quota cells`,
    ],
    ['meter indices', used.meters, METER_LIMIT, `meter ${METERS.rate.name} has ${METER_LIMIT} usable cells`],
  ];
  for (const [resource, need, limit, why] of limits) {
    if (need > limit)
      issues.push({ resource, need, limit, message: `${resource}: needs up to ${need}, but ${why}` });
  }
  let widest = 0;
  for (const port of used.ports) if (port > widest) widest = port;
  if (widest >= 2 ** PORT_BITS) {
    issues.push({
      resource: 'ports',
      need: widest,
      limit: 2 ** PORT_BITS - 1,
      message: `ports: port ${widest} does not fit the ${PORT_BITS}-bit port field`,
    });
  }
  return issues;
}

/** SHA-256 (hex) of the entries, meters and quota slots: the identity of what a compile produces. */
export function compiledDigest(compiled: CompiledPolicy): string {
  return createHash('sha256')
    .update(JSON.stringify(compiledToJson(compiled)))
    .digest('hex');
}

const hex = (bytes: Uint8Array | undefined): string | undefined =>
  bytes ? Buffer.from(bytes).toString('hex') : undefined;

function fieldToJson(value: FieldValue): Record<string, string | number> {
  switch (value.kind) {
    case 'exact':
    case 'optional':
      return { kind: value.kind, value: `0x${value.value.toString(16)}` };
    case 'lpm':
      return { kind: 'lpm', value: `0x${value.value.toString(16)}`, prefixLen: value.prefixLen };
    case 'ternary':
      return {
        kind: 'ternary',
        value: `0x${value.value.toString(16)}`,
        mask: `0x${value.mask.toString(16)}`,
      };
    case 'range':
      return { kind: 'range', low: value.low.toString(), high: value.high.toString() };
  }
}

export function entryToJson(entry: EntrySpec): Record<string, unknown> {
  return {
    table: entry.table,
    match: Object.fromEntries(Object.entries(entry.match).map(([k, v]) => [k, fieldToJson(v)])),
    ...(entry.priority !== undefined ? { priority: entry.priority } : {}),
    action: entry.action,
    params: Object.fromEntries(Object.entries(entry.params).map(([k, v]) => [k, v.toString()])),
    ...(entry.metadata ? { metadata: hex(entry.metadata) } : {}),
  };
}

/** A JSON-safe rendering of a compiled policy (bigints as decimal strings, bytes as hex). */
export function compiledToJson(compiled: CompiledPolicy): Record<string, unknown> {
  return {
    version: compiled.version,
    profile: compiled.profile,
    agents: compiled.agents,
    rules: compiled.rules,
    quotaSlots: compiled.quotaSlots,
    meters: compiled.meters.map((m) => ({
      meter: m.meter,
      index: m.index,
      cir: m.cir.toString(),
      cburst: m.cburst.toString(),
      pir: m.pir.toString(),
      pburst: m.pburst.toString(),
    })),
    resolutions: compiled.resolutions,
    warnings: compiled.warnings,
    entries: compiled.entries.map(entryToJson),
  };
}
