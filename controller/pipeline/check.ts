// Checks that a compiled program's P4Info carries the table contract: every table, key, action,
// parameter, extern and digest the controller relies on, with the same widths and sizes. A
// program and a controller that disagree would write entries the device misreads, so the check
// runs when a pipeline is loaded and every mismatch is reported at once.
//
// A target profile without registers or digests (bluefield-dpl: the DPL program keeps quotas and
// denial reports in the controller) runs a program that has none; for such a profile their absence
// is expected. Whatever such a program does declare is still checked.

import { P4InfoIndex } from '../p4runtime/p4info';
import type { TargetProfile } from './profiles';
import {
  ACTIONS,
  COUNTERS,
  DIGESTS,
  METERS,
  PACKET_METADATA,
  REGISTERS,
  TABLES,
  type ActionContract,
  type ParamContract,
  type TableContract,
} from './contract';

export class ContractError extends Error {
  override readonly name = 'ContractError';
  readonly code = 'CONTRACT_MISMATCH';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} does not match the nicguard table contract:\n  - ${problems.join('\n  - ')}`);
  }
}

/** What of the profile matters to the contract; every feature is expected when no profile is given. */
export type ContractProfile = Pick<TargetProfile, 'registers' | 'digests'>;

/** Every way in which `p4info` departs from the contract for `profile`; empty when it conforms. */
export function contractProblems(p4info: P4InfoIndex, profile?: ContractProfile): string[] {
  const registersExpected = profile?.registers ?? true;
  const digestsExpected = profile?.digests ?? true;
  const problems: string[] = [];
  for (const table of Object.values(TABLES)) checkTable(p4info, table, problems);
  for (const action of Object.values(ACTIONS)) checkAction(p4info, action, problems);
  for (const counter of Object.values(COUNTERS)) {
    const found = p4info.counters.find(counter.name);
    if (!found) problems.push(`counter ${counter.name} is missing`);
    else {
      if (found.size !== counter.size) {
        problems.push(`counter ${counter.name} has size ${found.size}, expected ${counter.size}`);
      }
      if (found.unit !== 'BOTH') problems.push(`counter ${counter.name} counts ${found.unit}, expected BOTH`);
    }
  }
  for (const register of Object.values(REGISTERS)) {
    const found = p4info.registers.find(register.name);
    if (!found) {
      if (registersExpected) problems.push(`register ${register.name} is missing`);
    } else {
      if (found.size !== register.size) {
        problems.push(`register ${register.name} has size ${found.size}, expected ${register.size}`);
      }
      const width = found.type.kind === 'bit' ? found.type.bitwidth : undefined;
      if (width !== register.bitwidth) {
        problems.push(
          `register ${register.name} holds ${describeType(found.type)}, expected bit<${register.bitwidth}>`,
        );
      }
    }
  }
  for (const meter of Object.values(METERS)) {
    const found = p4info.meters.find(meter.name);
    if (!found) problems.push(`meter ${meter.name} is missing`);
    else {
      if (found.size !== meter.size) {
        problems.push(`meter ${meter.name} has size ${found.size}, expected ${meter.size}`);
      }
      if (found.unit !== 'BYTES') problems.push(`meter ${meter.name} measures ${found.unit}, expected BYTES`);
    }
  }
  for (const digest of Object.values(DIGESTS)) {
    const found = p4info.digests.find(digest.name);
    if (!found) {
      if (digestsExpected) problems.push(`digest ${digest.name} is missing`);
    } else if (found.type.kind !== 'struct') problems.push(`digest ${digest.name} is not a struct`);
    else {
      const members = found.type.members.map((m) => ({
        name: m.name,
        bitwidth: m.type.kind === 'bit' ? m.type.bitwidth : -1,
      }));
      checkFields(`digest ${digest.name}`, members, digest.fields, problems);
    }
  }
  for (const header of Object.values(PACKET_METADATA)) {
    const found = p4info.packetMetadata.find(header.name);
    if (!found) problems.push(`controller header ${header.name} is missing`);
    else checkFields(`controller header ${header.name}`, found.metadata, header.fields, problems);
  }
  return problems;
}

/**
 * Throws a ContractError listing every mismatch; `source` names the P4Info in the message, `profile`
 * the target it is meant for (registers and digests are required unless it lacks them).
 */
export function checkContract(p4info: P4InfoIndex, source = 'the P4Info', profile?: ContractProfile): void {
  const problems = contractProblems(p4info, profile);
  if (problems.length > 0) throw new ContractError(source, problems);
}

function checkTable(p4info: P4InfoIndex, want: TableContract, problems: string[]): void {
  const table = p4info.tables.find(want.name);
  if (!table) {
    problems.push(`table ${want.name} is missing`);
    return;
  }
  if (table.size !== want.size)
    problems.push(`table ${want.name} has size ${table.size}, expected ${want.size}`);
  const keys = table.matchFields.map((f) => `${f.name}:${f.matchType}/${f.bitwidth}`);
  const expected = want.keys.map((k) => `${k.name}:${k.kind}/${k.bitwidth}`);
  if (keys.join(',') !== expected.join(',')) {
    problems.push(`table ${want.name} has keys (${keys.join(', ')}), expected (${expected.join(', ')})`);
  }
  const refs = new Set(table.actionRefs.map((r) => p4info.actions.find(r.id)?.name));
  for (const action of want.actions) {
    if (!refs.has(action)) problems.push(`table ${want.name} does not offer action ${action}`);
  }
  const defaultName = p4info.actions.find(table.constDefaultActionId)?.name;
  if (defaultName !== want.defaultAction) {
    problems.push(
      `table ${want.name} has default action ${defaultName ?? 'none'}, expected ${want.defaultAction}`,
    );
  }
  if (want.directCounter) {
    const counter = p4info.directCounters.find(want.directCounter);
    if (!counter || counter.directTableId !== table.id) {
      problems.push(`table ${want.name} lacks direct counter ${want.directCounter}`);
    }
  }
}

function checkAction(p4info: P4InfoIndex, want: ActionContract, problems: string[]): void {
  const action = p4info.actions.find(want.name);
  if (!action) problems.push(`action ${want.name} is missing`);
  else checkFields(`action ${want.name}`, action.params, want.params, problems);
}

function checkFields(
  what: string,
  found: readonly { name: string; bitwidth: number }[],
  want: readonly ParamContract[],
  problems: string[],
): void {
  const have = found.map((p) => `${p.name}/${p.bitwidth}`).join(', ');
  const expected = want.map((p) => `${p.name}/${p.bitwidth}`).join(', ');
  if (have !== expected) problems.push(`${what} has (${have}), expected (${expected})`);
}

function describeType(type: { kind: string; bitwidth?: number }): string {
  return type.bitwidth === undefined ? type.kind : `${type.kind}<${type.bitwidth}>`;
}
