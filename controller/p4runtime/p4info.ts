// The P4Info model: an index over a compiled program's control-plane schema
// (P4Runtime §6), so that names and ids can be resolved and values sized.
//
// P4Info arrives in three shapes, all reduced to the snake_case message object of
// proto.ts before indexing:
//   - JSON as p4c writes it (protobuf JSON mapping: lowerCamelCase keys, 64-bit
//     numbers as strings, enums by name, bytes as base64); original snake_case
//     keys are accepted too, as the JSON mapping requires of parsers;
//   - binary protobuf (what SetForwardingPipelineConfig carries);
//   - an already decoded message object (e.g. from a gRPC request).

import * as protobuf from 'protobufjs';
import {
  decodeMessage,
  messageType,
  OBJECT_OPTIONS,
  P4DataTypeSpec,
  P4Info,
  P4InfoActionRefScope,
  P4InfoCounterUnit,
  P4InfoMeterSpec,
  P4InfoPreamble,
  P4TypeInfo,
} from './proto';
import type { MatchFieldSpec, ValueSpec } from './values';

export type P4InfoErrorCode =
  | 'BAD_P4INFO'
  | 'UNKNOWN_TABLE'
  | 'UNKNOWN_ACTION'
  | 'UNKNOWN_ACTION_PROFILE'
  | 'UNKNOWN_COUNTER'
  | 'UNKNOWN_DIRECT_COUNTER'
  | 'UNKNOWN_METER'
  | 'UNKNOWN_DIRECT_METER'
  | 'UNKNOWN_REGISTER'
  | 'UNKNOWN_DIGEST'
  | 'UNKNOWN_PACKET_METADATA'
  | 'UNKNOWN_MATCH_FIELD'
  | 'UNKNOWN_PARAM'
  | 'UNKNOWN_METADATA_FIELD'
  | 'ACTION_NOT_IN_TABLE'
  | 'AMBIGUOUS_NAME'
  | 'UNKNOWN_TYPE';

