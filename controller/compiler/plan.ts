// Planning a change of device state: the minimal set of updates that turns what is installed into
// what a compiled policy needs, ordered so that no intermediate state lets through a packet that
// both the old and the new state drop.
//
// Phases run in order; the updates of one phase may be applied in any order (a P4Runtime server may
// reorder a batch), so every subset of a phase applied on top of the earlier phases must be safe.
//
//   1 meters       meter configurations (before entries use them), zeroed quota/tally cells for new ids
//   2 detach       port_map deletes, and agents whose port binding changes: their port drops everything
//   3 withdraw     source guards and host routes that go, delete halves of delete+insert swaps
//   4 ports        port_map changes that keep the agent id (mode, exfiltration limit, uplink)
//   5 rules in     ACL inserts and modifies, per agent in descending priority, one phase per level
//   6 rules out    ACL deletes, per agent in ascending priority, one phase per level
//   7 admit        source guards and host routes that come
//   8 attach       port_map inserts: an agent becomes reachable only once all its state is in place
//   9 clean up     sensitive-source deletes, resets of meters nothing uses any more
//
// Why this is safe, for a packet p that the old state O and the new state N both drop. An agent id
// whose port binding is not the same in O and N is unreachable from phase 2 to phase 8, so only
// agents whose binding stays matter in between. For those, the source guards in between are O ∩ N
// (deletes first, inserts last), so p passes the identity checks in between only if it passes them
// in both O and N; then both O's and N's ACL give p an unaudited drop. In the ACL stages let e be
// the entry that decides p in the intermediate state S and suppose it allows p:
//   - e is an old entry (unchanged key, or not yet replaced): O's decision for p is a higher-priority
//     dropping entry w; w's key is still present in S (keys of O leave only in stage 6, in ascending
//     order, so all keys above e's priority stay while e is there, possibly in their new version),
//     and it outranks e: contradiction.
//   - e is a new entry: N's decision is a higher-priority dropping entry w, and stage 5 writes
//     higher priorities first (a level completes before the next lower one starts), so w is present
//     and outranks e: contradiction.
// Entries of different agents never match the same packet (agent_id is an exact key), so levels
// of different agents can share a phase. Targets without MODIFY: a changed port binding is a delete
// (phase 2) and an insert (phase 8); a changed ACL entry of a reachable agent first detaches the
// agent, so the delete-then-insert gap is covered by the unknown-port drop, never by a lower allow
// (the compiler avoids this case by moving changed rules to new priorities when it knows the
// previous allocation).
import { ACTIONS, REGISTERS, TABLES } from '../pipeline/contract';
import { EntrySpec, MeterConfigSpec, RegisterCellSpec, entryKey, sameContent } from '../pipeline/entries';
import { ProfileName, TargetProfile } from '../pipeline/profiles';
import { CompiledPolicy, entryToJson } from './compile';
import { decodeProvenance } from './metadata';

export type EntryUpdate = {
  readonly type: 'INSERT' | 'MODIFY' | 'DELETE';
  readonly entry: EntrySpec;
};
export type MeterUpdate = { readonly type: 'MODIFY'; readonly meter: MeterConfigSpec };
/** Returns a meter cell to its unconfigured default (P4Runtime: MODIFY without a config). */
export type MeterResetUpdate = {
  readonly type: 'MODIFY';
  readonly meterReset: { readonly meter: string; readonly index: number };
};
export type RegisterUpdate = { readonly type: 'MODIFY'; readonly register: RegisterCellSpec };
export type Update = EntryUpdate | MeterUpdate | MeterResetUpdate | RegisterUpdate;

export interface PlanPhase {
  readonly name: string;
  /** Each batch is one Write; batches of a phase are independent of each other. */
  readonly batches: readonly (readonly Update[])[];
}

export interface RuleChange {
  readonly kind: 'rule' | 'agent' | 'uplink' | 'sensitive' | 'unmanaged';
  readonly name: string;
  readonly agent?: string;
  readonly insert: number;
  readonly modify: number;
  readonly delete: number;
}

export interface Plan {
  readonly profile: ProfileName;
  readonly toVersion?: string;
  readonly phases: readonly PlanPhase[];
  readonly summary: {
    readonly insert: number;
    readonly modify: number;
    readonly delete: number;
    readonly meters: number;
    readonly registers: number;
  };
  readonly changes: readonly RuleChange[];
  /** Installed entries that carry no nicguard provenance: reported, and removed by the plan. */
  readonly drift: readonly EntrySpec[];
  /** Agents taken off their port while their entries are swapped on a target without MODIFY. */
  readonly detached: readonly string[];
}

