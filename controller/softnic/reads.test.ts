// Reads through the gRPC surface (P4Runtime §9.1.6, §13): symmetry with writes, wildcards, indexed
// and direct resources, per-entity errors and response splitting.

import * as assert from 'assert';
import * as grpc from '@grpc/grpc-js';
import { FIXTURE_IDS as I, fixtureP4Info } from '../../test/support/p4info-fixture';
import {
  asReceived,
  connectPrimary,
  readEntities,
  writeUpdates,
  type PrimarySession,
} from '../../test/support/raw-p4rt';
import type { Entity, TableEntry, Update } from '../p4runtime/proto';
import { MAX_ENTITIES_PER_RESPONSE } from './reads';
import { Softnic } from './server';

const b = (...bytes: number[]) => Buffer.from(bytes);
const insert = (table_entry: TableEntry): Update => ({ type: 'INSERT', entity: { table_entry } });

function ternary(k: number, addr: number, priority: number): TableEntry {
  return {
    table_id: I.ternaryTable,
    match: [
      { field_id: 1, exact: { value: b(k) } },
      {
        field_id: 2,
        ternary: {
          value: b((addr >>> 24) & 0xff, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff),
          mask: b(0xff, 0xff, 0xff, 0xff),
        },
      },
    ],
    priority,
    action: { action: { action_id: I.setPort, params: [{ param_id: 1, value: b(1, 0x23) }] } },
  };
}

