// Translation between the contract's own terms (EntrySpec, MeterConfigSpec, RegisterCellSpec:
// P4Info names and bigints) and P4Runtime entities (ids and canonical bytestrings), through the
// P4Info model and the value codec. Knows tables and actions, never policies.
//
// Two output forms for table entries:
//   - toTableEntry: a p4.v1.TableEntry object (proto.ts convention), for anything but bulk writes;
//   - EntityCodec.writeTableUpdate: the Update's wire bytes appended to a WireWriter, for bulk
//     writes, without building objects.
// Both run the same checks (checkField, checkAction, checkPriority below), so they accept the same
// specs and produce the same message.
//
// Per-table and per-action lookups are computed once per P4Info (EntityCodec caches them), so the
// per-entry work is the checks and the encoding.

import type { EntrySpec, FieldValue, MeterConfigSpec, RegisterCellSpec } from '../pipeline/entries';
import type {
  ActionInfo,
  ActionParamInfo,
  CounterInfo,
  MatchFieldInfo,
  MeterInfo,
  P4InfoIndex,
  RegisterInfo,
  TableInfo,
} from './p4info';
import { requiresPriority } from './p4info';
import type {
  CounterData,
  CounterEntry,
  FieldMatch,
  MeterConfig,
  MeterEntry,
  RegisterEntry,
  TableEntry,
  UpdateType,
} from './proto';
import {
  decodeFieldMatch,
  decodeUnsigned,
  encodeUnsigned,
  formatHex,
  maxValue,
  P4ValueError,
} from './values';
import { WireWriter } from './wire';

export type EntityErrorCode =
  | 'MISSING_EXACT_MATCH'
  | 'UNKNOWN_MATCH_FIELD'
  | 'MATCH_KIND_MISMATCH'
  | 'MISSING_PARAM'
  | 'UNKNOWN_PARAM'
  | 'DEFAULT_ONLY_ACTION'
  | 'PRIORITY_REQUIRED'
  | 'PRIORITY_NOT_ALLOWED'
  | 'INDEX_OUT_OF_RANGE'
  | 'UNSUPPORTED_ENTITY'
  | 'UNSUPPORTED_TYPE';

