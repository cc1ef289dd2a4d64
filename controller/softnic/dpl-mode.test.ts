import * as assert from 'assert';
import * as grpc from '@grpc/grpc-js';
import { FIXTURE_IDS as I, fixtureP4Info } from '../../test/support/p4info-fixture';
import { rawClient, readEntities, setPipeline, TestStream, write } from '../../test/support/raw-p4rt';
import type { P4RuntimeClient, TableEntry, Update } from '../p4runtime/proto';
import type { SoftnicMode } from './dpl-mode';
import { Softnic } from './server';

const entry = (key: number, port: number): TableEntry => ({
  table_id: I.exactTable,
  match: [{ field_id: 1, exact: { value: Buffer.from([key]) } }],
  action: { action: { action_id: I.setPort, params: [{ param_id: 1, value: Buffer.from([port]) }] } },
});

const defaultEntry: TableEntry = {
  table_id: I.exactTable,
  is_default_action: true,
  action: { action: { action_id: I.defaultOnly, params: [{ param_id: 1, value: Buffer.from([3]) }] } },
};

/** A Write as a client without arbitration sends it: no election id, CONTINUE_ON_ERROR unless told. */
const writeNoElection = (client: P4RuntimeClient, updates: Update[], atomicity?: 'ROLLBACK_ON_ERROR') =>
  write(client, { device_id: '1', updates, ...(atomicity ? { atomicity } : {}) });

function capabilities(client: P4RuntimeClient): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => client.Capabilities({}, (err) => resolve(err)));
}

