// Byte quotas during a scenario. On a profile whose quotas the controller enforces (bluefield-dpl:
// no registers), the runner drives the same QuotaEnforcer `nicguard serve` runs, polled on the
// scenario's virtual clock, so the cut happens in the middle of a flow as it would on the device.
// On every profile it measures what each quota's rules let out in the current window, read back
// from rule_tx_counter over P4Runtime (§9.4), so that a step can report how far past its budget a
// quota went: zero where the data plane cuts, at most the overshoot bound where the controller does.

import type { CompiledPolicy } from '../compiler/compile';
import type { DeviceClient } from '../p4runtime/client';
import { ACTIONS, TABLES } from '../pipeline/contract';
import { entryKey, type EntrySpec } from '../pipeline/entries';
import type { TargetProfile } from '../pipeline/profiles';
import {
  QuotaEnforcer,
  quotaDeviceFor,
  type QuotaEnforcementDevice,
  type QuotaEnforcementRecord,
} from '../telemetry/quota-enforcer';
import type { InjectResult } from './target';

/** What one quota had let out of its window by the end of a step. */
export interface QuotaMeasurement {
  readonly slot: number;
  readonly agent: string;
  /** The quota's rules, or its destination when the quota is a destination's. */
  readonly quota: string;
  readonly enforcement: 'dataplane' | 'controller';
  readonly budgetBytes: number;
  /** Bytes the quota's rules let out since the window began (rule_tx_counter). */
  readonly windowBytes: number;
  /** windowBytes beyond the budget. */
  readonly overshootBytes: number;
  /** The most the design lets past the budget: meter rate × poll interval + one burst (controller only). */
  readonly boundBytes?: number;
  /** Whether the controller had withdrawn the quota's rules when the step ended. */
  readonly withdrawn: boolean;
}

type Slot = CompiledPolicy['quotaSlots'][number];

export class ScenarioQuotas {
  /** Whether the controller enforces this policy's quotas on this profile. */
  readonly controllerEnforced: boolean;
  readonly pollNs: bigint;
  readonly records: QuotaEnforcementRecord[] = [];
  private readonly enforcer: QuotaEnforcer | undefined;
  private readonly device: QuotaEnforcementDevice;
  /** slot → rule id → rule_tx bytes when the slot's window began. */
  private readonly baselines = new Map<number, Map<number, bigint>>();
  /** Rule ids of controller-enforced quotas: a deny entry carrying one is the enforcer's cut. */
  private readonly cutRuleIds = new Set<number>();
  /** What the enforcer's deny entries stopped before they were deleted at a window's end. */
  private retired = { packets: 0n, bytes: 0n };

  constructor(
    private readonly client: DeviceClient,
    private readonly compiled: CompiledPolicy,
    profile: TargetProfile,
    pollSeconds: number,
    now: () => number,
  ) {
    this.pollNs = BigInt(Math.round(pollSeconds * 1e9));
    const base = quotaDeviceFor(client);
    this.device = { readRuleBytes: base.readRuleBytes, write: (ops) => this.write(base, ops) };
    const enforced = compiled.quotaSlots.filter((q) => q.enforcement === 'controller');
    this.controllerEnforced = QuotaEnforcer.needed(profile) && enforced.length > 0;
    for (const q of enforced) for (const id of this.ruleIdsOf(q)) this.cutRuleIds.add(id);
    this.enforcer = this.controllerEnforced
      ? new QuotaEnforcer(this.device, { appendBatch: (r) => this.records.push(...r) }, compiled, {
          device: 'scenario',
          profile,
          now,
        })
      : undefined;
  }

  private ruleIdsOf(q: Slot): number[] {
    return this.compiled.rules
      .filter((r) => r.agent === q.agent && q.rules.includes(r.rule))
      .map((r) => r.ruleId);
  }

  /** Every quota's window begins now; the enforcer takes its first reading. */
  async start(): Promise<void> {
    await this.rebaseline(this.compiled.quotaSlots.map((q) => q.slot));
    await this.enforcer?.poll();
  }

  /** One enforcer poll (controller-enforced profiles only); returns the slots whose window closed. */
  async poll(): Promise<number[]> {
    if (!this.enforcer) return [];
    const r = await this.enforcer.poll();
    await this.rebaseline(r.windowsClosed);
    return [...r.windowsClosed];
  }

  /** Windows the data plane's collector closed begin again from the counters' current values. */
  async windowsClosed(slots: readonly number[]): Promise<void> {
    await this.rebaseline(slots);
  }

  private async rebaseline(slots: readonly number[]): Promise<void> {
    for (const slot of slots) {
      const q = this.compiled.quotaSlots.find((s) => s.slot === slot);
      if (!q) continue;
      const ids = this.ruleIdsOf(q);
      const bytes = ids.length > 0 ? await this.device.readRuleBytes(ids) : new Map<number, bigint>();
      this.baselines.set(slot, new Map(ids.map((id) => [id, bytes.get(id) ?? 0n])));
    }
  }

