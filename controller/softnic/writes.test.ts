// Write validation through the gRPC surface (P4Runtime §12): each error kind with its per-update
// p4.v1.Error detail at the failing index.

import * as assert from 'assert';
import * as grpc from '@grpc/grpc-js';
import { EXACT_TABLE_SIZE, FIXTURE_IDS as I, fixtureP4Info } from '../../test/support/p4info-fixture';
import { connectPrimary, write, writeUpdates, type PrimarySession } from '../../test/support/raw-p4rt';
import type { FieldMatch, TableEntry, Update } from '../p4runtime/proto';
import { SOFTNIC_ERROR_SPACE } from './errors';
import { Softnic } from './server';

const b = (...bytes: number[]) => Buffer.from(bytes);

function exactEntry(a: number, port = 1, extra: Partial<TableEntry> = {}): TableEntry {
  return {
    table_id: I.exactTable,
    match: [{ field_id: 1, exact: { value: b(a >> 8, a & 0xff) } }],
    action: { action: { action_id: I.setPort, params: [{ param_id: 1, value: b(port >> 8, port & 0xff) }] } },
    ...extra,
  };
}

function ternaryEntry(match: FieldMatch[], priority: number): TableEntry {
  return { table_id: I.ternaryTable, match, priority, action: { action: { action_id: I.drop } } };
}

const insert = (table_entry: TableEntry): Update => ({ type: 'INSERT', entity: { table_entry } });
const modify = (table_entry: TableEntry): Update => ({ type: 'MODIFY', entity: { table_entry } });
const del = (table_entry: TableEntry): Update => ({ type: 'DELETE', entity: { table_entry } });
/** An update that always succeeds and changes no table. */
const harmless: Update = {
  type: 'MODIFY',
  entity: { counter_entry: { counter_id: I.counter, index: { index: '0' }, data: { packet_count: '1' } } },
};

