import { strict as assert } from 'assert';
import { P4InfoError, P4InfoErrorCode, P4InfoIndex, loadP4Info, requiresPriority } from './p4info';
import { encodeMessage } from './proto';
import { decodeFieldMatch, lpmMatch } from './values';

// A small program in the JSON form p4c writes: camelCase keys, 64-bit sizes as
// strings, enums by name, defaults left out.
const FIXTURE = {
  pkgInfo: { arch: 'v1model', name: 'nicguard.p4' },
  tables: [
    {
      preamble: { id: 33554433, name: 'NicguardIngress.acl_v4', alias: 'acl_v4' },
      matchFields: [
        { id: 1, name: 'meta.agent_id', bitwidth: 16, matchType: 'EXACT' },
        { id: 2, name: 'hdr.ipv4.dst_addr', bitwidth: 32, matchType: 'LPM' },
        { id: 3, name: 'hdr.ipv4.protocol', bitwidth: 8, matchType: 'TERNARY' },
        { id: 4, name: 'meta.l4_dport', bitwidth: 16, matchType: 'RANGE' },
        { id: 5, name: 'meta.vlan', bitwidth: 12, matchType: 'OPTIONAL' },
      ],
      actionRefs: [
        { id: 16777217 },
        { id: 16777218 },
        { id: 21257015, scope: 'DEFAULT_ONLY', annotations: ['@defaultonly'] },
      ],
      constDefaultActionId: 16777218,
      directResourceIds: [318767105, 352321537],
      size: '1024',
      idleTimeoutBehavior: 'NOTIFY_CONTROL',
    },
    {
      preamble: { id: 33554434, name: 'NicguardIngress.agents', alias: 'agents' },
      matchFields: [{ id: 1, name: 'standard_metadata.ingress_port', bitwidth: 9, matchType: 'EXACT' }],
      actionRefs: [{ id: 16777219, scope: 'TABLE_ONLY' }, { id: 21257015 }],
      size: 256,
    },
    // Same last segment in two controls: p4c then uses the full name as alias.
    {
      preamble: { id: 33554435, name: 'NicguardIngress.flows', alias: 'NicguardIngress.flows' },
      matchFields: [{ id: 1, name: 'meta.flow', bitwidth: 32, matchType: 'EXACT' }],
      actionRefs: [{ id: 21257015 }],
    },
    {
      preamble: { id: 33554436, name: 'NicguardEgress.flows', alias: 'NicguardEgress.flows' },
      matchFields: [{ id: 1, name: 'meta.flow', bitwidth: 32, matchType: 'EXACT' }],
      actionRefs: [{ id: 21257015 }],
      isConstTable: true,
    },
  ],
  actions: [
    {
      preamble: { id: 16777217, name: 'NicguardIngress.allow', alias: 'allow' },
      params: [
        { id: 1, name: 'port', bitwidth: 9 },
        { id: 2, name: 'dmac', bitwidth: 48 },
      ],
    },
    { preamble: { id: 16777218, name: 'NicguardIngress.deny', alias: 'deny' } },
    {
      preamble: { id: 16777219, name: 'NicguardIngress.set_agent', alias: 'set_agent' },
      params: [{ id: 1, name: 'agent_id', bitwidth: 16 }],
    },
    { preamble: { id: 21257015, name: 'NoAction', alias: 'NoAction', annotations: ['@noWarn("unused")'] } },
  ],
  counters: [
    {
      preamble: { id: 302011111, name: 'NicguardIngress.drops', alias: 'drops' },
      spec: { unit: 'PACKETS' },
      size: '64',
    },
  ],
  directCounters: [
    {
      preamble: { id: 318767105, name: 'NicguardIngress.acl_hits', alias: 'acl_hits' },
      spec: { unit: 'BOTH' },
      directTableId: 33554433,
    },
  ],
  meters: [
    {
      preamble: { id: 335544321, name: 'NicguardIngress.agent_rate', alias: 'agent_rate' },
      spec: { unit: 'BYTES' },
      size: '128',
    },
  ],
  directMeters: [
    {
      preamble: { id: 352321537, name: 'NicguardIngress.acl_rate', alias: 'acl_rate' },
      spec: { unit: 'PACKETS', type: 'SINGLE_RATE_TWO_COLOR' },
      directTableId: 33554433,
    },
  ],
  controllerPacketMetadata: [
    {
      preamble: {
        id: 67146229,
        name: 'packet_in',
        alias: 'packet_in',
        annotations: ['@controller_header("packet_in")'],
      },
      metadata: [
        { id: 1, name: 'ingress_port', bitwidth: 9 },
        { id: 2, name: 'reason', bitwidth: 8 },
      ],
    },
    {
      preamble: { id: 67121543, name: 'packet_out', alias: 'packet_out' },
      metadata: [{ id: 1, name: 'egress_port', bitwidth: 9 }],
    },
  ],
  registers: [
    {
      preamble: { id: 369098753, name: 'NicguardIngress.last_seen', alias: 'last_seen' },
      typeSpec: { bitstring: { bit: { bitwidth: 48 } } },
      size: 256,
    },
  ],
  digests: [
    {
      preamble: { id: 385923905, name: 'learn_t', alias: 'learn_t' },
      typeSpec: { struct: { name: 'learn_t' } },
    },
  ],
  typeInfo: {
    structs: {
      learn_t: {
        members: [
          { name: 'agent_id', typeSpec: { bitstring: { bit: { bitwidth: 16 } } } },
          { name: 'src_mac', typeSpec: { bitstring: { bit: { bitwidth: 48 } } } },
          { name: 'blocked', typeSpec: { bool: {} } },
        ],
      },
    },
  },
};

