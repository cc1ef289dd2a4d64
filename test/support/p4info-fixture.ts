// A small hand-written P4Info covering every match kind, direct and indexed resources, a register,
// a struct digest and packet I/O headers: enough to exercise a P4Runtime server independently of
// the nicguard program.

import { P4InfoIndex } from '../../controller/p4runtime/p4info';
import { decodeMessage, encodeMessage, type P4Info } from '../../controller/p4runtime/proto';

export const FIXTURE_IDS = {
  exactTable: 0x02000001,
  ternaryTable: 0x02000002,
  lpmTable: 0x02000003,
  setPort: 0x01000001,
  drop: 0x01000002,
  defaultOnly: 0x01000003,
  noAction: 0x01000004,
  directCounter: 0x13000001,
  directMeter: 0x15000001,
  counter: 0x12000001,
  meter: 0x14000001,
  register: 0x16000001,
  digest: 0x18000001,
  packetIn: 0x04000001,
  packetOut: 0x04000002,
} as const;

/** Size of the exact table, kept small so that tests can fill it. */
export const EXACT_TABLE_SIZE = 4;

const I = FIXTURE_IDS;

export function fixtureP4Info(): P4Info {
  return {
    pkg_info: { arch: 'v1model', name: 'fixture' },
    tables: [
      {
        preamble: { id: I.exactTable, name: 'ing.exact_t', alias: 'exact_t' },
        match_fields: [{ id: 1, name: 'a', bitwidth: 16, match_type: 'EXACT' }],
        action_refs: [{ id: I.setPort }, { id: I.drop }, { id: I.defaultOnly, scope: 'DEFAULT_ONLY' }],
        direct_resource_ids: [I.directCounter, I.directMeter],
        size: String(EXACT_TABLE_SIZE),
      },
      {
        preamble: { id: I.ternaryTable, name: 'ing.tern_t', alias: 'tern_t' },
        match_fields: [
          { id: 1, name: 'k', bitwidth: 8, match_type: 'EXACT' },
          { id: 2, name: 'addr', bitwidth: 32, match_type: 'TERNARY' },
          { id: 3, name: 'dport', bitwidth: 16, match_type: 'RANGE' },
          { id: 4, name: 'opt', bitwidth: 8, match_type: 'OPTIONAL' },
        ],
        action_refs: [{ id: I.setPort }, { id: I.drop }],
        const_default_action_id: I.drop,
        size: '200000',
      },
      {
        preamble: { id: I.lpmTable, name: 'ing.lpm_t', alias: 'lpm_t' },
        match_fields: [{ id: 1, name: 'dst', bitwidth: 32, match_type: 'LPM' }],
        action_refs: [{ id: I.setPort }, { id: I.noAction }],
        size: '16',
      },
    ],
    actions: [
      {
        preamble: { id: I.setPort, name: 'ing.set_port', alias: 'set_port' },
        params: [{ id: 1, name: 'port', bitwidth: 9 }],
      },
      { preamble: { id: I.drop, name: 'ing.drop', alias: 'drop' } },
      {
        preamble: { id: I.defaultOnly, name: 'ing.miss', alias: 'miss' },
        params: [{ id: 1, name: 'code', bitwidth: 8 }],
      },
      { preamble: { id: I.noAction, name: 'NoAction', alias: 'NoAction' } },
    ],
    direct_counters: [
      {
        preamble: { id: I.directCounter, name: 'ing.exact_counter' },
        spec: { unit: 'BOTH' },
        direct_table_id: I.exactTable,
      },
    ],
    direct_meters: [
      {
        preamble: { id: I.directMeter, name: 'ing.exact_meter' },
        spec: { unit: 'BYTES' },
        direct_table_id: I.exactTable,
      },
    ],
    counters: [{ preamble: { id: I.counter, name: 'ing.c' }, spec: { unit: 'BOTH' }, size: '8' }],
    meters: [{ preamble: { id: I.meter, name: 'ing.m' }, spec: { unit: 'BYTES' }, size: '4' }],
    registers: [
      {
        preamble: { id: I.register, name: 'ing.r' },
        type_spec: { bitstring: { bit: { bitwidth: 64 } } },
        size: 8,
      },
    ],
    digests: [{ preamble: { id: I.digest, name: 'learn_t' }, type_spec: { struct: { name: 'learn_t' } } }],
    controller_packet_metadata: [
      {
        preamble: { id: I.packetIn, name: 'packet_in' },
        metadata: [
          { id: 1, name: 'ingress_port', bitwidth: 9 },
          { id: 2, name: 'reason', bitwidth: 8 },
        ],
      },
      {
        preamble: { id: I.packetOut, name: 'packet_out' },
        metadata: [{ id: 1, name: 'egress_port', bitwidth: 9 }],
      },
    ],
    type_info: {
      structs: {
        learn_t: {
          members: [
            { name: 'src', type_spec: { bitstring: { bit: { bitwidth: 48 } } } },
            { name: 'port', type_spec: { bitstring: { bit: { bitwidth: 9 } } } },
          ],
        },
      },
    },
  };
}

/** The fixture as a server sees it: through the wire, so oneof markers and defaults are as decoded. */
export function fixtureP4InfoIndex(): P4InfoIndex {
  return P4InfoIndex.fromMessage(
    decodeMessage('p4.config.v1.P4Info', encodeMessage('p4.config.v1.P4Info', fixtureP4Info())),
  );
}