export class P4InfoError extends Error {
  override readonly name = 'P4InfoError';
  constructor(
    readonly code: P4InfoErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- model

/** Match kinds as P4Info names them; OTHER stands for an architecture-specific kind. */
export type MatchType = 'EXACT' | 'LPM' | 'TERNARY' | 'RANGE' | 'OPTIONAL' | 'OTHER' | 'UNSPECIFIED';

export interface Named {
  id: number;
  /** Fully qualified, e.g. "NicguardIngress.acl_v4". */
  name: string;
  /** As given by the compiler: the shortest unambiguous suffix of `name`. */
  alias: string;
  annotations: readonly string[];
}

export interface MatchFieldInfo extends MatchFieldSpec {
  matchType: MatchType;
  /** Set when matchType is OTHER. */
  otherMatchType?: string;
  annotations: readonly string[];
}

export interface ActionRefInfo {
  id: number;
  scope: P4InfoActionRefScope;
}

export interface TableInfo extends Named {
  matchFields: readonly MatchFieldInfo[];
  matchFieldsById: ReadonlyMap<number, MatchFieldInfo>;
  matchFieldsByName: ReadonlyMap<string, MatchFieldInfo>;
  actionRefs: readonly ActionRefInfo[];
  actionRefsById: ReadonlyMap<number, ActionRefInfo>;
  /** Zero when the default action may be changed. */
  constDefaultActionId: number;
  /** Action profile id for indirect tables, zero for direct ones. */
  implementationId: number;
  directResourceIds: readonly number[];
  size: number;
  idleTimeoutBehavior: 'NO_TIMEOUT' | 'NOTIFY_CONTROL';
  isConstTable: boolean;
  hasInitialEntries: boolean;
}

export interface ActionParamInfo extends ValueSpec {
  id: number;
  annotations: readonly string[];
}

export interface ActionInfo extends Named {
  params: readonly ActionParamInfo[];
  paramsById: ReadonlyMap<number, ActionParamInfo>;
  paramsByName: ReadonlyMap<string, ActionParamInfo>;
}

export interface ActionProfileInfo extends Named {
  tableIds: readonly number[];
  withSelector: boolean;
  size: number;
  maxGroupSize: number;
}

export interface CounterInfo extends Named {
  unit: P4InfoCounterUnit;
  size: number;
}

export interface DirectCounterInfo extends Named {
  unit: P4InfoCounterUnit;
  directTableId: number;
}

export interface MeterInfo extends Named {
  unit: NonNullable<P4InfoMeterSpec['unit']>;
  type: NonNullable<P4InfoMeterSpec['type']>;
  size: number;
}

export interface DirectMeterInfo extends Named {
  unit: NonNullable<P4InfoMeterSpec['unit']>;
  type: NonNullable<P4InfoMeterSpec['type']>;
  directTableId: number;
}

/** A P4DataTypeSpec with named types looked up in type_info. */
export type ResolvedType =
  | { kind: 'bit'; bitwidth: number }
  | { kind: 'int'; bitwidth: number }
  | { kind: 'varbit'; maxBitwidth: number }
  | { kind: 'bool' }
  | { kind: 'struct'; name: string; members: readonly ResolvedMember[] }
  | { kind: 'header'; name: string; members: readonly ResolvedMember[] }
  | { kind: 'tuple'; members: readonly ResolvedType[] }
  | { kind: 'serializable_enum'; name: string; bitwidth: number }
  | { kind: 'enum'; name: string }
  | { kind: 'error' }
  // Header unions, stacks and new types: carried, not interpreted.
  | { kind: 'other'; spec: P4DataTypeSpec };

export interface ResolvedMember {
  name: string;
  type: ResolvedType;
}

export interface RegisterInfo extends Named {
  size: number;
  type: ResolvedType;
}

export interface DigestInfo extends Named {
  type: ResolvedType;
}

export interface PacketMetadataFieldInfo extends ValueSpec {
  id: number;
}

/** ControllerPacketMetadata: the "packet_in" / "packet_out" headers (P4Runtime §6.4.6). */
export interface PacketMetadataInfo extends Named {
  metadata: readonly PacketMetadataFieldInfo[];
  metadataById: ReadonlyMap<number, PacketMetadataFieldInfo>;
  metadataByName: ReadonlyMap<string, PacketMetadataFieldInfo>;
}

/**
 * True when entries of the table need a priority: the table has a ternary, range or
 * optional field (P4Runtime §9.1). Such tables need priority > 0 on writes; others
 * need it to be zero.
 */
export function requiresPriority(table: Pick<TableInfo, 'matchFields'>): boolean {
  return table.matchFields.some(
    (f) => f.matchType === 'TERNARY' || f.matchType === 'RANGE' || f.matchType === 'OPTIONAL',
  );
}

// ---------------------------------------------------------------- lookups

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function isClose(asked: string, candidate: string): boolean {
  const a = asked.toLowerCase();
  const c = candidate.toLowerCase();
  return c.includes(a) || a.includes(c) || editDistance(a, c) <= Math.max(2, Math.floor(asked.length / 4));
}

/**
 * " Did you mean ...?" for near misses, or the full list when it is short. Each
 * candidate is shown by its first key and matched on any of its keys.
 */
function hint(asked: string, known: readonly (readonly string[])[]): string {
  const close = known
    .filter((keys) => keys.some((k) => k !== '' && isClose(asked, k)))
    .map((keys) => keys[0]);
  if (close.length > 0)
    return `; did you mean ${close
      .slice(0, 5)
      .map((k) => `'${k}'`)
      .join(' or ')}?`;
  if (known.length === 0) return '; there are none';
  if (known.length <= 8) return `; known: ${known.map((keys) => `'${keys[0]}'`).join(', ')}`;
  return '';
}

function hex(id: number): string {
  return '0x' + id.toString(16).padStart(8, '0');
}

const AMBIGUOUS = Symbol('ambiguous');

/** The objects of one kind, found by id, full name or alias. */
export class P4EntitySet<T extends Named> {
  private readonly byId = new Map<number, T>();
  private readonly byName = new Map<string, T | typeof AMBIGUOUS>();

  constructor(
    readonly kind: string,
    private readonly code: P4InfoErrorCode,
    readonly all: readonly T[],
  ) {
    for (const item of all) {
      if (this.byId.has(item.id)) {
        throw new P4InfoError('BAD_P4INFO', `P4Info has two ${kind}s with id ${hex(item.id)}`);
      }
      this.byId.set(item.id, item);
      this.byName.set(item.name, item);
    }
    // Aliases and last name segments never shadow a full name; a short name shared
    // by two objects resolves to neither.
    for (const item of all) {
      const last = item.name.slice(item.name.lastIndexOf('.') + 1);
      for (const short of new Set([item.alias, last])) {
        if (!short || short === item.name) continue;
        const existing = this.byName.get(short);
        if (existing === undefined) this.byName.set(short, item);
        else if (existing !== item && existing !== AMBIGUOUS && existing.name !== short)
          this.byName.set(short, AMBIGUOUS);
      }
    }
  }

  /** The object, or undefined; ambiguous short names also give undefined. */
  find(ref: number | string): T | undefined {
    const found = typeof ref === 'number' ? this.byId.get(ref) : this.byName.get(ref);
    return found === AMBIGUOUS ? undefined : found;
  }

  /** The object, or a P4InfoError naming what was asked and what exists. */
  get(ref: number | string): T {
    if (typeof ref === 'number') {
      const found = this.byId.get(ref);
      if (found) return found;
      throw new P4InfoError(this.code, `unknown ${this.kind} id ${ref} (${hex(ref)})`);
    }
    const found = this.byName.get(ref);
    if (found === AMBIGUOUS) {
      const candidates = this.all
        .filter((t) => t.alias === ref || t.name.endsWith('.' + ref))
        .map((t) => `'${t.name}'`);
      throw new P4InfoError(
        'AMBIGUOUS_NAME',
        `${this.kind} name '${ref}' is ambiguous: ${candidates.join(', ')}`,
      );
    }
    if (found) return found;
    throw new P4InfoError(
      this.code,
      `unknown ${this.kind} '${ref}'${hint(
        ref,
        this.all.map((t) => [t.name, t.alias, t.name.slice(t.name.lastIndexOf('.') + 1)]),
      )}`,
    );
  }

  has(ref: number | string): boolean {
    return this.find(ref) !== undefined;
  }
}

function member<T extends { id: number; name: string }>(
  byId: ReadonlyMap<number, T>,
  byName: ReadonlyMap<string, T>,
  ref: number | string,
  code: P4InfoErrorCode,
  what: string,
): T {
  const found = typeof ref === 'number' ? byId.get(ref) : byName.get(ref);
  if (found) return found;
  if (typeof ref === 'string') {
    throw new P4InfoError(
      code,
      `${what} has no '${ref}'${hint(
        ref,
        [...byName.keys()].map((n) => [n]),
      )}`,
    );
  }
  // Members are few and their ids small, so listing them all is the useful answer.
  const known = [...byId.values()].map((m) => `${m.id} '${m.name}'`).join(', ');
  throw new P4InfoError(code, `${what} has no id ${ref}; known: ${known || 'none'}`);
}

// ---------------------------------------------------------------- index

export class P4InfoIndex {
  readonly tables: P4EntitySet<TableInfo>;
  readonly actions: P4EntitySet<ActionInfo>;
  readonly actionProfiles: P4EntitySet<ActionProfileInfo>;
  readonly counters: P4EntitySet<CounterInfo>;
  readonly directCounters: P4EntitySet<DirectCounterInfo>;
  readonly meters: P4EntitySet<MeterInfo>;
  readonly directMeters: P4EntitySet<DirectMeterInfo>;
  readonly registers: P4EntitySet<RegisterInfo>;
  readonly digests: P4EntitySet<DigestInfo>;
  readonly packetMetadata: P4EntitySet<PacketMetadataInfo>;

  private constructor(readonly message: P4Info) {
    const types = message.type_info ?? {};
    this.actions = new P4EntitySet(
      'action',
      'UNKNOWN_ACTION',
      (message.actions ?? []).map((a) => {
        const base = named(a.preamble, 'action');
        const params = (a.params ?? []).map((p) => ({
          id: p.id ?? 0,
          name: p.name ?? '',
          bitwidth: p.bitwidth ?? 0,
          annotations: p.annotations ?? [],
        }));
        const maps = byIdAndName(params, `action '${base.name}' param`);
        return { ...base, params, paramsById: maps.byId, paramsByName: maps.byName };
      }),
    );
    this.tables = new P4EntitySet(
      'table',
      'UNKNOWN_TABLE',
      (message.tables ?? []).map((t) => {
        const base = named(t.preamble, 'table');
        const matchFields = (t.match_fields ?? []).map((f): MatchFieldInfo => {
          const matchType: MatchType =
            f.other_match_type !== undefined ? 'OTHER' : (f.match_type ?? 'UNSPECIFIED');
          const info: MatchFieldInfo = {
            id: f.id ?? 0,
            name: f.name ?? '',
            bitwidth: f.bitwidth ?? 0,
            matchType,
            annotations: f.annotations ?? [],
          };
          if (f.other_match_type !== undefined) info.otherMatchType = f.other_match_type;
          return info;
        });
        const fields = byIdAndName(matchFields, `table '${base.name}' match field`);
        const actionRefs = (t.action_refs ?? []).map((r) => ({
          id: r.id ?? 0,
          scope: r.scope ?? 'TABLE_AND_DEFAULT',
        }));
        return {
          ...base,
          matchFields,
          matchFieldsById: fields.byId,
          matchFieldsByName: fields.byName,
          actionRefs,
          actionRefsById: new Map(actionRefs.map((r) => [r.id, r])),
          constDefaultActionId: t.const_default_action_id ?? 0,
          implementationId: t.implementation_id ?? 0,
          directResourceIds: t.direct_resource_ids ?? [],
          size: toSize(t.size),
          idleTimeoutBehavior: t.idle_timeout_behavior ?? 'NO_TIMEOUT',
          isConstTable: t.is_const_table ?? false,
          hasInitialEntries: t.has_initial_entries ?? false,
        };
      }),
    );
    this.actionProfiles = new P4EntitySet(
      'action profile',
      'UNKNOWN_ACTION_PROFILE',
      (message.action_profiles ?? []).map((p) => ({
        ...named(p.preamble, 'action profile'),
        tableIds: p.table_ids ?? [],
        withSelector: p.with_selector ?? false,
        size: toSize(p.size),
        maxGroupSize: p.max_group_size ?? 0,
      })),
    );
    this.counters = new P4EntitySet(
      'counter',
      'UNKNOWN_COUNTER',
      (message.counters ?? []).map((c) => ({
        ...named(c.preamble, 'counter'),
        unit: c.spec?.unit ?? 'UNSPECIFIED',
        size: toSize(c.size),
      })),
    );
    this.directCounters = new P4EntitySet(
      'direct counter',
      'UNKNOWN_DIRECT_COUNTER',
      (message.direct_counters ?? []).map((c) => ({
        ...named(c.preamble, 'direct counter'),
        unit: c.spec?.unit ?? 'UNSPECIFIED',
        directTableId: c.direct_table_id ?? 0,
      })),
    );
    this.meters = new P4EntitySet(
      'meter',
      'UNKNOWN_METER',
      (message.meters ?? []).map((m) => ({
        ...named(m.preamble, 'meter'),
        unit: m.spec?.unit ?? 'UNSPECIFIED',
        type: m.spec?.type ?? 'TWO_RATE_THREE_COLOR',
        size: toSize(m.size),
      })),
    );
    this.directMeters = new P4EntitySet(
      'direct meter',
      'UNKNOWN_DIRECT_METER',
      (message.direct_meters ?? []).map((m) => ({
        ...named(m.preamble, 'direct meter'),
        unit: m.spec?.unit ?? 'UNSPECIFIED',
        type: m.spec?.type ?? 'TWO_RATE_THREE_COLOR',
        directTableId: m.direct_table_id ?? 0,
      })),
    );
    this.registers = new P4EntitySet(
      'register',
      'UNKNOWN_REGISTER',
      (message.registers ?? []).map((r) => {
        const base = named(r.preamble, 'register');
        return {
          ...base,
          size: r.size ?? 0,
          type: resolveType(r.type_spec, types, `register '${base.name}'`),
        };
      }),
    );
    this.digests = new P4EntitySet(
      'digest',
      'UNKNOWN_DIGEST',
      (message.digests ?? []).map((d) => {
        const base = named(d.preamble, 'digest');
        return { ...base, type: resolveType(d.type_spec, types, `digest '${base.name}'`) };
      }),
    );
    this.packetMetadata = new P4EntitySet(
      'controller packet metadata',
      'UNKNOWN_PACKET_METADATA',
      (message.controller_packet_metadata ?? []).map((c) => {
        const base = named(c.preamble, 'controller packet metadata');
        const metadata = (c.metadata ?? []).map((m) => ({
          id: m.id ?? 0,
          name: m.name ?? '',
          bitwidth: m.bitwidth ?? 0,
        }));
        const maps = byIdAndName(metadata, `controller packet metadata '${base.name}' field`);
        return { ...base, metadata, metadataById: maps.byId, metadataByName: maps.byName };
      }),
    );
    this.checkReferences();
  }

  /** Index a decoded P4Info message object (snake_case, as in proto.ts). */
  static fromMessage(message: P4Info): P4InfoIndex {
    return new P4InfoIndex(message);
  }

  /** Index binary protobuf P4Info. */
  static fromBinary(bytes: Uint8Array): P4InfoIndex {
    let message: P4Info;
    try {
      message = decodeMessage('p4.config.v1.P4Info', bytes);
    } catch (err) {
      throw new P4InfoError('BAD_P4INFO', `P4Info is not valid binary protobuf: ${(err as Error).message}`);
    }
    return new P4InfoIndex(message);
  }

  /** Index P4Info in protobuf JSON form, as text or already parsed. */
  static fromJson(json: string | object): P4InfoIndex {
    let parsed: unknown = json;
    if (typeof json === 'string') {
      try {
        parsed = JSON.parse(json);
      } catch (err) {
        throw new P4InfoError('BAD_P4INFO', `P4Info is not valid JSON: ${(err as Error).message}`);
      }
    }
    const type = messageType('p4.config.v1.P4Info');
    const normalized = fromJsonMapping(type, parsed, 'P4Info');
    const message = type.toObject(type.fromObject(normalized), OBJECT_OPTIONS) as P4Info;
    return new P4InfoIndex(message);
  }

  table(ref: number | string): TableInfo {
    return this.tables.get(ref);
  }

  action(ref: number | string): ActionInfo {
    return this.actions.get(ref);
  }

  matchField(table: TableInfo | number | string, field: number | string): MatchFieldInfo {
    const t = typeof table === 'object' ? table : this.tables.get(table);
    return member(t.matchFieldsById, t.matchFieldsByName, field, 'UNKNOWN_MATCH_FIELD', `table '${t.name}'`);
  }

  actionParam(action: ActionInfo | number | string, param: number | string): ActionParamInfo {
    const a = typeof action === 'object' ? action : this.actions.get(action);
    return member(a.paramsById, a.paramsByName, param, 'UNKNOWN_PARAM', `action '${a.name}'`);
  }

  packetMetadataField(
    header: 'packet_in' | 'packet_out' | (string & {}),
    field: number | string,
  ): PacketMetadataFieldInfo {
    const h = this.packetMetadata.get(header);
    return member(
      h.metadataById,
      h.metadataByName,
      field,
      'UNKNOWN_METADATA_FIELD',
      `controller packet metadata '${h.name}'`,
    );
  }

  /** The table's reference to an action, which carries its scope (P4Runtime §6.4.1). */
  actionRef(table: TableInfo | number | string, action: number | string): ActionRefInfo {
    const t = typeof table === 'object' ? table : this.tables.get(table);
    const a = this.actions.get(action);
    const ref = t.actionRefsById.get(a.id);
    if (ref) return ref;
    const allowed = t.actionRefs.map((r) => `'${this.actions.find(r.id)?.name ?? r.id}'`).join(', ');
    throw new P4InfoError(
      'ACTION_NOT_IN_TABLE',
      `action '${a.name}' is not an action of table '${t.name}'; allowed: ${allowed}`,
    );
  }

  // Catch inconsistent P4Info at load time rather than on the first write that trips over it.
  private checkReferences(): void {
    for (const t of this.tables.all) {
      for (const r of t.actionRefs) {
        if (!this.actions.has(r.id))
          throw new P4InfoError('BAD_P4INFO', `table '${t.name}' refers to unknown action id ${hex(r.id)}`);
      }
      if (t.constDefaultActionId !== 0 && !t.actionRefsById.has(t.constDefaultActionId)) {
        throw new P4InfoError(
          'BAD_P4INFO',
          `table '${t.name}' has a const default action ${hex(t.constDefaultActionId)} that is not among its actions`,
        );
      }
      for (const id of t.directResourceIds) {
        if (!this.directCounters.has(id) && !this.directMeters.has(id)) {
          throw new P4InfoError(
            'BAD_P4INFO',
            `table '${t.name}' refers to unknown direct resource id ${hex(id)}`,
          );
        }
      }
      for (const f of t.matchFields) {
        if (f.matchType !== 'OTHER' && f.bitwidth <= 0) {
          throw new P4InfoError('BAD_P4INFO', `table '${t.name}' match field '${f.name}' has no bitwidth`);
        }
      }
    }
    for (const c of [...this.directCounters.all, ...this.directMeters.all]) {
      if (!this.tables.has(c.directTableId)) {
        throw new P4InfoError(
          'BAD_P4INFO',
          `'${c.name}' is attached to unknown table id ${hex(c.directTableId)}`,
        );
      }
    }
  }
}

/** Index P4Info from a Buffer (binary protobuf), JSON text, or a JSON / message object. */
export function loadP4Info(input: Uint8Array | string | object): P4InfoIndex {
  if (input instanceof Uint8Array) return P4InfoIndex.fromBinary(input);
  return P4InfoIndex.fromJson(input);
}

// ---------------------------------------------------------------- building helpers

function named(preamble: P4InfoPreamble | undefined, kind: string): Named {
  const id = preamble?.id ?? 0;
  const name = preamble?.name ?? '';
  if (id === 0 || name === '') {
    // Id 0 is reserved as invalid (P4Runtime §6.3).
    throw new P4InfoError(
      'BAD_P4INFO',
      `P4Info has a ${kind} without a valid preamble id and name (${name || 'no name'}, id ${id})`,
    );
  }
  return { id, name, alias: preamble?.alias || name, annotations: preamble?.annotations ?? [] };
}

function byIdAndName<T extends { id: number; name: string }>(items: T[], what: string) {
  const byId = new Map<number, T>();
  const byName = new Map<string, T>();
  for (const item of items) {
    if (byId.has(item.id)) throw new P4InfoError('BAD_P4INFO', `${what} id ${item.id} appears twice`);
    byId.set(item.id, item);
    byName.set(item.name, item);
  }
  return { byId, byName };
}

function toSize(size: string | number | undefined): number {
  return size === undefined ? 0 : Number(size);
}

function resolveType(spec: P4DataTypeSpec | undefined, types: P4TypeInfo, where: string): ResolvedType {
  if (!spec || !spec.type_spec) throw new P4InfoError('BAD_P4INFO', `${where} has no type_spec`);
  const lookup = <V>(table: Record<string, V> | undefined, name: string | undefined, what: string): V => {
    const found = name !== undefined ? table?.[name] : undefined;
    if (found === undefined) {
      throw new P4InfoError(
        'UNKNOWN_TYPE',
        `${where} uses ${what} '${name ?? ''}', which type_info does not define`,
      );
    }
    return found;
  };
  switch (spec.type_spec) {
    case 'bitstring': {
      const b = spec.bitstring ?? {};
      if (b.bit) return { kind: 'bit', bitwidth: b.bit.bitwidth ?? 0 };
      if (b.int) return { kind: 'int', bitwidth: b.int.bitwidth ?? 0 };
      return { kind: 'varbit', maxBitwidth: b.varbit?.max_bitwidth ?? 0 };
    }
    case 'bool':
      return { kind: 'bool' };
    case 'error':
      return { kind: 'error' };
    case 'tuple':
      return { kind: 'tuple', members: (spec.tuple?.members ?? []).map((m) => resolveType(m, types, where)) };
    case 'struct': {
      const name = spec.struct?.name ?? '';
      const s = lookup(types.structs, name, 'struct');
      const members = (s.members ?? []).map((m) => ({
        name: m.name ?? '',
        type: resolveType(m.type_spec, types, `${where} member '${m.name}'`),
      }));
      return { kind: 'struct', name, members };
    }
    case 'header': {
      const name = spec.header?.name ?? '';
      const h = lookup(types.headers, name, 'header');
      const members = (h.members ?? []).map((m) => ({
        name: m.name ?? '',
        type: resolveType(
          { type_spec: 'bitstring', bitstring: m.type_spec },
          types,
          `${where} member '${m.name}'`,
        ),
      }));
      return { kind: 'header', name, members };
    }
    case 'enum': {
      const name = spec.enum?.name ?? '';
      lookup(types.enums, name, 'enum');
      return { kind: 'enum', name };
    }
    case 'serializable_enum': {
      const name = spec.serializable_enum?.name ?? '';
      const e = lookup(types.serializable_enums, name, 'serializable enum');
      return { kind: 'serializable_enum', name, bitwidth: e.underlying_type?.bitwidth ?? 0 };
    }
    default:
      return { kind: 'other', spec };
  }
}

// ---------------------------------------------------------------- JSON mapping

const jsonNames = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

function fieldsByJsonName(type: protobuf.Type): Map<string, protobuf.Field> {
  let map = jsonNames.get(type);
  if (!map) {
    map = new Map();
    for (const field of type.fieldsArray) {
      map.set(field.name, field);
      // The JSON mapping's default name: lowerCamelCase of the proto field name.
      map.set(
        field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
        field,
      );
    }
    jsonNames.set(type, map);
  }
  return map;
}

/**
 * Rewrites protobuf-JSON keys to the proto field names, guided by the schema so that
 * map keys (struct names in type_info, for instance) are left untouched. Scalar
 * conversion (string int64s, enum names, base64 bytes) is left to fromObject.
 */
function fromJsonMapping(type: protobuf.Type, json: unknown, where: string): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new P4InfoError('BAD_P4INFO', `${where}: expected a JSON object`);
  }
  const fields = fieldsByJsonName(type);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key);
    // Unknown keys come from newer schema versions; skipping them is what lets
    // an older controller read a newer compiler's output.
    if (!field || value === null) continue;
    field.resolve();
    const sub = field.resolvedType;
    if (!(sub instanceof protobuf.Type) || sub.fullName === '.google.protobuf.Any') {
      out[field.name] = value;
    } else if (field.map) {
      const entries = Object.entries(value as Record<string, unknown>);
      out[field.name] = Object.fromEntries(
        entries.map(([k, v]) => [k, fromJsonMapping(sub, v, `${where}.${key}["${k}"]`)]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(value))
        throw new P4InfoError('BAD_P4INFO', `${where}.${key}: expected a JSON array`);
      out[field.name] = value.map((v, i) => fromJsonMapping(sub, v, `${where}.${key}[${i}]`));
    } else {
      out[field.name] = fromJsonMapping(sub, value, `${where}.${key}`);
    }
  }
  return out;
}
