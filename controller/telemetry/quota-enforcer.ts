// Byte quotas on targets without registers (profile quotaEnforcement 'controller', e.g. BlueField
// DPL): the data plane cannot keep a running total, so the controller does. Every poll it reads
// what each quota's rules let out (rule_tx_counter, P4Runtime §9.4 CounterEntry), and when a
// window's budget is spent it withdraws the rule: a deny entry goes in above each allow entry of
// the quota, then the allow entries go. At the next window the allow entries come back first and
// the deny entries leave after, so at every instant the traffic meets either the allow or the deny,
// never a lower rule. No MODIFY is used (the DPL service has none for regular entries).
//
// Between the budget being reached and the poll that sees it, the quota's overshoot meter (a rate
// limit the compiler gives every controller-enforced quota) bounds what gets through: at most
// rate × poll interval, plus one meter burst.
//
// Counting is per rule id, so a rule that lets traffic out under this quota and under another
// (or none) is charged all of it here: over-charging, which cuts early, never late.

import { ACTIONS, COUNTERS } from '../pipeline/contract';
import type { EntrySpec } from '../pipeline/entries';
import type { TargetProfile } from '../pipeline/profiles';

export type QuotaEntryOp = { readonly type: 'INSERT' | 'DELETE'; readonly entry: EntrySpec };

/** What the enforcer needs of a device; the P4Runtime client provides it (quotaDeviceFor). */
export interface QuotaEnforcementDevice {
  /** Bytes rule_tx_counter holds for each of these rule ids. */
  readRuleBytes(ruleIds: readonly number[]): Promise<ReadonlyMap<number, bigint>>;
  /** One Write; a result per op, `code` the gRPC status name of a failed one. */
  write(ops: readonly QuotaEntryOp[]): Promise<readonly { ok: boolean; code?: string; message?: string }[]>;
}

/** The policy in force, as compiled (CompiledPolicy satisfies it). */
export interface EnforcedPolicy {
  readonly version: string;
  readonly entries: readonly EntrySpec[];
  readonly rules: readonly { readonly ruleId: number; readonly rule: string; readonly agent: string }[];
  readonly quotaSlots: readonly {
    readonly slot: number;
    readonly agent: string;
    readonly rules: readonly string[];
    readonly budgetBytes: number;
    readonly windowSeconds: number;
    readonly enforcement: 'dataplane' | 'controller';
    readonly overshootBytes?: number;
  }[];
}

export type QuotaEnforcementRecord =
  | {
      kind: 'device_event';
      time: number;
      device: string;
      event: 'quota_enforcement_on' | 'quota_enforcement_off';
      detail: {
        slot: number;
        rules: string[];
        agent: string;
        bytes: bigint;
        budget: number;
        policyVersion: string;
        /** False when no free priority above an allow entry existed: the allow went without a deny above it. */
        denyInstalled: boolean;
      };
    }
  | {
      kind: 'quota_window';
      time: number;
      device: string;
      slot: number;
      ruleId: string;
      agent: string;
      policyVersion: string;
      windowStart: number;
      windowEnd: number;
      bytesUsed: bigint;
      quotaBytes: bigint;
      drops: bigint;
      exhausted: boolean;
    };

export interface QuotaEnforcerOptions {
  readonly device: string;
  readonly profile: TargetProfile;
  /** Milliseconds since the epoch; injectable so tests and scenarios control windows. */
  readonly now?: () => number;
}

export const QuotaEnforcementErrorCode = { WRITE_FAILED: 'WRITE_FAILED' } as const;