export class EntityError extends Error {
  override readonly name = 'EntityError';
  constructor(
    readonly code: EntityErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Packet and byte counts of a counter cell or a table entry's direct counter. */
export interface CounterValue {
  readonly packets: bigint;
  readonly bytes: bigint;
}

/** One cell of an indexed counter. */
export interface CounterCell extends CounterValue {
  readonly counter: string;
  readonly index: number;
}

/** Rates and bursts of a configured meter cell (P4Runtime §9.4.2). */
export interface MeterRates {
  readonly cir: bigint;
  readonly cburst: bigint;
  readonly pir: bigint;
  readonly pburst: bigint;
}

/** One cell of an indexed meter as read back; `config` is absent while the cell has its default (unconfigured) behaviour. */
export interface MeterReading {
  readonly meter: string;
  readonly index: number;
  readonly config?: MeterRates;
}

// ---------------------------------------------------------------- plans

type FieldKind = FieldValue['kind'];

const KIND_OF_MATCH_TYPE: Readonly<Record<string, FieldKind | undefined>> = {
  EXACT: 'exact',
  LPM: 'lpm',
  TERNARY: 'ternary',
  RANGE: 'range',
  OPTIONAL: 'optional',
};

interface FieldPlan {
  readonly info: MatchFieldInfo;
  readonly name: string;
  readonly kind: FieldKind | undefined;
  readonly bitwidth: number;
  readonly max: bigint;
}

interface ParamPlan {
  readonly info: ActionParamInfo;
  readonly name: string;
  readonly max: bigint;
}

interface ActionPlan {
  readonly info: ActionInfo;
  readonly params: readonly ParamPlan[];
  readonly paramsById: ReadonlyMap<number, ParamPlan>;
  readonly defaultOnly: boolean;
}

interface TablePlan {
  readonly info: TableInfo;
  readonly fields: readonly FieldPlan[];
  readonly fieldsByName: ReadonlyMap<string, FieldPlan>;
  readonly fieldsById: ReadonlyMap<number, FieldPlan>;
  readonly needsPriority: boolean;
  /** Filled on first use of each spelling (full name or alias). */
  readonly actionsByName: Map<string, ActionPlan>;
  readonly actionsById: ReadonlyMap<number, ActionPlan>;
}

const UPDATE_TYPE_NUMBER: Readonly<Record<UpdateType, number>> = {
  UNSPECIFIED: 0,
  INSERT: 1,
  MODIFY: 2,
  DELETE: 3,
};

const MAX_PRIORITY = 0x7fffffff;

// ---------------------------------------------------------------- checks shared by both forms

function fail(code: EntityErrorCode, message: string): never {
  throw new EntityError(code, message);
}

function valueError(table: TableInfo, err: P4ValueError): P4ValueError {
  return new P4ValueError(err.code, `table '${table.name}': ${err.message}`, err.status);
}

function outOfRange(table: TableInfo, label: string, value: bigint, bitwidth: number): never {
  throw new P4ValueError(
    'OUT_OF_RANGE',
    `table '${table.name}': ${label} ${formatHex(value)} does not fit in ${bitwidth} bits`,
    'OUT_OF_RANGE',
  );
}

/**
 * Checks one match value against its field (P4Runtime §9.1.1) and tells whether it is a match at
 * all: false for the don't-care forms (LPM /0, ternary mask 0, the full range), which the entry
 * must omit rather than send.
 */
function checkField(table: TableInfo, field: FieldPlan, value: FieldValue): boolean {
  if (value.kind !== field.kind) {
    fail(
      'MATCH_KIND_MISMATCH',
      `table '${table.name}': match field '${field.name}' is ${field.info.matchType}, got a ${value.kind} value`,
    );
  }
  const max = field.max;
  const label = `match field '${field.name}'`;
  switch (value.kind) {
    case 'exact':
    case 'optional':
      if (value.value < 0n || value.value > max) outOfRange(table, label, value.value, field.bitwidth);
      return true;
    case 'lpm': {
      const { value: v, prefixLen } = value;
      if (v < 0n || v > max) outOfRange(table, label, v, field.bitwidth);
      if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > field.bitwidth) {
        throw valueError(
          table,
          new P4ValueError(
            'BAD_PREFIX',
            `${label}: prefix length ${prefixLen} is outside 0..${field.bitwidth}`,
          ),
        );
      }
      if ((v & maxValue(field.bitwidth - prefixLen)) !== 0n) {
        throw valueError(
          table,
          new P4ValueError(
            'NONZERO_BEYOND_PREFIX',
            `${label}: value ${formatHex(v)} has bits set beyond the /${prefixLen} prefix`,
          ),
        );
      }
      return prefixLen !== 0;
    }
    case 'ternary': {
      const { value: v, mask } = value;
      if (v < 0n || v > max) outOfRange(table, label, v, field.bitwidth);
      if (mask < 0n || mask > max) outOfRange(table, `${label} mask`, mask, field.bitwidth);
      // Narrow fields (addresses, protocols) test in 32-bit arithmetic: no bigint allocation.
      const outside = field.bitwidth <= 32 ? (Number(v) & ~Number(mask)) !== 0 : (v & ~mask) !== 0n;
      if (outside) {
        throw valueError(
          table,
          new P4ValueError(
            'NONZERO_OUTSIDE_MASK',
            `${label}: value ${formatHex(v)} has bits set outside mask ${formatHex(mask)}`,
          ),
        );
      }
      return mask !== 0n;
    }
    case 'range': {
      const { low, high } = value;
      if (low < 0n || low > max) outOfRange(table, `${label} low`, low, field.bitwidth);
      if (high < 0n || high > max) outOfRange(table, `${label} high`, high, field.bitwidth);
      if (low > high) {
        throw valueError(
          table,
          new P4ValueError(
            'BAD_RANGE',
            `${label}: range low ${formatHex(low)} is greater than high ${formatHex(high)}`,
          ),
        );
      }
      return !(low === 0n && high === max);
    }
  }
}

/** Every name in spec.match must be a key field of the table. */
function checkMatchNames(plan: TablePlan, match: Readonly<Record<string, FieldValue>>, seen: number): void {
  let given = 0;
  for (const name in match) {
    if (match[name] === undefined) continue;
    given++;
    if (!plan.fieldsByName.has(name)) {
      fail(
        'UNKNOWN_MATCH_FIELD',
        `table '${plan.info.name}' has no match field '${name}'; fields: ${plan.fields.map((f) => `'${f.name}'`).join(', ')}`,
      );
    }
  }
  // Reached only if counts differ for a reason other than unknown names; kept as a guard.
  if (given !== seen) fail('UNKNOWN_MATCH_FIELD', `table '${plan.info.name}': match has unexpected fields`);
}

function checkPriority(plan: TablePlan, priority: number | undefined): number {
  const p = priority ?? 0;
  if (plan.needsPriority) {
    if (!Number.isInteger(p) || p < 1 || p > MAX_PRIORITY) {
      fail(
        'PRIORITY_REQUIRED',
        `table '${plan.info.name}' has ternary, range or optional fields: priority must be 1..${MAX_PRIORITY}, got ${priority}`,
      );
    }
  } else if (p !== 0) {
    fail(
      'PRIORITY_NOT_ALLOWED',
      `table '${plan.info.name}' has only exact and LPM fields: priority must be unset`,
    );
  }
  return p;
}

function checkParams(plan: TablePlan, action: ActionPlan, params: Readonly<Record<string, bigint>>): void {
  let given = 0;
  for (const name in params) if (params[name] !== undefined) given++;
  let known = 0;
  for (const p of action.params) {
    const v = params[p.name];
    if (v === undefined) {
      fail(
        'MISSING_PARAM',
        `table '${plan.info.name}': action '${action.info.name}' needs parameter '${p.name}' (bit<${p.info.bitwidth}>)`,
      );
    }
    if (typeof v !== 'bigint') {
      throw new P4ValueError(
        'BAD_FORMAT',
        `table '${plan.info.name}': action '${action.info.name}' parameter '${p.name}' must be a bigint, got ${typeof v}`,
      );
    }
    if (v < 0n || v > p.max) {
      outOfRange(plan.info, `action '${action.info.name}' parameter '${p.name}'`, v, p.info.bitwidth);
    }
    known++;
  }
  if (given !== known) {
    const extra = Object.keys(params).filter((n) => !action.params.some((p) => p.name === n));
    fail(
      'UNKNOWN_PARAM',
      `action '${action.info.name}' has no parameter ${extra.map((n) => `'${n}'`).join(', ')}; parameters: ${
        action.params.map((p) => `'${p.name}'`).join(', ') || 'none'
      }`,
    );
  }
}

// ---------------------------------------------------------------- codec

/** EntrySpec ↔ p4.v1 entities for one P4Info, with its lookups precomputed. */
export class EntityCodec {
  private readonly tablePlans = new Map<string | number, TablePlan>();