describe('softnic in bluefield-dpl mode: the DPL runtime service P4Runtime surface', () => {
  let nic: Softnic;
  let client: P4RuntimeClient;
  const streams: TestStream[] = [];

  async function start(mode: SoftnicMode): Promise<void> {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1, mode });
    client = rawClient(nic.address);
    if (mode === 'bmv2') {
      // bmv2's server needs a primary before a pipeline can be set (P4Runtime §5).
      const s = open();
      s.arbitrate(1);
      await s.nextArbitration();
    }
    const electionLow = mode === 'bmv2' ? 1 : undefined;
    assert.strictEqual(await setPipeline(client, { p4info: fixtureP4Info(), electionLow }), undefined);
  }
  const open = () => {
    const s = new TestStream(client);
    streams.push(s);
    return s;
  };

  afterEach(async () => {
    for (const s of streams.splice(0)) s.call.cancel();
    client?.close();
    await nic?.stop();
  });

  it('accepts pipeline and writes without any arbitration or election id', async () => {
    await start('bluefield-dpl');
    assert.strictEqual(
      await writeNoElection(client, [{ type: 'INSERT', entity: { table_entry: entry(1, 2) } }]),
      undefined,
    );
    assert.strictEqual(nic.controlState?.table(I.exactTable).entries.size, 1);
  });

  it('refuses MODIFY of a regular entry per update with UNIMPLEMENTED, and allows it for the default entry', async () => {
    await start('bluefield-dpl');
    await writeNoElection(client, [{ type: 'INSERT', entity: { table_entry: entry(1, 2) } }]);
    const failure = await writeNoElection(client, [
      { type: 'MODIFY', entity: { table_entry: entry(1, 5) } },
      { type: 'MODIFY', entity: { table_entry: defaultEntry } },
      { type: 'INSERT', entity: { table_entry: entry(2, 2) } },
    ]);
    assert.ok(failure, 'a batch with a refused update fails (P4Runtime §12.3)');
    assert.deepStrictEqual(
      failure.errors.map((e) => e.canonical_code ?? 0),
      [grpc.status.UNIMPLEMENTED, 0, 0],
    );
    // The refused update changed nothing; the others were applied (CONTINUE_ON_ERROR).
    const read = await readEntities(client, [{ table_entry: { table_id: I.exactTable } }]);
    const ports = read.entities
      .map((e) => e.table_entry!)
      .map((t) => [t.match?.[0]?.exact?.value?.[0], t.action?.action?.params?.[0]?.value?.[0]]);
    assert.deepStrictEqual(ports.sort(), [
      [1, 2],
      [2, 2],
    ]);
  });

  it('the same MODIFY is accepted in bmv2 mode, so the refusal is the mode', async () => {
    await start('bmv2');
    assert.strictEqual(
      await write(client, {
        device_id: '1',
        election_id: { low: '1' },
        updates: [{ type: 'INSERT', entity: { table_entry: entry(1, 2) } }],
      }),
      undefined,
    );
    assert.strictEqual(
      await write(client, {
        device_id: '1',
        election_id: { low: '1' },
        updates: [{ type: 'MODIFY', entity: { table_entry: entry(1, 5) } }],
      }),
      undefined,
    );
  });

  it('refuses register, digest, action profile, PRE and value set entities per update with UNIMPLEMENTED', async () => {
    await start('bluefield-dpl');
    const updates: Update[] = [
      {
        type: 'MODIFY',
        entity: {
          register_entry: {
            register_id: I.register,
            index: { index: '0' },
            data: { bitstring: Buffer.from([1]) },
          },
        },
      },
      {
        type: 'INSERT',
        entity: {
          digest_entry: {
            digest_id: I.digest,
            config: { max_timeout_ns: '0', max_list_size: 1, ack_timeout_ns: '1000' },
          },
        },
      },
      {
        type: 'INSERT',
        entity: {
          action_profile_member: { action_profile_id: 1, member_id: 1, action: { action_id: I.drop } },
        },
      },
      { type: 'INSERT', entity: { action_profile_group: { action_profile_id: 1, group_id: 1 } } },
      {
        type: 'INSERT',
        entity: { packet_replication_engine_entry: { multicast_group_entry: { multicast_group_id: 1 } } },
      },
      { type: 'INSERT', entity: { value_set_entry: { value_set_id: 1 } } },
      { type: 'INSERT', entity: { table_entry: entry(3, 1) } },
    ];
    const failure = await writeNoElection(client, updates);
    assert.ok(failure);
    assert.deepStrictEqual(
      failure.errors.map((e) => e.canonical_code ?? 0),
      [...new Array<number>(6).fill(grpc.status.UNIMPLEMENTED), 0],
    );
    const read = await readEntities(client, [{ register_entry: { register_id: I.register } }]);
    assert.strictEqual(read.failure?.code, grpc.status.UNIMPLEMENTED);
  });

  it('refuses atomicity other than CONTINUE_ON_ERROR with UNIMPLEMENTED', async () => {
    await start('bluefield-dpl');
    const failure = await writeNoElection(
      client,
      [{ type: 'INSERT', entity: { table_entry: entry(1, 2) } }],
      'ROLLBACK_ON_ERROR',
    );
    assert.strictEqual(failure?.code, grpc.status.UNIMPLEMENTED);
    assert.strictEqual(nic.controlState?.table(I.exactTable).entries.size, 0);
  });

  it('answers Capabilities with UNIMPLEMENTED (bmv2 mode answers it)', async () => {
    await start('bluefield-dpl');
    assert.strictEqual((await capabilities(client))?.code, grpc.status.UNIMPLEMENTED);
    client.close();
    await nic.stop();
    await start('bmv2');
    assert.strictEqual(await capabilities(client), null);
  });

  it('answers MasterArbitrationUpdate with a StreamError and keeps the stream; a second controller is turned away', async () => {
    await start('bluefield-dpl');
    const s = open();
    s.arbitrate(1);
    const reply = await s.next();
    assert.strictEqual(reply?.update, 'error');
    assert.strictEqual(reply?.error?.canonical_code, grpc.status.UNIMPLEMENTED);
    assert.strictEqual(s.status, undefined, 'the stream stays open');
    const second = open();
    const ended = await second.closed();
    assert.strictEqual(ended.code, grpc.status.FAILED_PRECONDITION);
    // Once the first controller leaves, another may connect.
    s.end();
    await s.closed();
    const third = open();
    third.arbitrate(2);
    assert.strictEqual((await third.next())?.update, 'error');
  });
});
