// Telemetry: what the device counted, turned into evidence. Every interval the collector reads what
// each rule let out (rule_tx_counter) and what each deny rule stopped (its entries' direct
// counters), and appends one counter sample per rule that moved; the
// evidence log turns absolute readings into deltas, correct across resets. Deny digests become
// denial records (best effort: digests may be lost, the counters are the record of truth). Quota
// windows are closed on schedule: the used bytes are recorded and the register zeroed.
//
// The collector speaks to the device through TelemetrySource and to the log through
// EvidenceSink, so it knows neither gRPC nor SQLite; the policy enters only as the compiled index
// that names rule ids and agent ids.

import { ACTIONS, reasonName, COUNTERS, TABLES } from '../pipeline/contract';
import type { EntrySpec } from '../pipeline/entries';
import type { TargetProfile } from '../pipeline/profiles';
import type { CounterSampleRecord, DenialRecord, QuotaWindowRecord } from '../evidence/records';
import { formatIPv4, formatIPv6 } from '../p4runtime/values';

export interface CounterReading {
  readonly entry: EntrySpec;
  readonly counter?: { readonly packets: bigint; readonly bytes: bigint };
}

export interface CounterCellReading {
  readonly index: number;
  readonly packets: bigint;
  readonly bytes: bigint;
}

/** The reads the collector needs; the P4Runtime client provides them. */
export interface TelemetrySource {
  /** The given entries with their direct counters (absent ones omitted). */
  readEntriesWithCounters(entries: readonly EntrySpec[]): Promise<readonly CounterReading[]>;
  /** Chosen cells of an indexed counter. */
  readCounterCells(counter: string, indices: readonly number[]): Promise<readonly CounterCellReading[]>;
  /**
   * Starts a new quota window on each slot by giving it a new epoch in the quota_window table:
   * the data plane starts the slot from zero on its next packet. (A table write, because bmv2's
   * P4Runtime server cannot write registers.)
   */
  startQuotaWindows(slots: readonly number[], epoch: number): Promise<void>;
}

/** Records the collector appends, in the evidence store's own shapes. */
export type TelemetryRecord = CounterSampleRecord | DenialRecord | QuotaWindowRecord;

export interface EvidenceSink {
  appendBatch(records: readonly TelemetryRecord[]): unknown;
}

/** What the collector needs to know of the policy in force: names for ids, quota windows. */
export interface PolicyIndex {
  readonly version: string;
  /** The compiled entries: the collector reads the direct counters of the deny rules' entries. */
  readonly entries: readonly EntrySpec[];
  readonly rules: readonly { readonly ruleId: number; readonly rule: string; readonly agent: string }[];
  readonly agents: readonly { readonly name: string; readonly agentId: number }[];
  readonly quotaSlots: readonly {
    readonly slot: number;
    readonly agent: string;
    readonly rules: readonly string[];
    readonly budgetBytes: number;
    readonly windowSeconds: number;
    readonly enforcement: 'dataplane' | 'controller';
  }[];
}

export interface CollectorOptions {
  readonly device: string;
  readonly profile: TargetProfile;
  /** Milliseconds since the epoch; injectable so tests and scenarios control windows. */
  readonly now?: () => number;
  /** Changes when the device's counters restart from zero (e.g. the pipeline cookie + connect count). */
  readonly epoch?: () => string;
}

export interface CollectResult {
  readonly samples: number;
  readonly rulesSeen: number;
  readonly durationMs: number;
}

const ACL_TABLES: readonly string[] = [TABLES.aclV4.name, TABLES.aclV6.name];
const REASON_INDICES = Array.from({ length: COUNTERS.drops.size }, (_, i) => i);

interface RuleTotal {
  packets: bigint;
  bytes: bigint;
}

function ruleIdOf(entry: EntrySpec): number | undefined {
  const id = entry.params.rule_id;
  return id === undefined ? undefined : Number(id);
}

/** A digest carries addresses as 128 bits whatever the family; the IP version says which. */
export function formatDigestAddress(version: bigint, value: bigint): string {
  return version === 4n ? formatIPv4(value & 0xffffffffn) : formatIPv6(value);
}

export class TelemetryCollector {
  private policy: PolicyIndex;
  private ruleNames = new Map<number, { rule: string; agent: string }>();
  private agentNames = new Map<number, string>();
  private readonly last = new Map<string, RuleTotal>();
  private ruleIds: number[] = [];
  private denyEntries: EntrySpec[] = [];
  private readonly windowStart = new Map<number, number>();
  /** Per quota slot: its rules' rule_tx bytes when the current window started. */
  private readonly windowBytes = new Map<number, bigint>();
  private readonly now: () => number;