  constructor(readonly p4info: P4InfoIndex) {}

  private table(ref: string | number): TablePlan {
    let plan = this.tablePlans.get(ref);
    if (plan === undefined) {
      const info = this.p4info.tables.get(ref);
      plan = this.tablePlans.get(info.id) ?? this.buildTablePlan(info);
      this.tablePlans.set(ref, plan);
      this.tablePlans.set(info.id, plan);
    }
    return plan;
  }

  private buildTablePlan(info: TableInfo): TablePlan {
    const fields = info.matchFields.map((f): FieldPlan => ({
      info: f,
      name: f.name,
      kind: KIND_OF_MATCH_TYPE[f.matchType],
      bitwidth: f.bitwidth,
      max: f.bitwidth > 0 ? maxValue(f.bitwidth) : 0n,
    }));
    const actionsById = new Map<number, ActionPlan>();
    for (const ref of info.actionRefs) {
      const a = this.p4info.actions.get(ref.id);
      const params = a.params.map((p) => ({ info: p, name: p.name, max: maxValue(p.bitwidth) }));
      actionsById.set(a.id, {
        info: a,
        params,
        paramsById: new Map(params.map((p) => [p.info.id, p])),
        defaultOnly: ref.scope === 'DEFAULT_ONLY',
      });
    }
    return {
      info,
      fields,
      fieldsByName: new Map(fields.map((f) => [f.name, f])),
      fieldsById: new Map(fields.map((f) => [f.info.id, f])),
      needsPriority: requiresPriority(info),
      actionsByName: new Map(),
      actionsById,
    };
  }