export interface DeviceState {
  readonly entries: readonly EntrySpec[];
  /** Configured meter cells; none when absent. */
  readonly meters?: readonly MeterConfigSpec[];
}

export interface DesiredState {
  readonly entries: readonly EntrySpec[];
  readonly meters: readonly MeterConfigSpec[];
  readonly version?: string;
  readonly agents?: CompiledPolicy['agents'];
}

export interface PlanOptions {
  /** Largest number of updates in one Write. Default 1000. */
  readonly maxBatchSize?: number;
}

export class PlanError extends Error {
  override readonly name = 'PlanError';
  constructor(
    readonly code: 'DUPLICATE_KEY',
    message: string,
  ) {
    super(message);
  }
}

const ACL_TABLES = new Set<string>([TABLES.aclV4.name, TABLES.aclV6.name]);
const GUARD_TABLES = new Set<string>([TABLES.macGuard.name, TABLES.ipv4Guard.name, TABLES.ipv6Guard.name]);
const SENSITIVE_TABLES = new Set<string>([TABLES.sensitiveV4.name, TABLES.sensitiveV6.name]);

const meterKey = (m: { meter: string; index: number }) => `${m.meter}#${m.index}`;
const sameMeter = (a: MeterConfigSpec, b: MeterConfigSpec) =>
  a.cir === b.cir && a.cburst === b.cburst && a.pir === b.pir && a.pburst === b.pburst;

function agentOf(entry: EntrySpec): number | undefined {
  const field = entry.match.agent_id;
  return field && field.kind === 'exact' ? Number(field.value) : undefined;
}

function boundAgent(entry: EntrySpec): number | undefined {
  return entry.action === ACTIONS.agentPort.name ? Number(entry.params.agent_id) : undefined;
}

/** Same action and parameters, metadata aside. */
function sameEffect(a: EntrySpec, b: EntrySpec): boolean {
  return sameContent({ ...a, metadata: undefined }, { ...b, metadata: undefined });
}

// Entry specs are immutable, so an entry's key is computed once: the installed state a controller
// plans against is the same objects from one plan to the next, and only new entries cost a key.
const keyCache = new WeakMap<EntrySpec, string>();
function keyOf(entry: EntrySpec): string {
  let key = keyCache.get(entry);
  if (key === undefined) {
    key = entryKey(entry);
    keyCache.set(entry, key);
  }
  return key;
}

function indexByKey(entries: readonly EntrySpec[], what: string): Map<string, EntrySpec> {
  const map = new Map<string, EntrySpec>();
  for (const entry of entries) {
    const key = keyOf(entry);
    if (map.has(key) && what === 'desired')
      throw new PlanError('DUPLICATE_KEY', `two desired entries share the key ${key}`);
    map.set(key, entry);
  }
  return map;
}

/** Groups ACL updates into levels: per agent, by priority in the given direction; level k of all agents together. */
function levels(updates: EntryUpdate[], descending: boolean, flat: Set<number>): EntryUpdate[][] {
  const perAgent = new Map<number, EntryUpdate[]>();
  for (const u of updates) {
    const agent = agentOf(u.entry) ?? -1;
    const list = perAgent.get(agent);
    if (list) list.push(u);
    else perAgent.set(agent, [u]);
  }
  const out: EntryUpdate[][] = [];
  for (const [agent, list] of perAgent) {
    if (flat.has(agent)) {
      // Unreachable during the change: order does not matter.
      (out[0] ??= []).push(...list);
      continue;
    }
    list.sort((a, b) => (descending ? -1 : 1) * ((a.entry.priority ?? 0) - (b.entry.priority ?? 0)));
    let level = -1;
    let last: number | undefined;
    for (const u of list) {
      if (u.entry.priority !== last) {
        level++;
        last = u.entry.priority;
      }
      (out[level] ??= []).push(u);
    }
  }
  return out.filter((l) => l && l.length > 0);
}

