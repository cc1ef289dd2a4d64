import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  decodeMessage,
  encodeMessage,
  loadP4RuntimeGrpc,
  loadP4RuntimeRoot,
  messageType,
  PROTO_DIR,
  ReadResponse,
  StreamMessageRequest,
  WriteRequest,
} from './proto';

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);

// Objects are written as decoding yields them (oneof markers included), so that a
// round trip must reproduce them exactly.
const everyMatchKind: WriteRequest = {
  device_id: '7',
  role: 'nicguard',
  election_id: { high: '0', low: '42' },
  atomicity: 'ROLLBACK_ON_ERROR',
  updates: [
    {
      type: 'INSERT',
      entity: {
        entity: 'table_entry',
        table_entry: {
          table_id: 33554433,
          priority: 10,
          match: [
            { field_id: 1, field_match_type: 'exact', exact: { value: b(0x0a, 0, 0, 1) } },
            { field_id: 2, field_match_type: 'ternary', ternary: { value: b(0x50), mask: b(0xf0) } },
            { field_id: 3, field_match_type: 'lpm', lpm: { value: b(0xc0, 0xa8, 0, 0), prefix_len: 16 } },
            { field_id: 4, field_match_type: 'range', range: { low: b(0x04, 0), high: b(0x07, 0xff) } },
            { field_id: 5, field_match_type: 'optional', optional: { value: b(0x06) } },
          ],
          action: {
            type: 'action',
            action: {
              action_id: 16777217,
              params: [
                { param_id: 1, value: b(0x01) },
                { param_id: 2, value: b(0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff) },
              ],
            },
          },
        },
      },
    },
  ],
};