  private action(plan: TablePlan, name: string): ActionPlan {
    let action = plan.actionsByName.get(name);
    if (action === undefined) {
      const ref = this.p4info.actionRef(plan.info, name);
      action = plan.actionsById.get(ref.id);
      if (action === undefined) throw new Error(`internal: action ${ref.id} missing from table plan`);
      plan.actionsByName.set(name, action);
    }
    if (action.defaultOnly) {
      fail(
        'DEFAULT_ONLY_ACTION',
        `action '${action.info.name}' may only be the default action of table '${plan.info.name}' (@defaultonly)`,
      );
    }
    return action;
  }

  /** Full P4Info name of a table given by name, alias or id. */
  tableName(ref: string | number): string {
    return this.table(ref).info.name;
  }

  /** Whether the table's entries carry a priority (P4Runtime §9.1). */
  tableNeedsPriority(ref: string | number): boolean {
    return this.table(ref).needsPriority;
  }

  tableInfo(ref: string | number): TableInfo {
    return this.table(ref).info;
  }

  // ------------------------------------------------------------ table entries, object form

  /** p4.v1.TableEntry for a spec: ids, canonical bytestrings, don't-care fields omitted (P4Runtime §9.1). */
  toTableEntry(spec: EntrySpec): TableEntry {
    const plan = this.table(spec.table);
    const entry = this.keyOf(plan, spec);
    const action = this.action(plan, spec.action);
    checkParams(plan, action, spec.params);
    entry.action = {
      action: {
        action_id: action.info.id,
        params: action.params.map((p) => ({
          param_id: p.info.id,
          value: encodeUnsigned(spec.params[p.name], p.info.bitwidth),
        })),
      },
    };
    if (spec.metadata !== undefined && spec.metadata.length > 0) entry.metadata = Buffer.from(spec.metadata);
    return entry;
  }

  /** A TableEntry with only the key (table, match, priority): what a DELETE or an exact-key read needs. */
  toTableKey(spec: Pick<EntrySpec, 'table' | 'match' | 'priority'>): TableEntry {
    return this.keyOf(this.table(spec.table), spec);
  }

  private keyOf(plan: TablePlan, spec: Pick<EntrySpec, 'match' | 'priority'>): TableEntry {
    const match: FieldMatch[] = [];
    let seen = 0;
    for (const f of plan.fields) {
      const v = spec.match[f.name];
      if (v === undefined) {
        if (f.kind === 'exact') missingExact(plan, f);
        continue;
      }
      seen++;
      if (checkField(plan.info, f, v)) match.push(encodedMatch(f, v));
    }
    checkMatchNames(plan, spec.match, seen);
    const priority = checkPriority(plan, spec.priority);
    const entry: TableEntry = { table_id: plan.info.id, match };
    if (priority !== 0) entry.priority = priority;
    return entry;
  }

  /**
   * The inverse of toTableEntry, for entries read back or received in notifications. Validates the
   * match per P4Runtime §9.1.1 and names everything by its full P4Info name. Accepts both the
   * proto.ts object convention and protobufjs message instances.
   */
  fromTableEntry(entry: TableEntry): EntrySpec {
    const plan = this.table(entry.table_id ?? 0);
    const table = plan.info;
    const match: Record<string, FieldValue> = {};
    for (const fm of entry.match ?? []) {
      const f = plan.fieldsById.get(fm.field_id ?? 0);
      if (f === undefined) {
        fail('UNKNOWN_MATCH_FIELD', `table '${table.name}' has no match field id ${fm.field_id ?? 0}`);
      }
      let n;
      try {
        n = decodeFieldMatch(fm, f.info);
      } catch (err) {
        throw err instanceof P4ValueError ? valueError(table, err) : err;
      }
      switch (n.kind) {
        case 'EXACT':
          match[f.name] = { kind: 'exact', value: n.value };
          break;
        case 'OPTIONAL':
          match[f.name] = { kind: 'optional', value: n.value };
          break;
        case 'LPM':
          match[f.name] = { kind: 'lpm', value: n.value, prefixLen: n.prefixLen };
          break;
        case 'TERNARY':
          match[f.name] = { kind: 'ternary', value: n.value, mask: n.mask };
          break;
        case 'RANGE':
          match[f.name] = { kind: 'range', low: n.value, high: n.high };
          break;
      }
    }
    const call = entry.action?.action;
    if (!call) {
      fail(
        'UNSUPPORTED_ENTITY',
        `table '${table.name}': entry has no direct action (action profiles are not supported)`,
      );
    }
    const action = plan.actionsById.get(call.action_id ?? 0);
    if (action === undefined) {
      fail('UNKNOWN_PARAM', `table '${table.name}' has no action id ${call.action_id ?? 0}`);
    }
    const params: Record<string, bigint> = {};
    for (const p of call.params ?? []) {
      const pp = action.paramsById.get(p.param_id ?? 0);
      if (pp === undefined) {
        fail('UNKNOWN_PARAM', `action '${action.info.name}' has no parameter id ${p.param_id ?? 0}`);
      }
      params[pp.name] = decodeUnsigned(p.value ?? EMPTY, pp.info.bitwidth, `parameter '${pp.name}'`);
    }
    for (const pp of action.params) {
      if (params[pp.name] === undefined) {
        fail('MISSING_PARAM', `action '${action.info.name}' read back without parameter '${pp.name}'`);
      }
    }
    const spec: { -readonly [K in keyof EntrySpec]: EntrySpec[K] } = {
      table: table.name,
      match,
      action: action.info.name,
      params,
    };
    if (entry.priority) spec.priority = entry.priority;
    // Decoded bytes may be views into a receive buffer: copy what we keep.
    if (entry.metadata && entry.metadata.length > 0) spec.metadata = Buffer.from(entry.metadata);
    return spec;
  }