describe('softnic server: Write validation (P4Runtime §12)', () => {
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

  /** Sends [ok, bad, ok'] and checks the batch failed with UNKNOWN and exactly index 1 failing with `code`. */
  async function expectOnlyMiddleFails(
    bad: Update,
    code: grpc.status,
    ok: Update[] = [insert(exactEntry(1)), insert(exactEntry(2))],
  ) {
    const res = await writeUpdates(s.client, 1, [ok[0], bad, ok[1]]);
    assert.ok(res, 'the batch must fail');
    assert.strictEqual(res.code, grpc.status.UNKNOWN);
    assert.strictEqual(res.errors.length, 3, 'one p4.v1.Error per update');
    assert.strictEqual(res.errors[0].canonical_code ?? 0, 0);
    assert.strictEqual(res.errors[1].canonical_code, code, res.errors[1].message);
    assert.strictEqual(res.errors[1].space, SOFTNIC_ERROR_SPACE);
    assert.strictEqual(res.errors[2].canonical_code ?? 0, 0);
    assert.deepStrictEqual(Object.keys(res.errors[0]), [], 'OK details carry nothing but the code');
    return res.errors[1];
  }

  it('answers OK with no details when every update succeeds', async () => {
    assert.strictEqual(
      await writeUpdates(s.client, 1, [insert(exactEntry(1)), insert(exactEntry(2))]),
      undefined,
    );
    assert.strictEqual(nic.state!.table(I.exactTable).entries.size, 2);
  });

  it('applies the good updates of a failing batch (CONTINUE_ON_ERROR)', async () => {
    await expectOnlyMiddleFails(
      insert({ ...exactEntry(3), table_id: 0x02999999 }),
      grpc.status.INVALID_ARGUMENT,
    );
    assert.strictEqual(nic.state!.table(I.exactTable).entries.size, 2);
  });

  it('rejects unknown ids as INVALID_ARGUMENT', async () => {
    await expectOnlyMiddleFails(
      insert({ ...exactEntry(3), match: [{ field_id: 9, exact: { value: b(1) } }] }),
      grpc.status.INVALID_ARGUMENT,
    );
    await expectOnlyMiddleFails(
      insert(exactEntry(3, 1, { action: { action: { action_id: 0x01777777 } } })),
      grpc.status.INVALID_ARGUMENT,
      [harmless, harmless],
    );
    await expectOnlyMiddleFails(
      insert(
        exactEntry(3, 1, {
          action: { action: { action_id: I.setPort, params: [{ param_id: 7, value: b(1) }] } },
        }),
      ),
      grpc.status.INVALID_ARGUMENT,
      [harmless, harmless],
    );
  });

  it('rejects values wider than the field, and missing or extra params', async () => {
    // a is bit<16>: three significant bytes do not fit.
    const wide = { ...exactEntry(3), match: [{ field_id: 1, exact: { value: b(1, 0, 0) } }] };
    const detail = await expectOnlyMiddleFails(insert(wide), grpc.status.INVALID_ARGUMENT);
    assert.match(detail.message ?? '', /bit/);
    // port is bit<9>: 0x200 needs 10 bits.
    const wideParam = exactEntry(3, 0x200);
    const s2 = await writeUpdates(s.client, 1, [insert(wideParam)]);
    assert.strictEqual(s2?.errors[0].canonical_code, grpc.status.INVALID_ARGUMENT);
    const noParams = exactEntry(3, 1, { action: { action: { action_id: I.setPort } } });
    assert.strictEqual(
      (await writeUpdates(s.client, 1, [insert(noParams)]))?.errors[0].canonical_code,
      grpc.status.INVALID_ARGUMENT,
    );
  });

  it("rejects explicit don't-care matches and LPM bits past the prefix (§9.1.1)", async () => {
    const lpm = (value: number[], prefix_len: number): TableEntry => ({
      table_id: I.lpmTable,
      match: [{ field_id: 1, lpm: { value: Buffer.from(value), prefix_len } }],
      action: { action: { action_id: I.noAction } },
    });
    const res = await writeUpdates(s.client, 1, [
      insert(lpm([10, 0, 0, 0], 8)),
      insert(lpm([10, 1, 0, 0], 8)), // host bits set
      insert(lpm([0, 0, 0, 0], 0)), // don't care sent explicitly
      insert(
        ternaryEntry(
          [
            { field_id: 1, exact: { value: b(1) } },
            { field_id: 2, ternary: { value: b(0), mask: b(0) } },
          ],
          10,
        ),
      ),
      insert(
        ternaryEntry(
          [
            { field_id: 1, exact: { value: b(1) } },
            { field_id: 3, range: { low: b(0), high: b(0xff, 0xff) } },
          ],
          10,
        ),
      ),
      insert(
        ternaryEntry(
          [
            { field_id: 1, exact: { value: b(1) } },
            { field_id: 2, ternary: { value: b(0xff), mask: b(0x0f) } },
          ],
          10,
        ),
      ),
    ]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code ?? 0),
      [0, 3, 3, 3, 3, 3],
    );
  });

  it('rejects a missing exact field and a repeated field', async () => {
    const res = await writeUpdates(s.client, 1, [
      insert(ternaryEntry([{ field_id: 2, ternary: { value: b(1), mask: b(1) } }], 1)),
      insert(
        ternaryEntry(
          [
            { field_id: 1, exact: { value: b(1) } },
            { field_id: 1, exact: { value: b(2) } },
          ],
          1,
        ),
      ),
    ]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code),
      [3, 3],
    );
  });

  it('checks priority against the table kind', async () => {
    const needs = ternaryEntry([{ field_id: 1, exact: { value: b(1) } }], 0);
    const forbids = exactEntry(9, 1, { priority: 5 });
    const res = await writeUpdates(s.client, 1, [
      insert(needs),
      insert(forbids),
      insert({ ...needs, priority: 1 }),
    ]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code ?? 0),
      [3, 3, 0],
    );
  });

  it('checks action scope and membership (PI: DEFAULT_ONLY in an entry is PERMISSION_DENIED)', async () => {
    const defaultOnly = exactEntry(1, 1, {
      action: { action: { action_id: I.defaultOnly, params: [{ param_id: 1, value: b(1) }] } },
    });
    const notInTable = exactEntry(2, 1, { action: { action: { action_id: I.noAction } } });
    const res = await writeUpdates(s.client, 1, [insert(defaultOnly), insert(notInTable)]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code),
      [grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT],
    );
  });

  it('reports ALREADY_EXISTS, NOT_FOUND and RESOURCE_EXHAUSTED from the store', async () => {
    await expectOnlyMiddleFails(insert(exactEntry(1, 7)), grpc.status.ALREADY_EXISTS);
    const res = await writeUpdates(s.client, 1, [modify(exactEntry(40)), del(exactEntry(41))]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code),
      [grpc.status.NOT_FOUND, grpc.status.NOT_FOUND],
    );
    // Fill the table to its P4Info size; the next insert is refused.
    const fill: Update[] = [];
    for (let i = 3; i <= EXACT_TABLE_SIZE; i++) fill.push(insert(exactEntry(100 + i)));
    assert.strictEqual(await writeUpdates(s.client, 1, fill), undefined);
    assert.strictEqual(nic.state!.table(I.exactTable).entries.size, EXACT_TABLE_SIZE);
    const full = await writeUpdates(s.client, 1, [insert(exactEntry(999))]);
    assert.strictEqual(full?.errors[0].canonical_code, grpc.status.RESOURCE_EXHAUSTED);
    // Deleting makes room again.
    assert.strictEqual(
      await writeUpdates(s.client, 1, [del(exactEntry(1)), insert(exactEntry(999))]),
      undefined,
    );
  });

  it('modifies and resets the default entry, and refuses INSERT/DELETE on it and changes to a const default', async () => {
    const setDefault: TableEntry = {
      table_id: I.exactTable,
      is_default_action: true,
      action: { action: { action_id: I.defaultOnly, params: [{ param_id: 1, value: b(7) }] } },
    };
    assert.strictEqual(await writeUpdates(s.client, 1, [modify(setDefault)]), undefined);
    assert.strictEqual(nic.state!.table(I.exactTable).defaultActionId, I.defaultOnly);
    assert.strictEqual(nic.state!.table(I.exactTable).defaultParams.get(1), 7n);
    assert.strictEqual(
      await writeUpdates(s.client, 1, [modify({ table_id: I.exactTable, is_default_action: true })]),
      undefined,
    );
    assert.strictEqual(nic.state!.table(I.exactTable).defaultActionId, 0);
    const constDefault: TableEntry = {
      table_id: I.ternaryTable,
      is_default_action: true,
      action: { action: { action_id: I.setPort, params: [{ param_id: 1, value: b(1) }] } },
    };
    const res = await writeUpdates(s.client, 1, [
      insert(setDefault),
      del(setDefault),
      modify(constDefault),
      modify({ ...setDefault, priority: 3 }),
    ]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code),
      [3, 3, grpc.status.PERMISSION_DENIED, 3],
    );
  });

  it('keeps an unset counter_data on MODIFY and resets an unset meter_config (§9.1.7)', async () => {
    const rates = { cir: '100', cburst: '10', pir: '200', pburst: '20' };
    assert.strictEqual(
      await writeUpdates(s.client, 1, [
        insert(
          exactEntry(1, 1, { counter_data: { packet_count: '5', byte_count: '500' }, meter_config: rates }),
        ),
      ]),
      undefined,
    );
    const key = [...nic.state!.table(I.exactTable).entries.keys()][0];
    const before = nic.state!.table(I.exactTable).get(key)!;
    assert.deepStrictEqual(before.counter, { packets: 5n, bytes: 500n });
    assert.strictEqual(before.meter?.config?.pir, 200n);
    assert.strictEqual(await writeUpdates(s.client, 1, [modify(exactEntry(1, 2))]), undefined);
    const after = nic.state!.table(I.exactTable).get(key)!;
    assert.deepStrictEqual(after.counter, { packets: 5n, bytes: 500n });
    assert.strictEqual(after.meter?.config, undefined);
    assert.strictEqual(after.params.get(1), 2n);
    // Direct resources on a table without them are refused.
    const res = await writeUpdates(s.client, 1, [
      insert({
        table_id: I.lpmTable,
        match: [{ field_id: 1, lpm: { value: b(10, 0, 0, 0), prefix_len: 8 } }],
        action: { action: { action_id: I.noAction } },
        counter_data: { packet_count: '1' },
      }),
    ]);
    assert.strictEqual(res?.errors[0].canonical_code, grpc.status.INVALID_ARGUMENT);
  });

  it('accepts only CONTINUE_ON_ERROR and refuses UNSPECIFIED updates and empty entities', async () => {
    const atomic = await write(s.client, {
      device_id: '1',
      election_id: { low: '1' },
      atomicity: 'ROLLBACK_ON_ERROR',
      updates: [insert(exactEntry(1))],
    });
    assert.strictEqual(atomic?.code, grpc.status.UNIMPLEMENTED);
    assert.deepStrictEqual(atomic?.errors, [], 'an RPC-wide error has no per-update details');
    const res = await writeUpdates(s.client, 1, [
      { entity: { table_entry: exactEntry(1) } },
      { type: 'INSERT', entity: {} },
      { type: 'INSERT', entity: { action_profile_member: { action_profile_id: 1 } } },
    ]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code),
      [3, 3, grpc.status.UNIMPLEMENTED],
    );
  });

  it('writes counters and meters by index and by wildcard, MODIFY only; refuses registers as bmv2 does', async () => {
    const res = await writeUpdates(s.client, 1, [
      {
        type: 'MODIFY',
        entity: {
          counter_entry: {
            counter_id: I.counter,
            index: { index: '3' },
            data: { packet_count: '9', byte_count: '90' },
          },
        },
      },
      {
        type: 'MODIFY',
        entity: { register_entry: { register_id: I.register, data: { bitstring: b(0x11) } } },
      },
      {
        type: 'MODIFY',
        entity: {
          register_entry: {
            register_id: I.register,
            index: { index: '2' },
            data: { bitstring: b(0, 0, 0, 0, 0, 0, 0, 0, 0x42) },
          },
        },
      },
      {
        type: 'MODIFY',
        entity: {
          meter_entry: {
            meter_id: I.meter,
            index: { index: '1' },
            config: { cir: '1', cburst: '2', pir: '3', pburst: '4' },
          },
        },
      },
      {
        type: 'MODIFY',
        entity: {
          register_entry: { register_id: I.register, index: { index: '8' }, data: { bitstring: b(1) } },
        },
      },
      {
        type: 'MODIFY',
        entity: {
          register_entry: { register_id: I.register, index: { index: '-1' }, data: { bitstring: b(1) } },
        },
      },
      { type: 'INSERT', entity: { counter_entry: { counter_id: I.counter, index: { index: '0' } } } },
      { type: 'MODIFY', entity: { counter_entry: { counter_id: I.directCounter, index: { index: '0' } } } },
      {
        type: 'MODIFY',
        entity: {
          register_entry: {
            register_id: I.register,
            index: { index: '0' },
            data: { bitstring: b(1, 0, 0, 0, 0, 0, 0, 0, 0) },
          },
        },
      },
    ]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code ?? 0),
      // bmv2's P4Runtime server answers every RegisterEntry write with UNIMPLEMENTED.
      [0, 12, 12, 0, 12, 12, 3, 3, 12],
    );
    const st = nic.state!;
    assert.deepStrictEqual(st.counter(I.counter)[3], { packets: 9n, bytes: 90n });
    assert.deepStrictEqual(st.register(I.register), [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n], 'registers untouched');
    assert.deepStrictEqual(st.meter(I.meter)[1].config, {
      cir: 1n,
      cburst: 2n,
      pir: 3n,
      pburst: 4n,
      eburst: 0n,
    });
    assert.strictEqual(st.meter(I.meter)[0].config, undefined);
  });

  it("enables, changes and disables digests with PI's codes", async () => {
    const d = (type: Update['type'], digest_id: number = I.digest): Update => ({
      type,
      entity: {
        digest_entry: {
          digest_id,
          config: { max_list_size: 2, max_timeout_ns: '1000', ack_timeout_ns: '5000' },
        },
      },
    });
    const res = await writeUpdates(s.client, 1, [
      d('MODIFY'),
      d('INSERT'),
      d('INSERT'),
      d('MODIFY'),
      d('INSERT', 0x18999999),
    ]);
    assert.deepStrictEqual(
      res?.errors.map((e) => e.canonical_code ?? 0),
      [grpc.status.NOT_FOUND, 0, grpc.status.ALREADY_EXISTS, 0, grpc.status.NOT_FOUND],
    );
    assert.deepStrictEqual(nic.state!.digestConfig.get(I.digest), {
      maxTimeoutNs: 1000n,
      maxListSize: 2,
      ackTimeoutNs: 5000n,
    });
    assert.strictEqual(await writeUpdates(s.client, 1, [d('DELETE')]), undefined);
    assert.strictEqual(nic.state!.digestConfig.has(I.digest), false);
  });
});