  constructor(
    private readonly source: TelemetrySource,
    private readonly sink: EvidenceSink,
    policy: PolicyIndex,
    private readonly options: CollectorOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.policy = policy;
    this.setPolicy(policy);
  }

  /** A new policy version is in force: rule and agent names follow it; quota windows keep running. */
  setPolicy(policy: PolicyIndex): void {
    this.policy = policy;
    this.ruleIds = [...new Set(policy.rules.map((r) => r.ruleId))].sort((a, b) => a - b);
    this.denyEntries = policy.entries.filter(
      (e) => ACL_TABLES.includes(e.table) && e.action === ACTIONS.deny.name,
    );
    this.ruleNames = new Map(policy.rules.map((r) => [r.ruleId, { rule: r.rule, agent: r.agent }]));
    this.agentNames = new Map(policy.agents.map((a) => [a.agentId, a.name]));
    const start = this.now();
    for (const slot of policy.quotaSlots)
      if (!this.windowStart.has(slot.slot)) this.windowStart.set(slot.slot, start);
  }

  /**
   * Appends one sample per rule whose totals moved: for every rule, what it let out (the
   * rule_tx_counter cell of its id, counted after every later stage); for deny rules, what they
   * stopped (their entries' direct counters), since a deny rule lets nothing out.
   */
  async collect(): Promise<CollectResult> {
    const started = Date.now();
    const time = this.now();
    const epoch = this.options.epoch?.();
    const records: TelemetryRecord[] = [];
    const rulesSeen = new Set<number>();
    const sample = (table: string, ruleId: number, total: RuleTotal): void => {
      rulesSeen.add(ruleId);
      const key = `${table}|${ruleId}|${epoch ?? ''}`;
      const previous = this.last.get(key);
      if (previous && previous.packets === total.packets && previous.bytes === total.bytes) return;
      this.last.set(key, total);
      if (!previous && total.packets === 0n) return;
      const names = this.ruleNames.get(ruleId);
      records.push({
        kind: 'counter_sample',
        time,
        device: this.options.device,
        table,
        ruleId: String(ruleId),
        ...(names ? { ruleName: names.rule, agent: names.agent } : {}),
        policyVersion: this.policy.version,
        packets: total.packets,
        bytes: total.bytes,
        ...(epoch !== undefined ? { epoch } : {}),
      });
    };
    // Only the cells and entries this policy owns are read: at 100k rules a wildcard read of the
    // 131072-cell counter and of every ACL entry takes longer than a collection interval.
    for (const cell of await this.source.readCounterCells(COUNTERS.ruleTx.name, this.ruleIds)) {
      if (cell.packets === 0n && !this.last.has(`${COUNTERS.ruleTx.name}|${cell.index}|${epoch ?? ''}`))
        continue;
      sample(COUNTERS.ruleTx.name, cell.index, { packets: cell.packets, bytes: cell.bytes });
    }
    const totals = new Map<string, { table: string; ruleId: number; total: RuleTotal }>();
    for (const reading of await this.source.readEntriesWithCounters(this.denyEntries)) {
      const ruleId = ruleIdOf(reading.entry);
      if (ruleId === undefined || !reading.counter) continue;
      const key = `${reading.entry.table}|${ruleId}`;
      const t = totals.get(key) ?? { table: reading.entry.table, ruleId, total: { packets: 0n, bytes: 0n } };
      t.total.packets += reading.counter.packets;
      t.total.bytes += reading.counter.bytes;
      totals.set(key, t);
    }
    for (const { table, ruleId, total } of totals.values()) sample(table, ruleId, total);
    if (records.length > 0) this.sink.appendBatch(records);
    return { samples: records.length, rulesSeen: rulesSeen.size, durationMs: Date.now() - started };
  }

  /** The last reading of every rule, by what counted it: for metrics, without touching the device. */
  ruleTotals(): {
    table: string;
    ruleId: number;
    rule?: string;
    agent?: string;
    packets: bigint;
    bytes: bigint;
  }[] {
    const out = [];
    for (const [key, total] of this.last) {
      const [table, id] = key.split('|');
      if (table === 'drops') continue;
      const ruleId = Number(id);
      const names = this.ruleNames.get(ruleId);
      out.push({ table, ruleId, rule: names?.rule, agent: names?.agent, ...total });
    }
    return out;
  }

  /** Packets and bytes dropped (and forwarded under audit) per reason, read from the device. */
  async readReasons(): Promise<{ dropped: CounterCellReading[]; audited: CounterCellReading[] }> {
    const [dropped, audited] = [
      await this.source.readCounterCells(COUNTERS.drops.name, REASON_INDICES),
      await this.source.readCounterCells(COUNTERS.audits.name, REASON_INDICES),
    ];
    return { dropped: [...dropped], audited: [...audited] };
  }

