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
import { ACTIONS, TABLES } from '../pipeline/contract';
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
  };
  readonly changes: readonly RuleChange[];
  /** Installed entries that carry no nicguard provenance: reported, and removed by the plan. */
  readonly drift: readonly EntrySpec[];
  /** Agents taken off their port while their entries are swapped on a target without MODIFY. */
  readonly detached: readonly string[];
}

export interface DeviceState {
  /**
   * What the device holds. The planner indexes this array once and keeps the index for as long as
   * the array lives, so it must not be changed after a plan: give a new array for a new state.
   */
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

// Provenance is shared by all entries of a rule (one metadata array per rule), so decoding it once
// per array keeps the per-rule tally of a full plan cheap.
const provenanceCache = new WeakMap<Uint8Array, ReturnType<typeof decodeProvenance> | null>();
function provenanceOf(entry: EntrySpec): ReturnType<typeof decodeProvenance> {
  const metadata = entry.metadata;
  if (!metadata) return undefined;
  let provenance = provenanceCache.get(metadata);
  if (provenance === undefined) {
    provenance = decodeProvenance(metadata) ?? null;
    provenanceCache.set(metadata, provenance);
  }
  return provenance ?? undefined;
}

/**
 * The installed entries indexed once: by key, by identity, and the facts the planner needs about all
 * of them (port bindings, quota slots and agent ids in use). Kept per entries array, which is
 * treated as immutable, so that planning again against the same installed state costs only what
 * differs from it.
 */
interface InstalledIndex {
  /** Length of the array indexed, as a guard against an array changed after it was indexed. */
  readonly sourceLength: number;
  readonly entries: readonly EntrySpec[];
  readonly keys: readonly string[];
  readonly positionOfKey: ReadonlyMap<string, number>;
  readonly positionOf: ReadonlyMap<EntrySpec, number>;
  /** agent id → positions of the port_map entries that bind it */
  readonly portsOf: ReadonlyMap<number, readonly number[]>;
}

const installedCache = new WeakMap<readonly EntrySpec[], InstalledIndex>();

function installedIndex(entries: readonly EntrySpec[]): InstalledIndex {
  const cached = installedCache.get(entries);
  if (cached && cached.sourceLength === entries.length) return cached;
  // A key installed twice can only be one entry on a device: the last one read wins.
  const byKey = new Map<string, EntrySpec>();
  for (const entry of entries) byKey.set(keyOf(entry), entry);
  const kept = [...byKey.values()];
  const keys = [...byKey.keys()];
  const positionOfKey = new Map<string, number>();
  const positionOf = new Map<EntrySpec, number>();
  const portsOf = new Map<number, number[]>();
  for (let p = 0; p < kept.length; p++) {
    const entry = kept[p];
    positionOfKey.set(keys[p], p);
    positionOf.set(entry, p);
    if (entry.table === TABLES.portMap.name) {
      const id = boundAgent(entry);
      if (id !== undefined) {
        const list = portsOf.get(id);
        if (list) list.push(p);
        else portsOf.set(id, [p]);
      }
    }
  }
  const index: InstalledIndex = {
    sourceLength: entries.length,
    entries: kept,
    keys,
    positionOfKey,
    positionOf,
    portsOf,
  };
  installedCache.set(entries, index);
  return index;
}

/** Groups ACL updates into levels: per agent, by priority in the given direction; level k of all agents together. */
function levels(
  updates: EntryUpdate[],
  descending: boolean,
  flat: (agent: number) => boolean,
): EntryUpdate[][] {
  const perAgent = new Map<number, EntryUpdate[]>();
  for (const u of updates) {
    const agent = agentOf(u.entry) ?? -1;
    const list = perAgent.get(agent);
    if (list) list.push(u);
    else perAgent.set(agent, [u]);
  }
  const out: EntryUpdate[][] = [];
  for (const [agent, list] of perAgent) {
    if (agent !== -1 && flat(agent)) {
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
  const modifyOk = profile.modifyEntries;
  // Without MODIFY, a metadata-only difference is not worth a delete-and-insert: provenance is
  // informational, and the comparison ignores it so that re-planning stays empty.
  const same = modifyOk ? sameContent : sameEffect;

  // ---- the difference: desired entries that are not already installed as they are, and installed
  // entries that no desired entry keeps. Desired entries that are the installed objects themselves
  // (a compile that reused the previous one's entries) cost one identity look-up each; everything
  // after this section only looks at the difference.
  const installed = installedIndex(state.entries);
  const kept = new Uint8Array(installed.entries.length);
  /** Installed position → the desired entry equal to it but not the same object. */
  const keptAs = new Map<number, EntrySpec>();
  const wantChanged = new Map<string, EntrySpec>();
  const duplicate = (key: string): never => {
    throw new PlanError('DUPLICATE_KEY', `two desired entries share the key ${key}`);
  };
  // A compile made with `reuse` of what the device holds says itself which entries differ: only
  // those are looked at, and the plan costs what changed, not what is installed.
  const delta = (desired as CompiledPolicy).delta;
  let candidates = desired.entries;
  if (delta && delta.base === state.entries) {
    kept.fill(1);
    for (const entry of delta.removed) {
      const p = installed.positionOf.get(entry);
      if (p !== undefined) kept[p] = 0;
    }
    candidates = delta.added;
  }
  for (const entry of candidates) {
    let p = installed.positionOf.get(entry);
    if (p !== undefined && kept[p] === 0) {
      if (wantChanged.has(installed.keys[p])) duplicate(installed.keys[p]);
      kept[p] = 1;
      continue;
    }
    const key = keyOf(entry);
    if (wantChanged.has(key)) duplicate(key);
    p = installed.positionOfKey.get(key);
    if (p !== undefined) {
      if (kept[p] === 1) duplicate(key);
      const old = installed.entries[p];
      if (same(old, entry)) {
        kept[p] = 1;
        if (old !== entry) keptAs.set(p, entry);
        continue;
      }
    }
    wantChanged.set(key, entry);
  }
  const haveChanged = new Map<string, EntrySpec>();
  for (let p = 0; p < kept.length; p++) {
    if (kept[p] === 0) haveChanged.set(installed.keys[p], installed.entries[p]);
  }
  const have = (key: string): EntrySpec | undefined => {
    const p = installed.positionOfKey.get(key);
    return p === undefined ? undefined : installed.entries[p];
  };
  const want = (key: string): EntrySpec | undefined => {
    const next = wantChanged.get(key);
    if (next) return next;
    const p = installed.positionOfKey.get(key);
    return p !== undefined && kept[p] === 1 ? (keptAs.get(p) ?? installed.entries[p]) : undefined;
  };

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
    const provenance = provenanceOf(entry);
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
  // An agent id is live (bound to the same port before, during and after) when one of its installed
  // port_map entries stays as it is, or changes without changing the agent it binds.
  const liveByChange = new Set<number>();
  const portChanges: { key: string; old?: EntrySpec; next?: EntrySpec }[] = [];
  for (const [key, old] of haveChanged) {
    if (old.table !== TABLES.portMap.name) continue;
    const id = boundAgent(old);
    const next = wantChanged.get(key);
    if (next && boundAgent(next) === id && id !== undefined) liveByChange.add(id);
    portChanges.push({ key, old, next });
  }
  for (const [key, next] of wantChanged) {
    if (next.table === TABLES.portMap.name && !have(key)) portChanges.push({ key, next });
  }

  // Two cases take an agent off its port while its ACL entries are swapped: on a target without
  // MODIFY, an entry that changes in place (delete, then insert); and an entry coming in at a
  // priority that an outgoing entry of the same agent and table also has, which would leave two
  // entries tied while both are installed (the compiler avoids both when it has the previous
  // allocation; they remain possible without it, or against drift).
  const detached = new Set<number>();
  const boundBefore = (id: number): boolean =>
    liveByChange.has(id) || (installed.portsOf.get(id) ?? []).some((p) => kept[p] === 1);
  const live = (id: number): boolean => !detached.has(id) && boundBefore(id);
  const leaving = new Set<string>();
  for (const [key, old] of haveChanged) {
    if (ACL_TABLES.has(old.table) && !wantChanged.has(key))
      leaving.add(`${old.table}|${agentOf(old)}|${old.priority}`);
  }
  for (const [key, next] of wantChanged) {
    if (!ACL_TABLES.has(next.table)) continue;
    const id = agentOf(next);
    if (id === undefined || !live(id)) continue;
    const old = have(key);
    const tied = !old && leaving.has(`${next.table}|${id}|${next.priority}`);
    const inPlace = !modifyOk && old !== undefined && old !== next && !same(old, next);
    if (tied || inPlace) detached.add(id);
  }

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
    for (const p of installed.portsOf.get(id) ?? []) {
      const key = installed.keys[p];
      if (handledPorts.has(key)) continue;
      const next = want(key);
      stage.detach.push(remove(installed.entries[p]));
      if (next) stage.attach.push(insert(next));
    }
  }
  const flat = (id: number): boolean => !live(id);

  // ---- everything else, by table role
  const drift: EntrySpec[] = [];
  for (const [key, old] of haveChanged) {
    if (old.table === TABLES.portMap.name) continue;
    const next = wantChanged.get(key);
    if (next && (next === old || same(old, next))) continue;
    if (!next && !provenanceOf(old)) drift.push(old);
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
  for (const [key, next] of wantChanged) {
    if (next.table === TABLES.portMap.name || have(key)) continue;
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
      meters: stage.meters.length + stage.cleanup.filter((u) => 'meterReset' in u).length,
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
  const { insert, modify, delete: del, meters } = plan.summary;
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
  if (meters) lines.push(`  meters: ${meters} to configure or reset`);
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