describe('softnic server: Read (P4Runtime §13)', () => {
  let nic: Softnic;
  let s: PrimarySession;

  beforeEach(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    s = await connectPrimary(nic.address, fixtureP4Info());
  });
  afterEach(async () => {
    s.close();
    await nic.stop();
  });

  it('reads back exactly what was written, with padded input made canonical', async () => {
    const canonical: TableEntry = {
      table_id: I.ternaryTable,
      match: [
        { field_id: 1, exact: { value: b(5) } },
        { field_id: 2, ternary: { value: b(10, 0, 0, 0), mask: b(0xff, 0, 0, 0) } },
        { field_id: 3, range: { low: b(0x50), high: b(0x1, 0xbb) } },
        { field_id: 4, optional: { value: b(0) } },
      ],
      priority: 30,
      action: { action: { action_id: I.setPort, params: [{ param_id: 1, value: b(0x1, 0xff) }] } },
      metadata: Buffer.from('rule 7 of policy p'),
    };
    const padded: TableEntry = {
      ...canonical,
      match: [
        { field_id: 1, exact: { value: b(0, 0, 5) } },
        { field_id: 2, ternary: { value: b(0, 10, 0, 0, 0), mask: b(0, 0, 0xff, 0, 0, 0) } },
        { field_id: 3, range: { low: b(0, 0x50), high: b(0, 0, 0x1, 0xbb) } },
        { field_id: 4, optional: { value: b(0, 0) } },
      ],
      action: { action: { action_id: I.setPort, params: [{ param_id: 1, value: b(0, 0, 0x1, 0xff) }] } },
    };
    assert.strictEqual(await writeUpdates(s.client, 1, [insert(padded)]), undefined);
    const r = await readEntities(s.client, [{ table_entry: { table_id: I.ternaryTable } }]);
    assert.strictEqual(r.failure, undefined);
    assert.deepStrictEqual(r.entities, [asReceived('p4.v1.Entity', { table_entry: canonical })]);
    // The padded form designates the same entry: inserting the canonical form collides.
    const dup = await writeUpdates(s.client, 1, [insert(canonical)]);
    assert.strictEqual(dup?.errors[0].canonical_code, grpc.status.ALREADY_EXISTS);
  });

  it('reads back entries whose encoding needs multi-byte lengths', async () => {
    // Metadata of 300 and 20000 bytes push the TableEntry past 127 and 16383 bytes (2- and 3-byte lengths).
    const entries = [300, 20000].map((n, i): TableEntry => ({
      ...ternary(3, 0x0a0b0c00 + i, 5),
      metadata: Buffer.alloc(n, 0x61 + i),
    }));
    assert.strictEqual(await writeUpdates(s.client, 1, entries.map(insert)), undefined);
    const r = await readEntities(s.client, [{ table_entry: { table_id: I.ternaryTable } }]);
    assert.deepStrictEqual(
      r.entities,
      entries.map((e) => asReceived('p4.v1.Entity', { table_entry: e })),
    );
  });

  it('reads all tables, one table, one match, and filters on priority and action', async () => {
    const lpm: TableEntry = {
      table_id: I.lpmTable,
      match: [{ field_id: 1, lpm: { value: b(10, 0, 0, 0), prefix_len: 8 } }],
      action: { action: { action_id: I.noAction } },
    };
    const t1 = ternary(1, 0x0a000001, 10);
    const t2 = ternary(1, 0x0a000002, 20);
    const t3: TableEntry = { ...ternary(2, 0x0a000003, 10), action: { action: { action_id: I.drop } } };
    assert.strictEqual(
      await writeUpdates(s.client, 1, [insert(lpm), insert(t1), insert(t2), insert(t3)]),
      undefined,
    );
    const tables = (es: Entity[]) => es.map((e) => e.table_entry!.table_id);
    assert.deepStrictEqual(
      tables((await readEntities(s.client, [{ table_entry: {} }])).entities).sort(),
      [I.ternaryTable, I.ternaryTable, I.ternaryTable, I.lpmTable].sort(),
    );
    assert.strictEqual(
      (await readEntities(s.client, [{ table_entry: { table_id: I.ternaryTable } }])).entities.length,
      3,
    );
    const one = await readEntities(s.client, [
      { table_entry: { table_id: I.ternaryTable, match: t2.match, priority: 20 } },
    ]);
    assert.deepStrictEqual(
      one.entities.map((e) => e.table_entry),
      [asReceived('p4.v1.TableEntry', t2)],
    );
    const byPriority = await readEntities(s.client, [
      { table_entry: { table_id: I.ternaryTable, priority: 10 } },
    ]);
    assert.strictEqual(byPriority.entities.length, 2);
    const byAction = await readEntities(s.client, [
      { table_entry: { table_id: I.ternaryTable, action: { action: { action_id: I.drop } } } },
    ]);
    assert.deepStrictEqual(
      byAction.entities.map((e) => e.table_entry),
      [asReceived('p4.v1.TableEntry', t3)],
    );
    const none = await readEntities(s.client, [
      { table_entry: { table_id: I.ternaryTable, match: ternary(9, 1, 1).match, priority: 1 } },
    ]);
    assert.deepStrictEqual(none.entities, []);
  });

  it('includes counter_data only when asked, and reads the default entry on request', async () => {
    const e: TableEntry = {
      table_id: I.exactTable,
      match: [{ field_id: 1, exact: { value: b(1) } }],
      action: { action: { action_id: I.drop } },
    };
    assert.strictEqual(await writeUpdates(s.client, 1, [insert(e)]), undefined);
    const key = [...nic.state!.table(I.exactTable).entries.keys()][0];
    nic.state!.table(I.exactTable).get(key)!.counter.packets = 3n;
    nic.state!.table(I.exactTable).get(key)!.counter.bytes = 180n;
    const plain = await readEntities(s.client, [{ table_entry: { table_id: I.exactTable } }]);
    assert.strictEqual(plain.entities[0].table_entry?.counter_data, undefined);
    const withCounter = await readEntities(s.client, [
      { table_entry: { table_id: I.exactTable, counter_data: {} } },
    ]);
    assert.deepStrictEqual(withCounter.entities[0].table_entry?.counter_data, {
      packet_count: '3',
      byte_count: '180',
    });
    const direct = await readEntities(s.client, [
      { direct_counter_entry: { table_entry: { table_id: I.exactTable } } },
    ]);
    assert.deepStrictEqual(direct.entities[0].direct_counter_entry?.data, {
      packet_count: '3',
      byte_count: '180',
    });
    const allDirect = await readEntities(s.client, [{ direct_counter_entry: {} }]);
    assert.strictEqual(allDirect.entities.length, 1);
    const def = await readEntities(s.client, [
      { table_entry: { table_id: I.ternaryTable, is_default_action: true } },
    ]);
    assert.deepStrictEqual(
      def.entities[0].table_entry,
      asReceived('p4.v1.TableEntry', {
        table_id: I.ternaryTable,
        is_default_action: true,
        action: { action: { action_id: I.drop } },
      }),
    );
  });

  it('reads indexed counters and meters by index and wildcard; refuses registers as bmv2 does', async () => {
    const st = nic.state!;
    st.counter(I.counter)[2].packets = 4n;
    st.register(I.register)[5] = 0x1234n;
    assert.strictEqual(
      await writeUpdates(s.client, 1, [
        {
          type: 'MODIFY',
          entity: {
            meter_entry: {
              meter_id: I.meter,
              index: { index: '3' },
              config: { cir: '10', cburst: '20', pir: '30', pburst: '40' },
            },
          },
        },
      ]),
      undefined,
    );
    const c = await readEntities(s.client, [
      { counter_entry: { counter_id: I.counter, index: { index: '2' } } },
    ]);
    assert.deepStrictEqual(c.entities[0].counter_entry, {
      counter_id: I.counter,
      index: { index: '2' },
      data: { packet_count: '4', byte_count: '0' },
    });
    assert.strictEqual(
      (await readEntities(s.client, [{ counter_entry: { counter_id: I.counter } }])).entities.length,
      8,
    );
    assert.strictEqual((await readEntities(s.client, [{ counter_entry: {} }])).entities.length, 8);
    const regs = await readEntities(s.client, [{ register_entry: { register_id: I.register } }]);
    assert.strictEqual(regs.entities.length, 0);
    assert.deepStrictEqual(
      regs.failure?.errors.map((e) => e.canonical_code),
      [grpc.status.UNIMPLEMENTED],
      'registers are data-plane state, not readable over bmv2 P4Runtime',
    );
    const meters = await readEntities(s.client, [{ meter_entry: { meter_id: I.meter } }]);
    assert.strictEqual(
      meters.entities[0].meter_entry?.config,
      undefined,
      'default meters read back without config',
    );
    assert.deepStrictEqual(meters.entities[3].meter_entry?.config, {
      cir: '10',
      cburst: '20',
      pir: '30',
      pburst: '40',
    });
  });

  it('reports per-entity errors in order and still answers the others', async () => {
    const r = await readEntities(s.client, [
      { counter_entry: { counter_id: I.counter, index: { index: '0' } } },
      { register_entry: { register_id: I.register, index: { index: '8' } } },
      {},
      { table_entry: { table_id: 0x02999999 } },
      { digest_entry: { digest_id: I.digest } },
    ]);
    assert.strictEqual(r.failure?.code, grpc.status.UNKNOWN);
    assert.deepStrictEqual(
      r.failure?.errors.map((e) => e.canonical_code ?? 0),
      [
        0,
        grpc.status.UNIMPLEMENTED,
        grpc.status.INVALID_ARGUMENT,
        grpc.status.INVALID_ARGUMENT,
        grpc.status.NOT_FOUND,
      ],
    );
    assert.strictEqual(r.entities.length, 1);
  });

  it('reads digest configuration back', async () => {
    const config = { max_timeout_ns: '1000000', max_list_size: 10, ack_timeout_ns: '2000000' };
    assert.strictEqual(
      await writeUpdates(s.client, 1, [
        { type: 'INSERT', entity: { digest_entry: { digest_id: I.digest, config } } },
      ]),
      undefined,
    );
    const r = await readEntities(s.client, [{ digest_entry: {} }]);
    assert.deepStrictEqual(r.entities, [
      { entity: 'digest_entry', digest_entry: { digest_id: I.digest, config } },
    ]);
  });

  it('splits large reads into several responses', async () => {
    const total = MAX_ENTITIES_PER_RESPONSE * 2 + 500;
    const batch: Update[] = [];
    for (let i = 0; i < total; i++) {
      batch.push(insert(ternary(i & 0xff, i, 1)));
      if (batch.length === 1000 || i === total - 1) {
        assert.strictEqual(await writeUpdates(s.client, 1, batch.splice(0)), undefined);
      }
    }
    const r = await readEntities(s.client, [{ table_entry: { table_id: I.ternaryTable } }]);
    assert.strictEqual(r.entities.length, total);
    assert.strictEqual(r.responses, 3);
  });
});