  /** Turns a deny digest (members as the P4 program's deny_digest_t) into a denial record. */
  denialFromDigest(data: Readonly<Record<string, bigint>>): TelemetryRecord {
    const ruleId = Number(data.rule_id ?? 0n);
    const agentId = Number(data.agent_id ?? 0n);
    const version = data.ip_version ?? 4n;
    return {
      kind: 'denial',
      time: this.now(),
      device: this.options.device,
      agent: this.agentNames.get(agentId) ?? `agent-id-${agentId}`,
      srcIp: formatDigestAddress(version, data.src_addr ?? 0n),
      dstIp: formatDigestAddress(version, data.dst_addr ?? 0n),
      srcPort: Number(data.src_port ?? 0n),
      dstPort: Number(data.dst_port ?? 0n),
      protocol: Number(data.protocol ?? 0n),
      ...(ruleId !== 0 ? { ruleId: String(ruleId) } : {}),
      reason: reasonName(Number(data.reason ?? 0n)),
      audit: (data.audit ?? 0n) !== 0n,
      policyVersion: this.policy.version,
    };
  }

  /** Appends the denials of one digest list. */
  recordDigests(data: readonly Readonly<Record<string, bigint>>[]): number {
    const records = data.map((d) => this.denialFromDigest(d));
    if (records.length > 0) this.sink.appendBatch(records);
    return records.length;
  }

  /** Bytes the rules of a quota slot have let out, summed over their rule_tx_counter cells. */
  private slotBytes(quota: PolicyIndex['quotaSlots'][number], ruleTx: ReadonlyMap<number, bigint>): bigint {
    let bytes = 0n;
    for (const r of this.policy.rules) {
      if (r.agent === quota.agent && quota.rules.includes(r.rule)) bytes += ruleTx.get(r.ruleId) ?? 0n;
    }
    return bytes;
  }

  /**
   * Closes every data-plane quota window that has run its length (all of them with `force`):
   * records the bytes its rules let out and the packets the quota dropped during the window —
   * both read from counters — then starts the next window with a new epoch. Returns the slots
   * closed.
   */
  async closeQuotaWindows(force = false): Promise<number[]> {
    const time = this.now();
    const due = this.policy.quotaSlots.filter(
      (q) =>
        q.enforcement === 'dataplane' &&
        (force || time - (this.windowStart.get(q.slot) ?? time) >= q.windowSeconds * 1000),
    );
    if (due.length === 0) return [];
    const ruleTx = new Map(
      (await this.source.readCounterCells(COUNTERS.ruleTx.name, this.ruleIds)).map((c) => [c.index, c.bytes]),
    );
    const drops = new Map(
      (
        await this.source.readCounterCells(
          COUNTERS.quotaDrops.name,
          due.map((q) => q.slot),
        )
      ).map((c) => [c.index, c.packets]),
    );
    const records: TelemetryRecord[] = [];
    for (const quota of due) {
      const sent = this.slotBytes(quota, ruleTx);
      const sentBefore = this.windowBytes.get(quota.slot) ?? 0n;
      this.windowBytes.set(quota.slot, sent);
      const dropped = drops.get(quota.slot) ?? 0n;
      const dropsKey = `drops|${quota.slot}`;
      const dropsBefore = this.last.get(dropsKey)?.packets ?? 0n;
      this.last.set(dropsKey, { packets: dropped, bytes: 0n });
      const ruleId =
        this.policy.rules.find((r) => r.agent === quota.agent && quota.rules.includes(r.rule))?.ruleId ?? 0;
      records.push({
        kind: 'quota_window',
        time,
        device: this.options.device,
        slot: quota.slot,
        ruleId: String(ruleId),
        agent: quota.agent,
        policyVersion: this.policy.version,
        windowStart: this.windowStart.get(quota.slot) ?? time,
        windowEnd: time,
        // Counters restart with the device: a total below the window's start is all of this window.
        bytesUsed: sent >= sentBefore ? sent - sentBefore : sent,
        quotaBytes: BigInt(quota.budgetBytes),
        drops: dropped >= dropsBefore ? dropped - dropsBefore : dropped,
        exhausted: dropped > dropsBefore,
      });
      this.windowStart.set(quota.slot, time);
    }
    // Record first, then start the next window: a crash in between repeats a window record, never
    // loses one.
    this.sink.appendBatch(records);
    await this.source.startQuotaWindows(
      due.map((q) => q.slot),
      windowEpoch(time),
    );
    return due.map((q) => q.slot);
  }
}

/**
 * A window epoch from the clock: seconds since the epoch, as the 32-bit value the data plane keeps.
 * Distinct for windows started at least a second apart, so a slot never sees its old epoch again.
 */
export function windowEpoch(timeMs: number): number {
  return Math.floor(timeMs / 1000) >>> 0;
}