  // ------------------------------------------------------------ table entries, wire form

  /**
   * Appends `WriteRequest.updates` (field 4) holding one Update of a table entry to `out`: the same
   * message toTableEntry would give, wrapped in Update and Entity, written straight as wire bytes.
   * On a rejected spec nothing usable is left past the writer's position at the call: the caller
   * resets `out.pos` to where it was.
   */
  writeTableUpdate(out: WireWriter, type: UpdateType, spec: EntrySpec): void {
    const plan = this.table(spec.table);
    const table = plan.info;
    const update = out.begin(4);
    out.uintField(1, UPDATE_TYPE_NUMBER[type]);
    const entity = out.begin(2);
    const te = out.begin(2);
    out.uintField(1, table.id);
    let seen = 0;
    const match = spec.match;
    for (const f of plan.fields) {
      const v = match[f.name];
      if (v === undefined) {
        if (f.kind === 'exact') missingExact(plan, f);
        continue;
      }
      seen++;
      if (!checkField(table, f, v)) continue;
      const fm = out.begin(2);
      out.uintField(1, f.info.id);
      switch (v.kind) {
        case 'exact': {
          const m = out.begin(2);
          out.p4BytesField(1, v.value);
          out.end(m);
          break;
        }
        case 'ternary': {
          const m = out.begin(3);
          out.p4BytesField(1, v.value);
          out.p4BytesField(2, v.mask);
          out.end(m);
          break;
        }
        case 'lpm': {
          const m = out.begin(4);
          out.p4BytesField(1, v.value);
          out.uintField(2, v.prefixLen);
          out.end(m);
          break;
        }
        case 'range': {
          const m = out.begin(6);
          out.p4BytesField(1, v.low);
          out.p4BytesField(2, v.high);
          out.end(m);
          break;
        }
        case 'optional': {
          const m = out.begin(7);
          out.p4BytesField(1, v.value);
          out.end(m);
          break;
        }
      }
      out.end(fm);
    }
    checkMatchNames(plan, match, seen);
    const priority = checkPriority(plan, spec.priority);
    const action = this.action(plan, spec.action);
    checkParams(plan, action, spec.params);
    const ta = out.begin(3);
    const act = out.begin(1);
    out.uintField(1, action.info.id);
    const params = spec.params;
    for (const p of action.params) {
      const pm = out.begin(4);
      out.uintField(2, p.info.id);
      out.p4BytesField(3, params[p.name]);
      out.end(pm);
    }
    out.end(act);
    out.end(ta);
    out.uintField(4, priority);
    if (spec.metadata !== undefined) out.bytesField(11, spec.metadata);
    out.end(te);
    out.end(entity);
    out.end(update);
  }

  // ------------------------------------------------------------ indexed resources

