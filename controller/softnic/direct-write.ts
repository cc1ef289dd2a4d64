// Writes contract-named entries, meter configurations and register cells straight into a
// PipelineState, bypassing P4Runtime: the way tests and benchmarks of the packet model set up a
// device without a server or a policy compiler in the loop. Names resolve through the P4Info, as
// the server would resolve ids; values are not re-validated beyond that.

import type { EntrySpec, FieldValue, MeterConfigSpec, RegisterCellSpec } from '../pipeline/entries';
import type { NormalizedFieldMatch } from '../p4runtime/values';
import { entryKey, SoftnicStateError, type PipelineState, type StoredEntry } from './state';

function normalize(fieldId: number, v: FieldValue): NormalizedFieldMatch {
  switch (v.kind) {
    case 'exact':
      return { kind: 'EXACT', fieldId, value: v.value };
    case 'optional':
      return { kind: 'OPTIONAL', fieldId, value: v.value };
    case 'lpm':
      return { kind: 'LPM', fieldId, value: v.value, prefixLen: v.prefixLen };
    case 'ternary':
      return { kind: 'TERNARY', fieldId, value: v.value, mask: v.mask };
    case 'range':
      return { kind: 'RANGE', fieldId, value: v.low, high: v.high };
  }
}

function matchesOf(
  state: PipelineState,
  spec: Pick<EntrySpec, 'table' | 'match'>,
): Map<number, NormalizedFieldMatch> {
  const info = state.table(spec.table).info;
  const matches = new Map<number, NormalizedFieldMatch>();
  for (const [name, value] of Object.entries(spec.match)) {
    const field = info.matchFieldsByName.get(name);
    if (field === undefined) {
      throw new SoftnicStateError('UNKNOWN_OBJECT', `table ${spec.table} has no match field ${name}`);
    }
    matches.set(field.id, normalize(field.id, value));
  }
  return matches;
}

/** Inserts `spec` into its table and returns the stored entry. */
export function writeEntry(state: PipelineState, spec: EntrySpec): StoredEntry {
  const table = state.table(spec.table);
  const action = state.p4info.action(spec.action);
  const matches = matchesOf(state, spec);
  const params = new Map<number, bigint>();
  for (const p of action.params) params.set(p.id, spec.params[p.name] ?? 0n);
  return table.insert({
    matches,
    priority: spec.priority ?? 0,
    actionId: action.id,
    params,
    metadata: Buffer.from(spec.metadata ?? []),
  });
}

/** Deletes the entry with the same match and priority as `spec`; true when there was one. */
export function deleteEntry(
  state: PipelineState,
  spec: Pick<EntrySpec, 'table' | 'match' | 'priority'>,
): boolean {
  const table = state.table(spec.table);
  return table.delete(entryKey(table.info, matchesOf(state, spec), spec.priority ?? 0)) !== undefined;
}

export function writeMeter(state: PipelineState, spec: MeterConfigSpec): void {
  const cell = state.meter(spec.meter)[spec.index];
  cell.config = { cir: spec.cir, cburst: spec.cburst, pir: spec.pir, pburst: spec.pburst, eburst: 0n };
  cell.model = undefined;
}

export function writeRegister(state: PipelineState, spec: RegisterCellSpec): void {
  state.register(spec.register)[spec.index] = spec.value;
}