function throwsInfo(fn: () => unknown, code: P4InfoErrorCode, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof P4InfoError, `expected P4InfoError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('p4runtime/p4info', () => {
  const info = P4InfoIndex.fromJson(JSON.stringify(FIXTURE));

  it('finds tables by id, full name and alias', () => {
    const byId = info.table(33554433);
    assert.equal(byId.name, 'NicguardIngress.acl_v4');
    assert.equal(info.table('NicguardIngress.acl_v4'), byId);
    assert.equal(info.table('acl_v4'), byId);
    assert.equal(info.tables.find('nope'), undefined);
    assert.equal(info.tables.all.length, 4);
  });

  it('reads table properties from the JSON mapping', () => {
    const acl = info.table('acl_v4');
    assert.equal(acl.size, 1024);
    assert.equal(info.table('agents').size, 256);
    assert.equal(acl.constDefaultActionId, 16777218);
    assert.deepEqual(acl.directResourceIds, [318767105, 352321537]);
    assert.equal(acl.idleTimeoutBehavior, 'NOTIFY_CONTROL');
    assert.equal(info.table('agents').idleTimeoutBehavior, 'NO_TIMEOUT');
    assert.equal(acl.isConstTable, false);
    assert.equal(info.table('NicguardEgress.flows').isConstTable, true);
    assert.deepEqual(
      acl.actionRefs.map((r) => [r.id, r.scope]),
      [
        [16777217, 'TABLE_AND_DEFAULT'],
        [16777218, 'TABLE_AND_DEFAULT'],
        [21257015, 'DEFAULT_ONLY'],
      ],
    );
    assert.equal(info.actionRef('agents', 'set_agent').scope, 'TABLE_ONLY');
  });

  it('indexes match fields with kinds and bitwidths', () => {
    const acl = info.table('acl_v4');
    assert.deepEqual(
      acl.matchFields.map((f) => [f.id, f.name, f.matchType, f.bitwidth]),
      [
        [1, 'meta.agent_id', 'EXACT', 16],
        [2, 'hdr.ipv4.dst_addr', 'LPM', 32],
        [3, 'hdr.ipv4.protocol', 'TERNARY', 8],
        [4, 'meta.l4_dport', 'RANGE', 16],
        [5, 'meta.vlan', 'OPTIONAL', 12],
      ],
    );
    assert.equal(info.matchField(acl, 'hdr.ipv4.dst_addr').id, 2);
    assert.equal(info.matchField('acl_v4', 4).name, 'meta.l4_dport');
  });

  it('gives match fields the shape the value codec takes', () => {
    const field = info.matchField('acl_v4', 'hdr.ipv4.dst_addr');
    const wire = lpmMatch(field, '10.0.0.0', 8);
    assert.ok(wire);
    assert.deepEqual(decodeFieldMatch(wire, field), {
      kind: 'LPM',
      fieldId: 2,
      value: 0x0a000000n,
      prefixLen: 8,
    });
  });

  it('decides priority need per P4Runtime §9.1', () => {
    assert.equal(requiresPriority(info.table('acl_v4')), true);
    assert.equal(requiresPriority(info.table('agents')), false);
    const lpmOnly = {
      matchFields: [{ id: 1, name: 'a', bitwidth: 32, matchType: 'LPM' as const, annotations: [] }],
    };
    assert.equal(requiresPriority(lpmOnly), false);
    const optional = {
      matchFields: [{ id: 1, name: 'a', bitwidth: 32, matchType: 'OPTIONAL' as const, annotations: [] }],
    };
    assert.equal(requiresPriority(optional), true);
  });

  it('indexes actions and their parameters', () => {
    const allow = info.action('allow');
    assert.equal(allow.id, 16777217);
    assert.equal(info.actionParam(allow, 'dmac').bitwidth, 48);
    assert.equal(info.actionParam('NicguardIngress.allow', 1).name, 'port');
    assert.deepEqual(info.action('deny').params, []);
    assert.deepEqual(info.action('NoAction').annotations, ['@noWarn("unused")']);
  });

  it('indexes counters, meters, registers and packet metadata', () => {
    assert.deepEqual([info.counters.get('drops').unit, info.counters.get('drops').size], ['PACKETS', 64]);
    assert.deepEqual(
      [info.directCounters.get('acl_hits').unit, info.directCounters.get(318767105).directTableId],
      ['BOTH', 33554433],
    );
    const rate = info.meters.get('agent_rate');
    assert.deepEqual([rate.unit, rate.type, rate.size], ['BYTES', 'TWO_RATE_THREE_COLOR', 128]);
    assert.equal(info.directMeters.get('acl_rate').type, 'SINGLE_RATE_TWO_COLOR');
    const reg = info.registers.get('last_seen');
    assert.equal(reg.size, 256);
    assert.deepEqual(reg.type, { kind: 'bit', bitwidth: 48 });
    assert.equal(info.packetMetadataField('packet_in', 'reason').bitwidth, 8);
    assert.equal(info.packetMetadataField('packet_out', 1).name, 'egress_port');
  });

  it('resolves digest structs through type_info', () => {
    assert.deepEqual(info.digests.get('learn_t').type, {
      kind: 'struct',
      name: 'learn_t',
      members: [
        { name: 'agent_id', type: { kind: 'bit', bitwidth: 16 } },
        { name: 'src_mac', type: { kind: 'bit', bitwidth: 48 } },
        { name: 'blocked', type: { kind: 'bool' } },
      ],
    });
  });

  it('reports unknown names with near matches, and unknown ids in hex', () => {
    throwsInfo(
      () => info.table('acl_v6'),
      'UNKNOWN_TABLE',
      /^unknown table 'acl_v6'; did you mean 'NicguardIngress\.acl_v4'\?$/,
    );
    throwsInfo(() => info.table(33554499), 'UNKNOWN_TABLE', /^unknown table id 33554499 \(0x02000043\)$/);
    throwsInfo(
      () => info.action('zzz'),
      'UNKNOWN_ACTION',
      /^unknown action 'zzz'; known: 'NicguardIngress\.allow', /,
    );
    throwsInfo(() => info.counters.get('drop'), 'UNKNOWN_COUNTER', /did you mean 'NicguardIngress\.drops'/);
    throwsInfo(() => info.directCounters.get(1), 'UNKNOWN_DIRECT_COUNTER', /unknown direct counter id 1/);
    throwsInfo(() => info.meters.get('x'), 'UNKNOWN_METER', /unknown meter 'x'/);
    throwsInfo(() => info.directMeters.get('x'), 'UNKNOWN_DIRECT_METER', /unknown direct meter 'x'/);
    throwsInfo(() => info.registers.get('x'), 'UNKNOWN_REGISTER', /unknown register 'x'/);
    throwsInfo(() => info.digests.get('learn'), 'UNKNOWN_DIGEST', /did you mean 'learn_t'/);
    throwsInfo(
      () => info.packetMetadata.get('packet_inn'),
      'UNKNOWN_PACKET_METADATA',
      /did you mean 'packet_in'/,
    );
  });

  it('reports unknown match fields, params and metadata fields against their owner', () => {
    throwsInfo(
      () => info.matchField('acl_v4', 'hdr.ipv4.dst'),
      'UNKNOWN_MATCH_FIELD',
      /^table 'NicguardIngress\.acl_v4' has no 'hdr\.ipv4\.dst'; did you mean 'hdr\.ipv4\.dst_addr'/,
    );
    throwsInfo(
      () => info.matchField('acl_v4', 9),
      'UNKNOWN_MATCH_FIELD',
      /has no id 9; known: 1 'meta\.agent_id'/,
    );
    throwsInfo(
      () => info.actionParam('allow', 'mac'),
      'UNKNOWN_PARAM',
      /action 'NicguardIngress\.allow' has no 'mac'; did you mean 'dmac'/,
    );
    throwsInfo(
      () => info.packetMetadataField('packet_in', 3),
      'UNKNOWN_METADATA_FIELD',
      /'packet_in' has no id 3/,
    );
  });

  it('rejects actions a table does not list', () => {
    throwsInfo(
      () => info.actionRef('agents', 'allow'),
      'ACTION_NOT_IN_TABLE',
      /^action 'NicguardIngress\.allow' is not an action of table 'NicguardIngress\.agents'; allowed: 'NicguardIngress\.set_agent', 'NoAction'$/,
    );
  });

  it('refuses short names shared by two objects, listing both', () => {
    throwsInfo(
      () => info.table('flows'),
      'AMBIGUOUS_NAME',
      /'flows' is ambiguous: 'NicguardIngress\.flows', 'NicguardEgress\.flows'/,
    );
    assert.equal(info.table('NicguardEgress.flows').id, 33554436);
  });

  it('loads the same model from binary protobuf and from snake_case keys', () => {
    const binary = encodeMessage('p4.config.v1.P4Info', info.message);
    const fromBinary = loadP4Info(binary);
    assert.deepStrictEqual(fromBinary.message, info.message);
    assert.deepStrictEqual(fromBinary.table('acl_v4'), info.table('acl_v4'));

    const snake = clone(FIXTURE) as Record<string, unknown>;
    snake.direct_counters = snake.directCounters;
    delete snake.directCounters;
    const tables = snake.tables as Record<string, unknown>[];
    tables[0].match_fields = tables[0].matchFields;
    delete tables[0].matchFields;
    assert.deepStrictEqual(loadP4Info(snake).message, info.message);
  });

  it('keeps map keys as written while renaming fields', () => {
    assert.ok(info.message.type_info?.structs?.learn_t);
    assert.equal(info.message.tables?.[0].match_fields?.[1].match_type, 'LPM');
    assert.equal(info.message.tables?.[0].size, '1024');
  });

  it('rejects malformed or inconsistent P4Info', () => {
    throwsInfo(() => loadP4Info('{not json'), 'BAD_P4INFO', /not valid JSON/);
    throwsInfo(() => loadP4Info(Buffer.from([0x0a, 0xff])), 'BAD_P4INFO', /not valid binary protobuf/);
    throwsInfo(() => loadP4Info({ tables: {} }), 'BAD_P4INFO', /P4Info\.tables: expected a JSON array/);

    const dupId = clone(FIXTURE);
    dupId.actions[1].preamble.id = 16777217;
    throwsInfo(() => loadP4Info(dupId), 'BAD_P4INFO', /two actions with id 0x01000001/);

    const noId = clone(FIXTURE);
    noId.counters[0].preamble.id = 0;
    throwsInfo(() => loadP4Info(noId), 'BAD_P4INFO', /counter without a valid preamble id/);

    const badRef = clone(FIXTURE);
    badRef.tables[1].actionRefs.push({ id: 16777299 });
    throwsInfo(
      () => loadP4Info(badRef),
      'BAD_P4INFO',
      /'NicguardIngress\.agents' refers to unknown action id 0x01000053/,
    );

    const badType = clone(FIXTURE);
    badType.digests[0].typeSpec.struct.name = 'missing_t';
    throwsInfo(() => loadP4Info(badType), 'UNKNOWN_TYPE', /digest 'learn_t' uses struct 'missing_t'/);
  });
});