  private checkIndex(kind: string, info: { name: string; size: number }, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= info.size) {
      fail(
        'INDEX_OUT_OF_RANGE',
        `${kind} '${info.name}' has ${info.size} cells; index ${index} is outside 0..${info.size - 1}`,
      );
    }
  }

  meterInfo(ref: string | number): MeterInfo {
    return this.p4info.meters.get(ref);
  }

  /** MeterEntry configuring one cell (P4Runtime §9.4.2). */
  toMeterEntry(spec: MeterConfigSpec): MeterEntry {
    const info = this.p4info.meters.get(spec.meter);
    this.checkIndex('meter', info, spec.index);
    const config: MeterConfig = {};
    const rates: [keyof MeterConfig, bigint][] = [
      ['cir', spec.cir],
      ['cburst', spec.cburst],
      ['pir', spec.pir],
      ['pburst', spec.pburst],
    ];
    for (const [name, value] of rates) {
      if (value < 0n || value > INT64_MAX) {
        fail(
          'INDEX_OUT_OF_RANGE',
          `meter '${info.name}'[${spec.index}]: ${name} ${value} is not an int64 ≥ 0`,
        );
      }
      if (value !== 0n) config[name] = value.toString();
    }
    return { meter_id: info.id, index: { index: String(spec.index) }, config };
  }

  /** MeterEntry without config: as a MODIFY, returns the cell to its default behaviour (P4Runtime §9.4.2). */
  toMeterReset(meter: string, index: number): MeterEntry {
    const info = this.p4info.meters.get(meter);
    this.checkIndex('meter', info, index);
    return { meter_id: info.id, index: { index: String(index) } };
  }

  fromMeterEntry(entry: MeterEntry): MeterReading {
    const info = this.p4info.meters.get(entry.meter_id ?? 0);
    const index = Number(toBigInt64(entry.index?.index));
    const c = entry.config;
    if (!c) return { meter: info.name, index };
    return {
      meter: info.name,
      index,
      config: {
        cir: toBigInt64(c.cir),
        cburst: toBigInt64(c.cburst),
        pir: toBigInt64(c.pir),
        pburst: toBigInt64(c.pburst),
      },
    };
  }

  counterInfo(ref: string | number): CounterInfo {
    return this.p4info.counters.get(ref);
  }

  /** CounterEntry for one cell, with `data` to set it (MODIFY) or without to read it. */
  toCounterEntry(counter: string, index: number, data?: CounterValue): CounterEntry {
    const info = this.p4info.counters.get(counter);
    this.checkIndex('counter', info, index);
    const entry: CounterEntry = { counter_id: info.id, index: { index: String(index) } };
    if (data) entry.data = counterData(data);
    return entry;
  }

  fromCounterEntry(entry: CounterEntry): CounterCell {
    const info = this.p4info.counters.get(entry.counter_id ?? 0);
    return {
      counter: info.name,
      index: Number(toBigInt64(entry.index?.index)),
      ...fromCounterData(entry.data),
    };
  }

  registerInfo(ref: string | number): RegisterInfo {
    return this.p4info.registers.get(ref);
  }

  private registerWidth(info: RegisterInfo): number {
    if (info.type.kind !== 'bit') {
      fail(
        'UNSUPPORTED_TYPE',
        `register '${info.name}' holds ${info.type.kind} values; only bit<W> is supported`,
      );
    }
    return info.type.bitwidth;
  }

  /** RegisterEntry writing one cell (P4Runtime §9.7). */
  toRegisterEntry(spec: RegisterCellSpec): RegisterEntry {
    const info = this.p4info.registers.get(spec.register);
    this.checkIndex('register', info, spec.index);
    const width = this.registerWidth(info);
    return {
      register_id: info.id,
      index: { index: String(spec.index) },
      data: { bitstring: encodeUnsigned(spec.value, width, `register '${info.name}'[${spec.index}]`) },
    };
  }

  fromRegisterEntry(entry: RegisterEntry): RegisterCellSpec {
    const info = this.p4info.registers.get(entry.register_id ?? 0);
    const width = this.registerWidth(info);
    const index = Number(toBigInt64(entry.index?.index));
    const bits = entry.data?.bitstring;
    if (!bits || bits.length === 0) {
      fail('UNSUPPORTED_TYPE', `register '${info.name}'[${index}] read back without a bitstring`);
    }
    return {
      register: info.name,
      index,
      value: decodeUnsigned(bits, width, `register '${info.name}'[${index}]`),
    };
  }
}