export class QuotaEnforcementError extends Error {
  override readonly name = 'QuotaEnforcementError';
  constructor(
    readonly code: keyof typeof QuotaEnforcementErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface SlotState {
  windowStart: number;
  /** rule id → rule_tx bytes at the start of the window (or at the counter's last reset). */
  baseline: Map<number, bigint>;
  /** rule id → bytes charged this window before the counter went backwards (a device restart). */
  carried: Map<number, bigint>;
  withdrawn: boolean;
  /** Deny entries in force while withdrawn, so that the restore removes exactly those. */
  denies: EntrySpec[];
}

export interface PollResult {
  readonly withdrawn: readonly number[];
  readonly restored: readonly number[];
  readonly windowsClosed: readonly number[];
}

type Slot = EnforcedPolicy['quotaSlots'][number];

export class QuotaEnforcer {
  private policy: EnforcedPolicy;
  private readonly slots = new Map<number, SlotState>();
  private readonly now: () => number;

  constructor(
    private readonly device: QuotaEnforcementDevice,
    private readonly sink: { appendBatch(records: readonly QuotaEnforcementRecord[]): unknown },
    policy: EnforcedPolicy,
    private readonly options: QuotaEnforcerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.policy = policy;
  }

  /** Whether this profile needs the controller to enforce quotas at all. */
  static needed(profile: TargetProfile): boolean {
    return profile.quotaEnforcement === 'controller' || !profile.registers;
  }

  /**
   * A new policy is in force. Windows keep running; a quota that was withdrawn is re-checked at the
   * next poll, since the push may have put its allow entries back.
   */
  setPolicy(policy: EnforcedPolicy): void {
    this.policy = policy;
    const live = new Set(this.enforced().map((q) => q.slot));
    for (const slot of [...this.slots.keys()]) if (!live.has(slot)) this.slots.delete(slot);
    for (const state of this.slots.values()) state.withdrawn = false;
  }

  /** Slots currently withdrawn. */
  withdrawnSlots(): number[] {
    return [...this.slots].filter(([, s]) => s.withdrawn).map(([slot]) => slot);
  }

  private enforced(): Slot[] {
    return this.policy.quotaSlots.filter((q) => q.enforcement === 'controller');
  }

  private ruleIdsOf(q: Slot): number[] {
    return this.policy.rules
      .filter((r) => r.agent === q.agent && q.rules.includes(r.rule))
      .map((r) => r.ruleId);
  }

  private allowEntries(slot: number): EntrySpec[] {
    return this.policy.entries.filter(
      (e) => e.action === ACTIONS.allowQuota.name && e.params.quota_slot === BigInt(slot),
    );
  }

  /**
   * The deny that covers `allow` while the quota is spent: same match, the next priority up, unless
   * another entry of the same agent in the same table already holds it (then none: undefined).
   */
  private denyFor(allow: EntrySpec): EntrySpec | undefined {
    const priority = (allow.priority ?? 0) + 1;
    const agent = allow.match.agent_id;
    const agentValue = agent && agent.kind === 'exact' ? agent.value : undefined;
    const taken = this.policy.entries.some((e) => {
      if (e.table !== allow.table || e.priority !== priority) return false;
      const other = e.match.agent_id;
      return !(other && other.kind === 'exact' && agentValue !== undefined && other.value !== agentValue);
    });
    if (taken) return undefined;
    return {
      table: allow.table,
      match: allow.match,
      priority,
      action: ACTIONS.deny.name,
      params: { rule_id: allow.params.rule_id ?? 0n, flags: allow.params.flags ?? 0n },
      ...(allow.metadata ? { metadata: allow.metadata } : {}),
    };
  }

  /** One Write, tolerating what a repeated step finds done already (after a crash or a re-push). */
  private async write(ops: readonly QuotaEntryOp[]): Promise<void> {
    if (ops.length === 0) return;
    const results = await this.device.write(ops);
    results.forEach((r, i) => {
      if (r.ok) return;
      const op = ops[i];
      if (op.type === 'INSERT' && r.code === 'ALREADY_EXISTS') return;
      if (op.type === 'DELETE' && r.code === 'NOT_FOUND') return;
      throw new QuotaEnforcementError(
        'WRITE_FAILED',
        `${op.type} of ${op.entry.action} in ${op.entry.table} failed: ${r.code ?? ''} ${r.message ?? ''}`,
      );
    });
  }

  /**
   * Reads the counters of every controller-enforced quota, closes the windows that ran their length
   * (restoring withdrawn quotas), and withdraws quotas whose budget is spent.
   */
  async poll(): Promise<PollResult> {
    if (!QuotaEnforcer.needed(this.options.profile))
      return { withdrawn: [], restored: [], windowsClosed: [] };
    const quotas = this.enforced();
    const ruleIds = [...new Set(quotas.flatMap((q) => this.ruleIdsOf(q)))];
    const bytes = ruleIds.length > 0 ? await this.device.readRuleBytes(ruleIds) : new Map<number, bigint>();
    const time = this.now();
    const records: QuotaEnforcementRecord[] = [];
    const withdrawn: number[] = [];
    const restored: number[] = [];
    const windowsClosed: number[] = [];
    try {
      for (const q of quotas) {
        const ids = this.ruleIdsOf(q);
        let state = this.slots.get(q.slot);
        if (!state) {
          state = {
            windowStart: time,
            baseline: new Map(),
            carried: new Map(),
            withdrawn: false,
            denies: [],
          };
          for (const id of ids) state.baseline.set(id, bytes.get(id) ?? 0n);
          this.slots.set(q.slot, state);
        }
        const used = this.used(state, ids, bytes);
        if (time - state.windowStart >= q.windowSeconds * 1000) {
          records.push(this.windowRecord(q, state, ids, time, used));
          windowsClosed.push(q.slot);
          if (state.withdrawn) {
            await this.restore(q, state);
            records.push(this.event('quota_enforcement_off', q, used, time, state.denies.length > 0));
            restored.push(q.slot);
          }
          state.windowStart = time;
          state.carried.clear();
          for (const id of ids) state.baseline.set(id, bytes.get(id) ?? 0n);
          state.withdrawn = false;
          state.denies = [];
          continue;
        }
        if (!state.withdrawn && used >= BigInt(q.budgetBytes)) {
          await this.withdraw(q, state);
          records.push(this.event('quota_enforcement_on', q, used, time, state.denies.length > 0));
          withdrawn.push(q.slot);
        }
      }
    } finally {
      // What was done is on record even when a later write failed.
      if (records.length > 0) this.sink.appendBatch(records);
    }
    return { withdrawn, restored, windowsClosed };
  }

  /** Bytes charged this window: the counters' growth since the window started, across resets. */
  private used(state: SlotState, ids: readonly number[], bytes: ReadonlyMap<number, bigint>): bigint {
    let total = 0n;
    for (const id of ids) {
      const now = bytes.get(id) ?? 0n;
      const base = state.baseline.get(id) ?? 0n;
      if (now < base) {
        // The counter restarted (pipeline pushed again, device restarted): keep what was charged.
        state.carried.set(id, (state.carried.get(id) ?? 0n) + base);
        state.baseline.set(id, 0n);
      }
      total += now - (state.baseline.get(id) ?? 0n) + (state.carried.get(id) ?? 0n);
    }
    return total;
  }

  private async withdraw(q: Slot, state: SlotState): Promise<void> {
    const allows = this.allowEntries(q.slot);
    const denies = allows.map((a) => this.denyFor(a)).filter((d): d is EntrySpec => d !== undefined);
    // Deny first: until the allow entries are gone, the deny above them already wins.
    await this.write(denies.map((entry) => ({ type: 'INSERT' as const, entry })));
    await this.write(allows.map((entry) => ({ type: 'DELETE' as const, entry })));
    state.withdrawn = true;
    state.denies = denies;
  }

  private async restore(q: Slot, state: SlotState): Promise<void> {
    // Allow first: while both are in, the deny above still wins, so nothing passes early.
    await this.write(this.allowEntries(q.slot).map((entry) => ({ type: 'INSERT' as const, entry })));
    await this.write(state.denies.map((entry) => ({ type: 'DELETE' as const, entry })));
  }

  private event(
    event: 'quota_enforcement_on' | 'quota_enforcement_off',
    q: Slot,
    used: bigint,
    time: number,
    denyInstalled: boolean,
  ): QuotaEnforcementRecord {
    return {
      kind: 'device_event',
      time,
      device: this.options.device,
      event,
      detail: {
        slot: q.slot,
        rules: [...q.rules],
        agent: q.agent,
        bytes: used,
        budget: q.budgetBytes,
        policyVersion: this.policy.version,
        denyInstalled,
      },
    };
  }

  private windowRecord(
    q: Slot,
    state: SlotState,
    ids: readonly number[],
    time: number,
    used: bigint,
  ): QuotaEnforcementRecord {
    return {
      kind: 'quota_window',
      time,
      device: this.options.device,
      slot: q.slot,
      ruleId: String(ids[0] ?? 0),
      agent: q.agent,
      policyVersion: this.policy.version,
      windowStart: state.windowStart,
      windowEnd: time,
      bytesUsed: used,
      quotaBytes: BigInt(q.budgetBytes),
      // What the deny entries stopped is in their rule's deny-table samples; the window records the cut.
      drops: 0n,
      exhausted: state.withdrawn,
    };
  }
}

/** The enforcer's device over a P4Runtime client (DeviceClient satisfies the shape it needs). */
export function quotaDeviceFor(client: {
  readCounters(counter: string, index?: number): Promise<readonly { index: number; bytes: bigint }[]>;
  writeBatch(
    ops: readonly QuotaEntryOp[],
  ): Promise<readonly { ok: boolean; code?: string; message?: string }[]>;
}): QuotaEnforcementDevice {
  return {
    async readRuleBytes(ruleIds) {
      const out = new Map<number, bigint>();
      // One indexed read per rule: a wildcard read of rule_tx_counter would move 131072 cells.
      const cells = await Promise.all(ruleIds.map((id) => client.readCounters(COUNTERS.ruleTx.name, id)));
      for (const list of cells) for (const c of list) out.set(c.index, c.bytes);
      return out;
    },
    write: (ops) => client.writeBatch(ops),
  };
}