export function planChange(
  current: readonly EntrySpec[] | DeviceState,
  desired: CompiledPolicy | DesiredState,
  profile: TargetProfile,
  options: PlanOptions = {},
): Plan {
  const state: DeviceState = Array.isArray(current) ? { entries: current } : (current as DeviceState);
  const maxBatch = Math.max(1, options.maxBatchSize ?? 1000);
  const have = indexByKey(state.entries, 'current');
  const want = indexByKey(desired.entries, 'desired');
  const modifyOk = profile.modifyEntries;
  // Without MODIFY, a metadata-only difference is not worth a delete-and-insert: provenance is
  // informational, and the comparison ignores it so that re-planning stays empty.
  const same = modifyOk ? sameContent : sameEffect;

  const stage = {
    meters: [] as Update[],
    detach: [] as Update[],
    withdraw: [] as Update[],
    ports: [] as Update[],
    aclIn: [] as EntryUpdate[],
    aclOut: [] as EntryUpdate[],
    admit: [] as Update[],
    attach: [] as Update[],
    cleanup: [] as Update[],
  };
  const counts = { insert: 0, modify: 0, delete: 0 };
  const changeTally = new Map<
    string,
    { kind: RuleChange['kind']; name: string; agentId?: number; i: number; m: number; d: number }
  >();
  const tally = (entry: EntrySpec, what: 'i' | 'm' | 'd') => {
    const provenance = decodeProvenance(entry.metadata);
    const kind: RuleChange['kind'] = provenance ? provenance.kind : 'unmanaged';
    const name = provenance?.name ?? entry.table;
    const agentId = kind === 'rule' ? agentOf(entry) : undefined;
    const key = `${kind}\0${name}\0${agentId ?? ''}`;
    let t = changeTally.get(key);
    if (!t) changeTally.set(key, (t = { kind, name, agentId, i: 0, m: 0, d: 0 }));
    t[what]++;
  };
  const insert = (entry: EntrySpec): EntryUpdate => {
    counts.insert++;
    tally(entry, 'i');
    return { type: 'INSERT', entry };
  };
  const modify = (entry: EntrySpec): EntryUpdate => {
    counts.modify++;
    tally(entry, 'm');
    return { type: 'MODIFY', entry };
  };
  const remove = (entry: EntrySpec): EntryUpdate => {
    counts.delete++;
    tally(entry, 'd');
    return { type: 'DELETE', entry };
  };

  // ---- port bindings decide which agents are reachable while the change is under way
  const live = new Set<number>(); // agent ids bound to the same port before, during and after
  const portsOf = new Map<number, string[]>(); // agent id → keys of its installed port_map entries
  const portChanges: { key: string; old?: EntrySpec; next?: EntrySpec }[] = [];
  for (const [key, old] of have) {
    if (old.table !== TABLES.portMap.name) continue;
    const id = boundAgent(old);
    if (id !== undefined) portsOf.set(id, [...(portsOf.get(id) ?? []), key]);
    const next = want.get(key);
    if (next && boundAgent(next) === id && id !== undefined) live.add(id);
    if (!next || !same(old, next)) portChanges.push({ key, old, next });
  }
  for (const [key, next] of want) {
    if (next.table === TABLES.portMap.name && !have.has(key)) portChanges.push({ key, next });
  }

  // Two cases take an agent off its port while its ACL entries are swapped: on a target without
  // MODIFY, an entry that changes in place (delete, then insert); and an entry coming in at a
  // priority that an outgoing entry of the same agent and table also has, which would leave two
  // entries tied while both are installed (the compiler avoids both when it has the previous
  // allocation; they remain possible without it, or against drift).
  const detached = new Set<number>();
  const leaving = new Set<string>();
  for (const [key, old] of have) {
    if (ACL_TABLES.has(old.table) && !want.has(key))
      leaving.add(`${old.table}|${agentOf(old)}|${old.priority}`);
  }
  for (const [key, next] of want) {
    if (!ACL_TABLES.has(next.table)) continue;
    const id = agentOf(next);
    if (id === undefined || !live.has(id)) continue;
    const old = have.get(key);
    const tied = !old && leaving.has(`${next.table}|${id}|${next.priority}`);
    const inPlace = !modifyOk && old !== undefined && old !== next && !same(old, next);
    if (tied || inPlace) detached.add(id);
  }
  for (const id of detached) live.delete(id);

  const handledPorts = new Set<string>();
  for (const change of portChanges) {
    handledPorts.add(change.key);
    const { old, next } = change;
    if (
      old &&
      next &&
      boundAgent(old) === boundAgent(next) &&
      modifyOk &&
      !detached.has(boundAgent(old) ?? -1)
    ) {
      stage.ports.push(modify(next));
      continue;
    }
    if (old) stage.detach.push(remove(old));
    if (next) stage.attach.push(insert(next));
  }
  for (const id of detached) {
    for (const key of portsOf.get(id) ?? []) {
      if (handledPorts.has(key)) continue;
      const old = have.get(key) as EntrySpec;
      const next = want.get(key);
      stage.detach.push(remove(old));
      if (next) stage.attach.push(insert(next));
    }
  }
  const flat = new Set<number>();
  for (const [, entry] of want) {
    const id = agentOf(entry);
    if (id !== undefined && !live.has(id)) flat.add(id);
  }
  for (const [, entry] of have) {
    const id = agentOf(entry);
    if (id !== undefined && !live.has(id)) flat.add(id);
  }

  // ---- everything else, by table role
  const drift: EntrySpec[] = [];
  for (const [key, old] of have) {
    if (old.table === TABLES.portMap.name) continue;
    const next = want.get(key);
    if (next && (next === old || same(old, next))) continue;
    if (!next && !decodeProvenance(old.metadata)) drift.push(old);
    if (ACL_TABLES.has(old.table)) {
      if (!next) stage.aclOut.push(remove(old));
      else if (modifyOk) stage.aclIn.push(modify(next));
      else {
        stage.withdraw.push(remove(old));
        stage.aclIn.push(insert(next));
      }
    } else if (GUARD_TABLES.has(old.table) || old.table === TABLES.hostRoute.name) {
      if (!next) stage.withdraw.push(remove(old));
      else if (modifyOk) stage.admit.push(modify(next));
      else {
        stage.withdraw.push(remove(old));
        stage.admit.push(insert(next));
      }
    } else if (SENSITIVE_TABLES.has(old.table)) {
      if (!next) stage.cleanup.push(remove(old));
      else if (modifyOk) stage.withdraw.push(modify(next));
    } else {
      // A table the policy does not write: whatever is there is not ours to keep.
      if (!next) stage.cleanup.push(remove(old));
      else if (modifyOk) stage.admit.push(modify(next));
    }
  }
  for (const [key, next] of want) {
    if (have.has(key) || next.table === TABLES.portMap.name) continue;
    if (ACL_TABLES.has(next.table)) stage.aclIn.push(insert(next));
    else if (SENSITIVE_TABLES.has(next.table)) stage.withdraw.push(insert(next));
    else stage.admit.push(insert(next));
  }

  // ---- meters and counters
  const installedMeters = new Map((state.meters ?? []).map((m) => [meterKey(m), m]));
  const wantedMeters = new Set<string>();
  for (const meter of desired.meters) {
    wantedMeters.add(meterKey(meter));
    const old = installedMeters.get(meterKey(meter));
    if (!old || !sameMeter(old, meter)) stage.meters.push({ type: 'MODIFY', meter });
  }
  for (const [key, old] of installedMeters) {
    if (!wantedMeters.has(key))
      stage.cleanup.push({ type: 'MODIFY', meterReset: { meter: old.meter, index: old.index } });
  }
  let registers = 0;
  if (profile.registers) {
    // A slot or agent id new to the device may hold a count from an earlier owner: zero it first.
    const slotsInUse = new Set<bigint>();
    const idsInUse = new Set<bigint>();
    for (const entry of have.values()) {
      if (entry.params.quota_slot !== undefined) slotsInUse.add(entry.params.quota_slot);
      if (entry.action === ACTIONS.agentPort.name) idsInUse.add(entry.params.agent_id);
    }
    const zero = new Map<string, RegisterCellSpec>();
    for (const entry of want.values()) {
      const slot = entry.params.quota_slot;
      if (slot !== undefined && slot !== 0n && !slotsInUse.has(slot)) {
        zero.set(`q${slot}`, { register: REGISTERS.quotaUsed.name, index: Number(slot), value: 0n });
      }
      if (entry.action === ACTIONS.agentPort.name && !idsInUse.has(entry.params.agent_id)) {
        const id = entry.params.agent_id;
        zero.set(`a${id}`, { register: REGISTERS.sensitiveRxBytes.name, index: Number(id), value: 0n });
      }
    }
    for (const cell of zero.values()) stage.meters.push({ type: 'MODIFY', register: cell });
    registers = zero.size;
  }

  const phases: PlanPhase[] = [];
  const addPhase = (name: string, updates: readonly Update[]) => {
    if (updates.length === 0) return;
    const batches: Update[][] = [];
    for (let i = 0; i < updates.length; i += maxBatch) batches.push(updates.slice(i, i + maxBatch));
    phases.push({ name, batches });
  };
  addPhase('meters', stage.meters);
  addPhase('detach', stage.detach);
  addPhase('withdraw', stage.withdraw);
  addPhase('ports', stage.ports);
  levels(stage.aclIn, true, flat).forEach((level, i) => addPhase(`rules in ${i + 1}`, level));
  levels(stage.aclOut, false, flat).forEach((level, i) => addPhase(`rules out ${i + 1}`, level));
  addPhase('admit', stage.admit);
  addPhase('attach', stage.attach);
  addPhase('cleanup', stage.cleanup);

  const agentNames = new Map((desired as CompiledPolicy).agents?.map((a) => [a.agentId, a.name]) ?? []);
  const detachedNames = [...detached].map((id) => agentNames.get(id) ?? `agent ${id}`).sort();
  const changes: RuleChange[] = [...changeTally.values()]
    .map((t) => ({
      kind: t.kind,
      name: t.name,
      ...(t.agentId !== undefined ? { agent: agentNames.get(t.agentId) ?? `agent ${t.agentId}` } : {}),
      insert: t.i,
      modify: t.m,
      delete: t.d,
    }))
    .sort(
      (a, b) =>
        a.kind.localeCompare(b.kind) ||
        a.name.localeCompare(b.name) ||
        (a.agent ?? '').localeCompare(b.agent ?? ''),
    );
  return {
    profile: profile.name,
    ...(desired.version ? { toVersion: desired.version } : {}),
    phases,
    summary: {
      ...counts,
      meters: stage.meters.length - registers + stage.cleanup.filter((u) => 'meterReset' in u).length,
      registers,
    },
    changes,
    drift,
    detached: detachedNames,
  };
}