const EMPTY = Buffer.alloc(0);
const INT64_MAX = (1n << 63n) - 1n;

function encodedMatch(f: FieldPlan, v: FieldValue): FieldMatch {
  const id = f.info.id;
  const w = f.bitwidth;
  switch (v.kind) {
    case 'exact':
      return { field_id: id, exact: { value: encodeUnsigned(v.value, w) } };
    case 'optional':
      return { field_id: id, optional: { value: encodeUnsigned(v.value, w) } };
    case 'lpm':
      return { field_id: id, lpm: { value: encodeUnsigned(v.value, w), prefix_len: v.prefixLen } };
    case 'ternary':
      return {
        field_id: id,
        ternary: { value: encodeUnsigned(v.value, w), mask: encodeUnsigned(v.mask, w) },
      };
    case 'range':
      return { field_id: id, range: { low: encodeUnsigned(v.low, w), high: encodeUnsigned(v.high, w) } };
  }
}

function missingExact(plan: TablePlan, f: FieldPlan): never {
  fail(
    'MISSING_EXACT_MATCH',
    `table '${plan.info.name}': exact match field '${f.name}' must be given (exact fields have no don't-care, P4Runtime §9.1.1)`,
  );
}

function counterData(v: CounterValue): CounterData {
  const data: CounterData = {};
  if (v.bytes !== 0n) data.byte_count = v.bytes.toString();
  if (v.packets !== 0n) data.packet_count = v.packets.toString();
  return data;
}

/** Packet and byte counts from a CounterData (absent fields are zero). */
export function fromCounterData(data: CounterData | null | undefined): CounterValue {
  return { packets: toBigInt64(data?.packet_count), bytes: toBigInt64(data?.byte_count) };
}

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

/**
 * A 64-bit field as a bigint, whichever form the decoder produced: decimal string (proto.ts
 * convention), number, or a protobufjs Long.
 */
export function toBigInt64(v: string | number | LongLike | null | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string') return v === '' ? 0n : BigInt(v);
  if (typeof v === 'number') return BigInt(v);
  const value = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? value : BigInt.asIntN(64, value);
}

const codecs = new WeakMap<P4InfoIndex, EntityCodec>();

/** The codec for a P4Info, created once and cached for the index's lifetime. */
export function codecFor(p4info: P4InfoIndex): EntityCodec {
  let codec = codecs.get(p4info);
  if (!codec) {
    codec = new EntityCodec(p4info);
    codecs.set(p4info, codec);
  }
  return codec;
}

/** p4.v1.TableEntry for an EntrySpec (see EntityCodec.toTableEntry). */
export function toTableEntry(spec: EntrySpec, p4info: P4InfoIndex): TableEntry {
  return codecFor(p4info).toTableEntry(spec);
}

/** EntrySpec for a p4.v1.TableEntry (see EntityCodec.fromTableEntry). */
export function fromTableEntry(entry: TableEntry, p4info: P4InfoIndex): EntrySpec {
  return codecFor(p4info).fromTableEntry(entry);
}

export function toMeterEntry(spec: MeterConfigSpec, p4info: P4InfoIndex): MeterEntry {
  return codecFor(p4info).toMeterEntry(spec);
}

export function fromMeterEntry(entry: MeterEntry, p4info: P4InfoIndex): MeterReading {
  return codecFor(p4info).fromMeterEntry(entry);
}

export function toRegisterEntry(spec: RegisterCellSpec, p4info: P4InfoIndex): RegisterEntry {
  return codecFor(p4info).toRegisterEntry(spec);
}

export function fromRegisterEntry(entry: RegisterEntry, p4info: P4InfoIndex): RegisterCellSpec {
  return codecFor(p4info).fromRegisterEntry(entry);
}

export function toCounterEntry(
  counter: string,
  index: number,
  p4info: P4InfoIndex,
  data?: CounterValue,
): CounterEntry {
  return codecFor(p4info).toCounterEntry(counter, index, data);
}

export function fromCounterEntry(entry: CounterEntry, p4info: P4InfoIndex): CounterCell {
  return codecFor(p4info).fromCounterEntry(entry);
}
