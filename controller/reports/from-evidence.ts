/**
 * Fills a ReportData from the evidence log for one period: what each agent sent under which rule and
 * policy version (from counter-sample deltas), what was denied (from denial records, which are lower
 * bounds because digests are best effort), which quota windows ran out, which policy versions were
 * authored and pushed, what happened to the devices, and the state of the log itself.
 *
 * Only the evidence store's public API is used. Facts the log does not hold are filled in from the
 * policy text of the version that counted the traffic (rule action, destination, quota, agent mode,
 * exfiltration threshold); where that text is missing too, the field says so rather than guessing.
 */
import type { KeyObject } from 'node:crypto';
import type { EvidenceLog, RecordKind, StoredRecord } from '../evidence';
import type {
  AgentDenials,
  AgentReport,
  DenialSample,
  DeviceSummary,
  LogStatus,
  PolicyVersionSummary,
  QuotaHit,
  ReportData,
  RuleTraffic,
  TimelinePoint,
} from './report';

/** Denial counts come from device digests, which may be dropped: every count is a lower bound. */
export type EvidenceDenials = AgentDenials & { bestEffort: true };
export type EvidenceAgentReport = AgentReport & { denials: EvidenceDenials };
export type EvidenceReportData = Omit<ReportData, 'agents'> & { agents: EvidenceAgentReport[] };

export interface ReportOptions {
  /** Start of the period, ms since the epoch, inclusive. */
  from: number;
  /** End of the period, ms since the epoch, exclusive. */
  to: number;
  title: string;
  /**
   * Verify the whole log and say so in the report: a public key to pin, or true to use the key the log
   * holds. Absent or false: the report says the log was not checked.
   */
  verify?: string | KeyObject | boolean;
  /** The report's generation time, ms since the epoch (default: the clock). */
  now?: number;
  /** Denial samples kept per agent, newest first (default 50). */
  maxSamples?: number;
}

export type ReportBuildErrorCode = 'BAD_PERIOD' | 'TOO_LARGE';

export class ReportBuildError extends Error {
  readonly code: ReportBuildErrorCode;

  constructor(code: ReportBuildErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ReportBuildError';
    this.code = code;
  }
}

/** Agent name under which traffic of rules the policy index did not name is reported. */
export const UNATTRIBUTED = '(unattributed)';

const PAGE = 10_000;

/**
 * Visits every record of a kind in [from, to). The store answers in pages of bounded size, so a range
 * whose page comes back full is split in halves until each part fits; a single millisecond that holds
 * more than a page is asked for with a growing limit.
 */
export function forEachRecord(
  log: EvidenceLog,
  kind: RecordKind,
  from: number,
  to: number,
  visit: (record: StoredRecord) => void,
): void {
  if (to <= from) return;
  const rows = log.recordsByKind(kind, from, to, PAGE);
  if (rows.length < PAGE) {
    rows.forEach(visit);
    return;
  }
  if (to - from === 1) {
    let limit = PAGE * 4;
    let all = log.recordsByKind(kind, from, to, limit);
    while (all.length === limit) {
      limit *= 4;
      all = log.recordsByKind(kind, from, to, limit);
    }
    all.forEach(visit);
    return;
  }
  const mid = from + Math.floor((to - from) / 2);
  forEachRecord(log, kind, from, mid, visit);
  forEachRecord(log, kind, mid, to, visit);
}

// ---------------------------------------------------------------------------------------------------
// Values as the leaf holds them