  label(slot: number): string {
    const q = this.compiled.quotaSlots.find((s) => s.slot === slot);
    return q ? `${q.agent}: ${q.destination ?? q.rules.join('+')}` : `slot ${slot}`;
  }

  /** The most a controller-enforced quota may go past its budget; undefined where the data plane cuts. */
  boundBytes(slot: number): number | undefined {
    const q = this.compiled.quotaSlots.find((s) => s.slot === slot);
    if (!q || q.enforcement !== 'controller' || q.overshootMeter === undefined) return undefined;
    const meter = this.compiled.meters.find((m) => m.index === q.overshootMeter);
    if (!meter) return undefined;
    return Number(meter.cir) * (Number(this.pollNs) / 1e9) + Number(meter.cburst);
  }

  /** Slots charged by any of these rule ids. */
  slotsOf(ruleIds: Iterable<number>): number[] {
    const ids = new Set(ruleIds);
    return this.compiled.quotaSlots
      .filter((q) => this.ruleIdsOf(q).some((id) => ids.has(id)))
      .map((q) => q.slot);
  }

  async measure(slots: readonly number[]): Promise<QuotaMeasurement[]> {
    const out: QuotaMeasurement[] = [];
    const withdrawn = new Set(this.enforcer?.withdrawnSlots() ?? []);
    for (const slot of slots) {
      const q = this.compiled.quotaSlots.find((s) => s.slot === slot)!;
      const ids = this.ruleIdsOf(q);
      const now = ids.length > 0 ? await this.device.readRuleBytes(ids) : new Map<number, bigint>();
      const base = this.baselines.get(slot) ?? new Map<number, bigint>();
      let used = 0n;
      for (const id of ids) used += (now.get(id) ?? 0n) - (base.get(id) ?? 0n);
      const windowBytes = Number(used);
      const bound = this.boundBytes(slot);
      out.push({
        slot,
        agent: q.agent,
        quota: q.destination ?? q.rules.join('+'),
        enforcement: q.enforcement,
        budgetBytes: q.budgetBytes,
        windowBytes,
        overshootBytes: Math.max(0, windowBytes - q.budgetBytes),
        ...(bound !== undefined ? { boundBytes: bound } : {}),
        withdrawn: withdrawn.has(slot),
      });
    }
    return out;
  }

  /**
   * A frame the enforcer's deny entry dropped is a quota drop: the data plane names DENY_RULE (the
   * deny carries the quota rule's id), the cause is the spent quota.
   */
  attribute(r: InjectResult): InjectResult {
    if (this.controllerEnforced && r.reason === 'DENY_RULE' && this.cutRuleIds.has(r.ruleId))
      return { ...r, reason: 'QUOTA' };
    return r;
  }

  /**
   * What the enforcer's deny entries stopped since the scenario began, from their direct counters
   * (P4Runtime §9.4.3): those deleted already plus those in force. On this profile they are the quota
   * drops; drop_counter files them under DENY_RULE.
   */
  async cutDrops(): Promise<{ packets: bigint; bytes: bigint }> {
    if (!this.controllerEnforced) return { packets: 0n, bytes: 0n };
    let { packets, bytes } = this.retired;
    for (const table of [TABLES.aclV4.name, TABLES.aclV6.name]) {
      for (const r of await this.client.readDirectCounters(table)) {
        if (!this.isCut(r.entry) || !r.counter) continue;
        packets += r.counter.packets;
        bytes += r.counter.bytes;
      }
    }
    return { packets, bytes };
  }

  private isCut(entry: EntrySpec): boolean {
    const id = entry.params.rule_id;
    return entry.action === ACTIONS.deny.name && id !== undefined && this.cutRuleIds.has(Number(id));
  }

  /** The enforcer's writes, keeping the counters of its deny entries before a restore deletes them. */
  private async write(base: QuotaEnforcementDevice, ops: Parameters<QuotaEnforcementDevice['write']>[0]) {
    const leaving = new Set(
      ops.filter((op) => op.type === 'DELETE' && this.isCut(op.entry)).map((op) => entryKey(op.entry)),
    );
    if (leaving.size > 0) {
      const tables = new Set(ops.map((op) => op.entry.table));
      for (const table of tables) {
        for (const r of await this.client.readDirectCounters(table)) {
          if (!r.counter || !leaving.has(entryKey(r.entry))) continue;
          this.retired = {
            packets: this.retired.packets + r.counter.packets,
            bytes: this.retired.bytes + r.counter.bytes,
          };
        }
      }
    }
    return base.write(ops);
  }
}