describe('p4runtime/proto', () => {
  it('finds the proto folder from wherever the compiled code runs', () => {
    assert.ok(path.isAbsolute(PROTO_DIR));
    assert.ok(fs.existsSync(path.join(PROTO_DIR, 'p4/v1/p4runtime.proto')));
    assert.ok(fs.existsSync(path.join(PROTO_DIR, 'google/rpc/status.proto')));
  });

  it('caches the loaded schema', () => {
    assert.equal(loadP4RuntimeRoot(), loadP4RuntimeRoot());
    assert.equal(loadP4RuntimeGrpc(), loadP4RuntimeGrpc());
    assert.equal(messageType('p4.v1.WriteRequest'), messageType('p4.v1.WriteRequest'));
  });

  it('keeps field names as written in the proto files', () => {
    const fields = messageType('p4.v1.TableEntry').fields;
    assert.equal(fields.table_id.id, 1);
    assert.equal(fields.is_default_action.id, 8);
    assert.equal(fields.meter_counter_data.id, 12);
    assert.equal(fields.is_const.id, 13);
    assert.equal(messageType('p4.v1.FieldMatch').fields.optional.id, 7);
  });

  it('round-trips a WriteRequest using every match kind and an action with parameters', () => {
    const decoded = decodeMessage('p4.v1.WriteRequest', encodeMessage('p4.v1.WriteRequest', everyMatchKind));
    assert.deepStrictEqual(decoded, everyMatchKind);
  });

  it('encodes a WriteRequest to hand-computed bytes', () => {
    const request: WriteRequest = {
      device_id: '1',
      election_id: { low: '1' },
      updates: [
        {
          type: 'INSERT',
          entity: {
            table_entry: {
              table_id: 33554433,
              match: [{ field_id: 1, exact: { value: b(0x0a) } }],
              action: { action: { action_id: 3, params: [{ param_id: 1, value: b(0x05) }] } },
            },
          },
        },
      ],
    };
    // A tag byte is (field_number << 3) | wire_type; wire type 0 = varint, 2 = length-delimited.
    // Fields are written in field-number order and proto3 defaults are skipped.
    const expected = [
      '0801', //                 WriteRequest.device_id (1<<3|0) = 1
      '1a02', //                 WriteRequest.election_id (3<<3|2), 2 bytes
      '  1001', //               Uint128.low (2<<3|0) = 1
      '2221', //                 WriteRequest.updates (4<<3|2), 33 bytes
      '  0801', //               Update.type (1<<3|0) = INSERT
      '  121d', //               Update.entity (2<<3|2), 29 bytes
      '    121b', //             Entity.table_entry (2<<3|2), 27 bytes
      '      0881808010', //     TableEntry.table_id (1<<3|0): 33554433 = 1 + (16 << 21), 7 bits per byte
      '      1207', //           TableEntry.match (2<<3|2), 7 bytes
      '        0801', //         FieldMatch.field_id (1<<3|0) = 1
      '        1203', //         FieldMatch.exact (2<<3|2), 3 bytes
      '          0a010a', //     Exact.value (1<<3|2), 1 byte
      '      1a0b', //           TableEntry.action (3<<3|2), 11 bytes
      '        0a09', //         TableAction.action (1<<3|2), 9 bytes
      '          0803', //       Action.action_id (1<<3|0) = 3
      '          2205', //       Action.params (4<<3|2), 5 bytes
      '            1001', //     Param.param_id (2<<3|0) = 1
      '            1a0105', //   Param.value (3<<3|2), 1 byte
    ]
      .join('')
      .replace(/ /g, '');
    assert.equal(encodeMessage('p4.v1.WriteRequest', request).toString('hex'), expected);
  });

  it('encodes an arbitration StreamMessageRequest to hand-computed bytes and back', () => {
    const request: StreamMessageRequest = {
      update: 'arbitration',
      arbitration: { device_id: '1', role: { name: 'r' }, election_id: { high: '2', low: '1' } },
    };
    // StreamMessageRequest.arbitration (1<<3|2 = 0a), 13 bytes of MasterArbitrationUpdate:
    //   device_id   (1<<3|0 = 08) = 1                    -> 08 01
    //   role        (2<<3|2 = 12), 3 bytes: Role.name    -> 12 03, then (3<<3|2 = 1a) 01 'r'(72)
    //   election_id (3<<3|2 = 1a), 4 bytes of Uint128   -> 1a 04, then high (08) 02, low (10) 01
    const expected = '0a0d' + '0801' + '12031a0172' + '1a0408021001';
    const encoded = encodeMessage('p4.v1.StreamMessageRequest', request);
    assert.equal(encoded.toString('hex'), expected);
    assert.deepStrictEqual(decodeMessage('p4.v1.StreamMessageRequest', encoded), {
      update: 'arbitration',
      arbitration: { device_id: '1', role: { name: 'r' }, election_id: { high: '2', low: '1' } },
    });
  });

  it('carries full 64-bit election ids as decimal strings without precision loss', () => {
    const request: StreamMessageRequest = {
      update: 'arbitration',
      arbitration: {
        device_id: '18446744073709551615',
        election_id: { high: '18446744073709551615', low: '9007199254740993' },
      },
    };
    const decoded = decodeMessage(
      'p4.v1.StreamMessageRequest',
      encodeMessage('p4.v1.StreamMessageRequest', request),
    );
    assert.deepStrictEqual(decoded, request);
  });

  it('round-trips a ReadResponse with a DirectCounterEntry and its counter data', () => {
    const response: ReadResponse = {
      entities: [
        {
          entity: 'direct_counter_entry',
          direct_counter_entry: {
            table_entry: {
              table_id: 33554434,
              match: [{ field_id: 1, field_match_type: 'exact', exact: { value: b(0x2a) } }],
            },
            data: { byte_count: '123456789012', packet_count: '98765' },
          },
        },
      ],
    };
    const bytes = encodeMessage('p4.v1.ReadResponse', response);
    // ReadResponse.entities (1<<3|2) then Entity.direct_counter_entry (8<<3|2 = 0x42).
    assert.equal(bytes.subarray(0, 1).toString('hex'), '0a');
    assert.equal(bytes[2], 0x42);
    assert.deepStrictEqual(decodeMessage('p4.v1.ReadResponse', bytes), response);
  });

  it('produces the same bytes and objects through the gRPC loader and through protobufjs', () => {
    const { packageDefinition } = loadP4RuntimeGrpc();
    const def = packageDefinition['p4.v1.WriteRequest'] as {
      serialize(value: object): Buffer;
      deserialize(bytes: Buffer): object;
    };
    const viaGrpc = def.serialize(everyMatchKind);
    const viaRoot = encodeMessage('p4.v1.WriteRequest', everyMatchKind);
    assert.equal(viaGrpc.toString('hex'), viaRoot.toString('hex'));
    assert.deepStrictEqual(decodeMessage('p4.v1.WriteRequest', viaGrpc), everyMatchKind);
    assert.deepStrictEqual(def.deserialize(viaRoot), everyMatchKind);
  });

  it('exposes the P4Runtime service with each RPC and its streaming shape', () => {
    const { P4RuntimeService, P4RuntimeClient } = loadP4RuntimeGrpc();
    const shape = Object.fromEntries(
      Object.entries(P4RuntimeService).map(([name, m]) => [
        name,
        { path: m.path, requestStream: m.requestStream, responseStream: m.responseStream },
      ]),
    );
    const rpc = (name: string, requestStream: boolean, responseStream: boolean) => ({
      path: `/p4.v1.P4Runtime/${name}`,
      requestStream,
      responseStream,
    });
    assert.deepStrictEqual(shape, {
      Write: rpc('Write', false, false),
      Read: rpc('Read', false, true),
      SetForwardingPipelineConfig: rpc('SetForwardingPipelineConfig', false, false),
      GetForwardingPipelineConfig: rpc('GetForwardingPipelineConfig', false, false),
      StreamChannel: rpc('StreamChannel', true, true),
      Capabilities: rpc('Capabilities', false, false),
    });
    assert.equal(typeof P4RuntimeClient.prototype.Write, 'function');
    assert.equal(typeof P4RuntimeClient.prototype.StreamChannel, 'function');
  });

  it('resolves the imported well-known and rpc types', () => {
    const status = messageType('google.rpc.Status');
    assert.equal(status.fields.details.resolvedType?.fullName, '.google.protobuf.Any');
    assert.equal(
      messageType('p4.v1.ForwardingPipelineConfig').fields.p4info.resolvedType?.fullName,
      '.p4.config.v1.P4Info',
    );
  });
});