export function planUpdates(plan: Plan): Update[] {
  return plan.phases.flatMap((phase) => phase.batches.flat());
}

export function isEmptyPlan(plan: Plan): boolean {
  return plan.phases.length === 0;
}

/** The plan for people: one line per rule (or agent, uplink, …) with what happens to its entries. */
export function renderPlan(plan: Plan): string {
  const { insert, modify, delete: del, meters, registers } = plan.summary;
  if (isEmptyPlan(plan))
    return `No changes: the device already matches the policy${plan.toVersion ? ` ${plan.toVersion.slice(0, 12)}` : ''}.`;
  const lines = [
    `Plan for ${plan.profile}${plan.toVersion ? ` (policy ${plan.toVersion.slice(0, 12)})` : ''}: ${insert} to add, ${modify} to change, ${del} to remove.`,
  ];
  for (const change of plan.changes) {
    const what = `${change.kind} ${change.name || '(uplink)'}${change.agent ? ` for agent ${change.agent}` : ''}`;
    const parts: string[] = [];
    if (change.insert) parts.push(`+${change.insert}`);
    if (change.modify) parts.push(`~${change.modify}`);
    if (change.delete) parts.push(`-${change.delete}`);
    const sign =
      change.insert && !change.modify && !change.delete
        ? '+'
        : change.delete && !change.insert && !change.modify
          ? '-'
          : '~';
    lines.push(
      `  ${sign} ${what}: ${parts.join(' ')} ${change.insert + change.modify + change.delete === 1 ? 'entry' : 'entries'}`,
    );
  }
  if (plan.drift.length > 0)
    lines.push(`  ! ${plan.drift.length} installed entries no policy explains (drift) will be removed`);
  if (plan.detached.length > 0)
    lines.push(`  ! detached while their entries are replaced: ${plan.detached.join(', ')}`);
  if (meters || registers)
    lines.push(`  meters: ${meters} to configure or reset; counters: ${registers} to zero`);
  const batches = plan.phases.reduce((n, p) => n + p.batches.length, 0);
  lines.push(
    `  ${plan.phases.length} phases, ${batches} writes: ${plan.phases.map((p) => p.name).join(', ')}`,
  );
  return lines.join('\n');
}

function updateToJson(update: Update): Record<string, unknown> {
  if ('entry' in update) return { type: update.type, entry: entryToJson(update.entry) };
  if ('meter' in update) {
    const m = update.meter;
    return {
      type: update.type,
      meter: { ...m, cir: `${m.cir}`, cburst: `${m.cburst}`, pir: `${m.pir}`, pburst: `${m.pburst}` },
    };
  }
  if ('meterReset' in update) return { type: update.type, meterReset: update.meterReset };
  return { type: update.type, register: { ...update.register, value: `${update.register.value}` } };
}

/** The plan as JSON-safe data (bigints as decimal strings, metadata as hex). */
export function planToJson(plan: Plan): Record<string, unknown> {
  return {
    profile: plan.profile,
    toVersion: plan.toVersion,
    summary: plan.summary,
    changes: plan.changes,
    drift: plan.drift.map(entryToJson),
    detached: plan.detached,
    phases: plan.phases.map((p) => ({ name: p.name, batches: p.batches.map((b) => b.map(updateToJson)) })),
  };
}