/** Leaf integers beyond 2^53 arrive as decimal strings (docs/evidence-format.md §2.1 rule 2). */
function big(value: unknown): bigint {
  if (typeof value === 'number') return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  return 0n;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** ReportData counts bytes as plain numbers; a figure beyond 2^53 would be silently rounded. */
function exact(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ReportBuildError('TOO_LARGE', `${what} is ${value}, beyond what the report can show exactly`);
  }
  return Number(value);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const PROTOCOL_NAMES: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6' };

function protocolName(protocol: unknown): string {
  const n = typeof protocol === 'number' ? protocol : -1;
  return PROTOCOL_NAMES[n] ?? `IP proto ${n}`;
}

// ---------------------------------------------------------------------------------------------------
// The policy text a version was recorded with (the canonical JSON of the policy set)

interface PolicyRule {
  name: string;
  action: 'allow' | 'deny';
  destination: string;
  quota?: { bytes: number; windowSeconds: number };
}

interface PolicyAgent {
  name: string;
  mode: 'enforce' | 'audit';
  exfiltrationThreshold?: number;
}

interface PolicyFacts {
  rules: Map<string, PolicyRule>;
  agents: Map<string, PolicyAgent>;
  ruleCount: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const positive = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

function quotaOf(v: unknown): { bytes: number; windowSeconds: number } | undefined {
  if (!isObj(v)) return undefined;
  const bytes = positive(v['bytes']);
  const windowSeconds = positive(v['windowSeconds']);
  return bytes !== undefined && windowSeconds !== undefined ? { bytes, windowSeconds } : undefined;
}

function portText(p: Obj): string {
  const protocol = String(p['protocol'] ?? 'ANY').toLowerCase();
  const port = positive(p['port']);
  const end = positive(p['endPort']);
  if (port === undefined) return protocol;
  return end !== undefined && end !== port ? `${protocol}/${port}-${end}` : `${protocol}/${port}`;
}

/**
 * Rule and agent facts from a policy version's text. Text that is not a policy set the loader wrote
 * yields nothing: the report then falls back to what the records alone say.
 */
export function policyFacts(text: string): PolicyFacts | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(doc) || !Array.isArray(doc['rules']) || !Array.isArray(doc['agents'])) return undefined;
  const destinationQuota = new Map<string, { bytes: number; windowSeconds: number }>();
  for (const d of objects(doc['destinations'])) {
    const q = quotaOf(d['quota']);
    if (typeof d['name'] === 'string' && q) destinationQuota.set(d['name'], q);
  }
  const rules = new Map<string, PolicyRule>();
  const ruleList = objects(doc['rules']);
  for (const r of ruleList) {
    const name = str(r['name']);
    if (name === undefined || rules.has(name)) continue;
    const targets = [
      ...strings(r['destinations']),
      ...objects(r['cidrs']).map((c) => {
        const except = strings(c['except']);
        return `${String(c['cidr'])}${except.length > 0 ? ` except ${except.join(', ')}` : ''}`;
      }),
      ...strings(r['fqdns']),
    ];
    const ports = objects(r['ports']).map(portText);
    const where = targets.length > 0 ? targets.join(', ') : 'any';
    const quota =
      quotaOf(r['quota']) ??
      strings(r['destinations'])
        .map((d) => destinationQuota.get(d))
        .find((q) => q !== undefined);
    rules.set(name, {
      name,
      action: r['action'] === 'deny' ? 'deny' : 'allow',
      destination: ports.length > 0 ? `${where} (${ports.join(', ')})` : where,
      ...(quota ? { quota } : {}),
    });
  }
  const groupThresholds = objects(doc['groups']).map((g) => ({
    agents: strings(g['agents']),
    threshold: positive(g['exfiltrationThreshold']),
  }));
  const agents = new Map<string, PolicyAgent>();
  for (const a of objects(doc['agents'])) {
    const name = str(a['name']);
    if (name === undefined) continue;
    // The tightest threshold applies, whether set on the agent or on any group it belongs to.
    let threshold = positive(a['exfiltrationThreshold']);
    for (const g of groupThresholds) {
      if (g.threshold === undefined || !g.agents.includes(name)) continue;
      threshold = threshold === undefined ? g.threshold : Math.min(threshold, g.threshold);
    }
    agents.set(name, {
      name,
      mode: a['mode'] === 'audit' ? 'audit' : 'enforce',
      ...(threshold !== undefined ? { exfiltrationThreshold: threshold } : {}),
    });
  }
  return { rules, agents, ruleCount: ruleList.length };
}

function windowText(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

// ---------------------------------------------------------------------------------------------------
// Timeline buckets

const BUCKET_SIZES = [
  60_000,
  5 * 60_000,
  15 * 60_000,
  30 * 60_000,
  3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  12 * 3_600_000,
  86_400_000,
  7 * 86_400_000,
];
const MAX_BUCKETS = 60;

/** The smallest round bucket that splits the period into at most MAX_BUCKETS parts. */
export function bucketSize(periodMs: number): number {
  for (const size of BUCKET_SIZES) if (Math.ceil(periodMs / size) <= MAX_BUCKETS) return size;
  return Math.ceil(periodMs / MAX_BUCKETS / 86_400_000) * 86_400_000;
}

// ---------------------------------------------------------------------------------------------------
// Building

interface RuleAcc {
  agent: string;
  ruleId: string;
  ruleName?: string;
  policyVersion: string;
  bytes: bigint;
  packets: bigint;
}

interface AgentAcc {
  rules: Map<string, RuleAcc>;
  /** Allowed bytes per timeline bucket. */
  bytesByBucket: bigint[];
  deniedByBucket: number[];
  denials: number;
  byReason: Map<string, number>;
  samples: StoredRecord[];
  exfilDenials: number;
  auditDenials: number;
  quotaHits: QuotaHit[];
  versions: Set<string>;
}

function describeDetail(detail: unknown): string {
  if (detail === undefined) return '';
  if (typeof detail === 'string') return detail;
  return JSON.stringify(detail);
}

function keyIdOf(note: string, origin: string): string {
  // Signature lines: "— <name> <base64(key id || signature)>" (docs/evidence-format.md §5).
  for (const line of note.split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (m && m[1] === origin)
      return Buffer.from(m[2] as string, 'base64')
        .subarray(0, 4)
        .toString('hex');
  }
  return '';
}

/** Reads the period from the log and shapes it as the audit report's data. */
export function buildReportData(log: EvidenceLog, options: ReportOptions): EvidenceReportData {
  const { from, to } = options;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to <= from) {
    throw new ReportBuildError('BAD_PERIOD', 'the period must be integer milliseconds with from < to');
  }
  const maxSamples = options.maxSamples ?? 50;
  const bucket = bucketSize(to - from);
  const buckets = Math.ceil((to - from) / bucket);
  const bucketOf = (time: number): number => Math.min(buckets - 1, Math.floor((time - from) / bucket));
  let recordsInPeriod = 0;

  // Policy versions authored up to the end of the period: their texts explain the traffic they counted.
  const versions = new Map<
    string,
    { time: number; author: string; facts?: PolicyFacts; inPeriod: boolean }
  >();
  forEachRecord(log, 'policy_version', 0, to, (r) => {
    const hash = String(r.body['policyHash']);
    if (r.time >= from) recordsInPeriod++;
    if (versions.has(hash)) return;
    const facts = policyFacts(String(r.body['text'] ?? ''));
    versions.set(hash, {
      time: r.time,
      author: String(r.body['author'] ?? ''),
      ...(facts ? { facts } : {}),
      inPeriod: r.time >= from,
    });
  });
  const ruleFacts = (version: string, ruleName: string | undefined): PolicyRule | undefined =>
    ruleName === undefined ? undefined : versions.get(version)?.facts?.rules.get(ruleName);

  /** When each version first showed up in the period's records, for versions whose text is missing. */
  const firstUse = new Map<string, number>();
  const used = (version: string | undefined, time: number): void => {
    if (version !== undefined && !(time >= (firstUse.get(version) ?? Infinity))) firstUse.set(version, time);
  };
  const agents = new Map<string, AgentAcc>();
  const agentAcc = (name: string): AgentAcc => {
    let acc = agents.get(name);
    if (!acc) {
      acc = {
        rules: new Map(),
        bytesByBucket: Array<bigint>(buckets).fill(0n),
        deniedByBucket: Array<number>(buckets).fill(0),
        denials: 0,
        byReason: new Map(),
        samples: [],
        exfilDenials: 0,
        auditDenials: 0,
        quotaHits: [],
        versions: new Set(),
      };
      agents.set(name, acc);
    }
    return acc;
  };
  /** Rule names by (policy version, rule id), learnt from the samples that carry both. */
  const ruleNames = new Map<string, string>();
  const ruleNameOf = (version: string | undefined, ruleId: string | undefined): string | undefined =>
    ruleId === undefined ? undefined : ruleNames.get(`${version ?? ''}\u0000${ruleId}`);

  const seenDevices = new Set<string>();
  forEachRecord(log, 'counter_sample', from, to, (r) => {
    recordsInPeriod++;
    const b = r.body;
    seenDevices.add(String(b['device']));
    const agent = str(b['agent']) ?? UNATTRIBUTED;
    const ruleId = String(b['ruleId']);
    const ruleName = str(b['ruleName']);
    const version = String(b['policyVersion']);
    if (ruleName !== undefined) ruleNames.set(`${version}\u0000${ruleId}`, ruleName);
    const acc = agentAcc(agent);
    acc.versions.add(version);
    used(version, r.time);
    const key = `${ruleId}\u0000${ruleName ?? ''}\u0000${version}`;
    let rule = acc.rules.get(key);
    if (!rule) {
      rule = {
        agent,
        ruleId,
        ...(ruleName !== undefined ? { ruleName } : {}),
        policyVersion: version,
        bytes: 0n,
        packets: 0n,
      };
      acc.rules.set(key, rule);
    }
    const bytes = big(b['deltaBytes']);
    rule.bytes += bytes;
    rule.packets += big(b['deltaPackets']);
    if (ruleFacts(version, ruleName)?.action !== 'deny') acc.bytesByBucket[bucketOf(r.time)] += bytes;
  });

  forEachRecord(log, 'denial', from, to, (r) => {
    recordsInPeriod++;
    seenDevices.add(String(r.body['device']));
    const acc = agentAcc(String(r.body['agent']));
    acc.denials++;
    acc.deniedByBucket[bucketOf(r.time)]++;
    const reason = String(r.body['reason']);
    acc.byReason.set(reason, (acc.byReason.get(reason) ?? 0) + 1);
    if (reason === 'EXFIL') acc.exfilDenials++;
    if (r.body['audit'] === true) acc.auditDenials++;
    const version = str(r.body['policyVersion']);
    if (version !== undefined) acc.versions.add(version);
    used(version, r.time);
    acc.samples.push(r);
    // Keep the newest: records arrive oldest first, so trim from the front once well over the cap.
    if (acc.samples.length > maxSamples * 2) acc.samples.splice(0, acc.samples.length - maxSamples);
  });

  forEachRecord(log, 'quota_window', from, to, (r) => {
    recordsInPeriod++;
    seenDevices.add(String(r.body['device']));
  });
  for (const hit of log.quotaHits(from, to)) {
    const acc = agentAcc(hit.agent ?? UNATTRIBUTED);
    const name = ruleNameOf(hit.policyVersion, hit.ruleId);
    const budget = hit.quotaBytes ?? ruleFacts(hit.policyVersion, name)?.quota?.bytes;
    acc.quotaHits.push({
      rule: name ?? `rule #${hit.ruleId}`,
      windowStart: isoTime(hit.windowStart),
      windowEnd: isoTime(hit.windowEnd),
      // A window recorded without its budget still ran out: the bytes it used are the budget it had.
      budgetBytes: exact(budget === undefined ? hit.bytesUsed : BigInt(budget), 'a quota budget'),
      usedBytes: exact(hit.bytesUsed, 'quota bytes used'),
      drops: exact(hit.drops, 'quota drops'),
    });
  }

  const pushes = new Map<string, number>();
  const devices = new Map<string, DeviceSummary>();
  const device = (name: string): DeviceSummary => {
    let d = devices.get(name);
    if (!d) {
      d = { name, profile: 'unknown', events: [] };
      devices.set(name, d);
    }
    return d;
  };
  const events: { time: number; seq: number; device: string; kind: string; detail: string }[] = [];
  let inForce: string | undefined;
  forEachRecord(log, 'push', 0, to, (r) => {
    const b = r.body;
    const version = String(b['policyVersion']);
    // The latest push that left the version (or part of it) on a device is the policy in force.
    if (b['outcome'] !== 'failed') inForce = version;
    if (r.time < from) return;
    recordsInPeriod++;
    used(version, r.time);
    pushes.set(version, (pushes.get(version) ?? 0) + 1);
    const error = str(b['error']);
    events.push({
      time: r.time,
      seq: r.seq,
      device: String(b['device']),
      kind: 'push',
      detail:
        `policy ${version.slice(0, 8)} ${String(b['outcome'])}, ${String(b['entriesWritten'])} entries, ` +
        `${Math.round(Number(b['durationUs']) / 1000)} ms${error ? `: ${error}` : ''}`,
    });
  });
  forEachRecord(log, 'device_event', from, to, (r) => {
    recordsInPeriod++;
    events.push({
      time: r.time,
      seq: r.seq,
      device: String(r.body['device']),
      kind: String(r.body['event']),
      detail: describeDetail(r.body['detail']),
    });
  });
  // A device's profile is whatever its latest connection said, even one before the period.
  forEachRecord(log, 'device_event', 0, to, (r) => {
    const detail = r.body['detail'];
    if (isObj(detail) && typeof detail['profile'] === 'string')
      device(String(r.body['device'])).profile = detail['profile'];
  });
  events.sort((a, b) => a.time - b.time || a.seq - b.seq);
  for (const e of events)
    device(e.device).events.push({ time: isoTime(e.time), kind: e.kind, detail: e.detail });
  for (const name of seenDevices) device(name);
  const devicesInPeriod = [...devices.values()].filter((d) => d.events.length > 0 || seenDevices.has(d.name));

  // The policy in force at the end names agents that may have sent nothing; they belong in the report.
  inForce ??= [...versions.keys()].filter((v) => agentsUse(agents, v)).pop() ?? [...versions.keys()].pop();
  const inForceFacts = inForce === undefined ? undefined : versions.get(inForce)?.facts;
  for (const name of inForceFacts?.agents.keys() ?? []) agentAcc(name);

  const referenced = new Set<string>([...pushes.keys()]);
  for (const acc of agents.values()) for (const v of acc.versions) referenced.add(v);
  const policyVersions: PolicyVersionSummary[] = [];
  for (const [version, v] of versions) {
    if (!v.inPeriod && !referenced.has(version)) continue;
    policyVersions.push({
      version,
      firstSeen: isoTime(v.time),
      ...(v.author ? { author: v.author } : {}),
      pushes: pushes.get(version) ?? 0,
      rules: v.facts?.ruleCount ?? 0,
    });
  }
  for (const version of referenced) {
    if (versions.has(version)) continue;
    // Traffic or a push under a version whose text the log does not hold: still named, with what is known.
    policyVersions.push({
      version,
      firstSeen: isoTime(firstUse.get(version) ?? from),
      pushes: pushes.get(version) ?? 0,
      rules: 0,
    });
  }
  policyVersions.sort(
    (a, b) => Date.parse(a.firstSeen) - Date.parse(b.firstSeen) || (a.version < b.version ? -1 : 1),
  );

  const names = [...agents.keys()].sort((a, b) =>
    a === UNATTRIBUTED ? 1 : b === UNATTRIBUTED ? -1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const agentReports = names.map((name, index) =>
    agentReport(name, index + 1, agents.get(name) as AgentAcc, {
      from,
      bucket,
      maxSamples,
      facts: (version) => versions.get(version)?.facts,
      inForce: inForceFacts,
      ruleNameOf,
    }),
  );

  return {
    title: options.title,
    generatedAt: isoTime(options.now ?? Date.now()),
    from: isoTime(from),
    to: isoTime(to),
    log: logStatus(log, recordsInPeriod, options.verify),
    policyVersions,
    devices: devicesInPeriod.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    agents: agentReports,
  };
}

function agentsUse(agents: Map<string, AgentAcc>, version: string): boolean {
  for (const acc of agents.values()) if (acc.versions.has(version)) return true;
  return false;
}

interface AgentContext {
  from: number;
  bucket: number;
  maxSamples: number;
  facts: (version: string) => PolicyFacts | undefined;
  inForce: PolicyFacts | undefined;
  ruleNameOf: (version: string | undefined, ruleId: string | undefined) => string | undefined;
}

function agentReport(name: string, agentId: number, acc: AgentAcc, ctx: AgentContext): EvidenceAgentReport {
  const rules: RuleTraffic[] = [...acc.rules.values()]
    .map((r) => {
      const facts = r.ruleName === undefined ? undefined : ctx.facts(r.policyVersion)?.rules.get(r.ruleName);
      return {
        rule: r.ruleName ?? `rule #${r.ruleId}`,
        action: facts?.action ?? 'allow',
        destination: facts?.destination ?? 'unknown (no policy text in the log)',
        policyVersion: r.policyVersion,
        bytes: exact(r.bytes, `bytes of ${name}/${r.ruleName ?? r.ruleId}`),
        packets: exact(r.packets, `packets of ${name}/${r.ruleName ?? r.ruleId}`),
        ...(facts?.quota
          ? { quota: { budgetBytes: facts.quota.bytes, window: windowText(facts.quota.windowSeconds) } }
          : {}),
      } satisfies RuleTraffic;
    })
    .sort((a, b) => b.bytes - a.bytes || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
  const allowed = rules.filter((r) => r.action === 'allow');
  const timeline: TimelinePoint[] = acc.bytesByBucket.map((bytes, i) => ({
    time: isoTime(ctx.from + i * ctx.bucket),
    bytesOut: exact(bytes, `bytes of ${name} in one bucket`),
    denied: acc.deniedByBucket[i] ?? 0,
  }));
  const samples: DenialSample[] = acc.samples
    .slice(-ctx.maxSamples)
    .reverse()
    .map((r) => {
      const b = r.body;
      const ruleId = str(b['ruleId']);
      const version = str(b['policyVersion']);
      return {
        time: isoTime(r.time),
        dst: String(b['dstIp']),
        dstPort: Number(b['dstPort']),
        protocol: protocolName(b['protocol']),
        rule: ctx.ruleNameOf(version, ruleId) ?? (ruleId === undefined ? '—' : `rule #${ruleId}`),
        reason: String(b['reason']),
        audit: b['audit'] === true,
      };
    });
  const policyAgent = ctx.inForce?.agents.get(name);
  const threshold = policyAgent?.exfiltrationThreshold;
  // The log holds no sensitive-bytes tally. A guard denial proves the tally reached the threshold, so a
  // tripped guard shows the threshold as a lower bound; an untripped one shows 0, the only bound known.
  const tripped = acc.exfilDenials > 0;
  const mode =
    policyAgent?.mode ?? (acc.denials > 0 && acc.auditDenials === acc.denials ? 'audit' : 'enforce');
  return {
    name,
    agentId,
    mode,
    bytesOut: allowed.reduce((s, r) => s + r.bytes, 0),
    packetsOut: allowed.reduce((s, r) => s + r.packets, 0),
    rules,
    denials: {
      total: acc.denials,
      byReason: Object.fromEntries([...acc.byReason].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      samples,
      bestEffort: true,
    },
    quotaHits: acc.quotaHits,
    ...(threshold !== undefined
      ? { exfiltration: { sensitiveBytes: tripped ? threshold : 0, thresholdBytes: threshold, tripped } }
      : {}),
    timeline,
  };
}

function logStatus(log: EvidenceLog, records: number, verify: ReportOptions['verify']): LogStatus {
  const cp = log.latestCheckpoint();
  const status: LogStatus = {
    records,
    treeSize: log.size,
    rootHash: log.root().toString('hex'),
    ...(cp
      ? { checkpoint: { origin: cp.origin, size: cp.treeSize, keyId: keyIdOf(cp.note, cp.origin) } }
      : {}),
    verified: null,
  };
  if (verify === undefined || verify === false) return status;
  const result = log.verify(verify === true ? {} : { publicKey: verify });
  // Records that hash right under checkpoints nobody checked the signatures of are not yet evidence.
  if (result.ok)
    return { ...status, verified: result.signaturesChecked || result.checkpoints === 0 ? true : null };
  const p = result.problem;
  const where = p.seq === undefined ? '' : `record ${p.seq}${p.kind ? ` (${p.kind})` : ''}: `;
  return { ...status, verified: false, firstBadRecord: `${where}${p.code}: ${p.detail}` };
}
