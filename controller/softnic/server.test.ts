import * as assert from 'assert';
import * as grpc from '@grpc/grpc-js';
import { FIXTURE_IDS as I, fixtureP4Info } from '../../test/support/p4info-fixture';
import {
  rawClient,
  readEntities,
  setPipeline,
  TestStream,
  write,
  writeUpdates,
} from '../../test/support/raw-p4rt';
import type { P4RuntimeClient } from '../p4runtime/proto';
import { Softnic } from './server';

const OK = 0;
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;

describe('softnic server: arbitration (P4Runtime §5)', () => {
  let nic: Softnic;
  let client: P4RuntimeClient;
  const streams: TestStream[] = [];
  const open = () => {
    const s = new TestStream(client);
    streams.push(s);
    return s;
  };

  beforeEach(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    client = rawClient(nic.address);
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.call.cancel();
    client.close();
    await nic.stop();
  });

  it('makes the highest election id primary and tells each client its status', async () => {
    const a = open();
    a.arbitrate(5);
    const first = await a.nextArbitration();
    assert.strictEqual(first.status?.code ?? OK, OK);
    assert.deepStrictEqual(first.election_id, { low: '5' });
    assert.strictEqual(first.device_id, '1');

    const b = open();
    b.arbitrate(3);
    const backup = await b.nextArbitration();
    assert.strictEqual(backup.status?.code, ALREADY_EXISTS);
    assert.deepStrictEqual(backup.election_id, { low: '5' }, 'backups learn the primary election id');
    assert.strictEqual(a.buffered, 0, 'the primary is not told about a new backup');

    const c = open();
    c.arbitrate(9);
    assert.strictEqual((await c.nextArbitration()).status?.code ?? OK, OK);
    // A new primary is announced to everyone.
    assert.strictEqual((await a.nextArbitration()).status?.code, ALREADY_EXISTS);
    const bNow = await b.nextArbitration();
    assert.strictEqual(bNow.status?.code, ALREADY_EXISTS);
    assert.deepStrictEqual(bNow.election_id, { low: '9' });
  });

  it('fails over to the next highest election id when the primary stream closes', async () => {
    const a = open();
    a.arbitrate(10);
    await a.nextArbitration();
    const b = open();
    b.arbitrate(7);
    await b.nextArbitration();
    assert.ok((await setPipeline(client, { p4info: fixtureP4Info(), electionLow: 10 })) === undefined);
    assert.strictEqual(
      (await setPipeline(client, { p4info: fixtureP4Info(), electionLow: 7 }))?.code,
      grpc.status.PERMISSION_DENIED,
    );
    a.end();
    const promoted = await b.nextArbitration();
    assert.strictEqual(promoted.status?.code ?? OK, OK);
    assert.deepStrictEqual(promoted.election_id, { low: '7' });
    assert.strictEqual(await setPipeline(client, { p4info: fixtureP4Info(), electionLow: 7 }), undefined);
  });

  it('closes a stream that reuses a live election id with INVALID_ARGUMENT', async () => {
    const a = open();
    a.arbitrate(4);
    await a.nextArbitration();
    const b = open();
    b.arbitrate(4);
    const status = await b.closed();
    assert.strictEqual(status.code, grpc.status.INVALID_ARGUMENT);
    // The first holder is unaffected.
    assert.strictEqual(await setPipeline(client, { p4info: fixtureP4Info(), electionLow: 4 }), undefined);
  });

  it('refuses an unknown device id with NOT_FOUND and device id 0 with INVALID_ARGUMENT', async () => {
    const a = open();
    a.arbitrate(1, { deviceId: '2' });
    assert.strictEqual((await a.closed()).code, grpc.status.NOT_FOUND);
    const b = open();
    b.arbitrate(1, { deviceId: '0' });
    assert.strictEqual((await b.closed()).code, grpc.status.INVALID_ARGUMENT);
  });

  it('closes a stream that changes device id with FAILED_PRECONDITION', async () => {
    const a = open();
    a.arbitrate(1);
    await a.nextArbitration();
    a.arbitrate(1, { deviceId: '3' });
    assert.strictEqual((await a.closed()).code, grpc.status.FAILED_PRECONDITION);
  });

  it('never makes a client without election id primary, and reports NOT_FOUND while there is none', async () => {
    const a = open();
    a.arbitrate(undefined);
    const m = await a.nextArbitration();
    assert.strictEqual(m.status?.code, NOT_FOUND);
    assert.strictEqual(m.election_id, undefined);
    assert.strictEqual(
      (await setPipeline(client, { p4info: fixtureP4Info() }))?.code,
      grpc.status.PERMISSION_DENIED,
    );
  });

  it('arbitrates named roles separately and refuses role configs', async () => {
    const a = open();
    a.arbitrate(5);
    await a.nextArbitration();
    const r = open();
    r.arbitrate(5, { role: 'telemetry' });
    const m = await r.nextArbitration();
    assert.strictEqual(m.status?.code ?? OK, OK, 'same election id, other role: primary too');
    assert.deepStrictEqual(m.role, { name: 'telemetry' });
    const c = open();
    c.arbitrate(6, { role: 'x', roleConfig: true });
    assert.strictEqual((await c.closed()).code, grpc.status.UNIMPLEMENTED);
  });

  it('denies Writes from non-primaries and without any stream', async () => {
    const none = await writeUpdates(client, 1, []);
    assert.strictEqual(none?.code, grpc.status.PERMISSION_DENIED);
    const a = open();
    a.arbitrate(8);
    await a.nextArbitration();
    assert.strictEqual((await writeUpdates(client, 7, []))?.code, grpc.status.PERMISSION_DENIED);
    assert.strictEqual(
      (await write(client, { device_id: '1', updates: [] }))?.code,
      grpc.status.PERMISSION_DENIED,
    );
    // Primary, but no pipeline yet (§12 check order).
    assert.strictEqual((await writeUpdates(client, 8, []))?.code, grpc.status.FAILED_PRECONDITION);
    assert.strictEqual((await writeUpdates(client, 8, [], '2'))?.code, grpc.status.NOT_FOUND);
  });
});

describe('softnic server: pipeline config (P4Runtime §14, §15)', () => {
  let nic: Softnic;
  let client: P4RuntimeClient;
  let stream: TestStream;

  beforeEach(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    client = rawClient(nic.address);
    stream = new TestStream(client);
    stream.arbitrate(1);
    await stream.nextArbitration();
  });
  afterEach(async () => {
    stream.call.cancel();
    client.close();
    await nic.stop();
  });

  const stateOf = () => nic.state;
  const getConfig = (responseType: string) =>
    new Promise<{ err: grpc.ServiceError | null; config?: Record<string, unknown> }>((resolve) =>
      client.GetForwardingPipelineConfig(
        { device_id: '1', response_type: responseType as 'ALL' },
        (err, res) => resolve({ err, config: res?.config as Record<string, unknown> | undefined }),
      ),
    );

  it('answers FAILED_PRECONDITION to Read and Get before any pipeline', async () => {
    const r = await readEntities(client, [{ table_entry: {} }]);
    assert.strictEqual(r.failure?.code, grpc.status.FAILED_PRECONDITION);
    assert.strictEqual((await getConfig('COOKIE_ONLY')).err?.code, grpc.status.FAILED_PRECONDITION);
  });

  it('reads the cookie back alone with COOKIE_ONLY and everything with ALL', async () => {
    assert.strictEqual(
      await setPipeline(client, {
        p4info: fixtureP4Info(),
        electionLow: 1,
        cookie: '18446744073709551615',
        deviceConfig: Buffer.from('cfg'),
      }),
      undefined,
    );
    const cookieOnly = await getConfig('COOKIE_ONLY');
    assert.deepStrictEqual(cookieOnly.config, { cookie: { cookie: '18446744073709551615' } });
    const all = (await getConfig('ALL')).config!;
    assert.deepStrictEqual(all.p4_device_config, Buffer.from('cfg'));
    assert.strictEqual((all.p4info as { tables: unknown[] }).tables.length, 3);
    const p4infoOnly = (await getConfig('P4INFO_AND_COOKIE')).config!;
    assert.strictEqual(p4infoOnly.p4_device_config, undefined);
    assert.ok(nic.state);
    assert.strictEqual(nic.state.cookie, '18446744073709551615');
  });

  it('VERIFY checks without installing; bad P4Info is INVALID_ARGUMENT', async () => {
    assert.strictEqual(
      await setPipeline(client, { p4info: fixtureP4Info(), electionLow: 1, action: 'VERIFY' }),
      undefined,
    );
    assert.strictEqual(nic.state, undefined);
    const bad = fixtureP4Info();
    bad.tables![0].action_refs!.push({ id: 0x01999999 });
    assert.strictEqual(
      (await setPipeline(client, { p4info: bad, electionLow: 1 }))?.code,
      grpc.status.INVALID_ARGUMENT,
    );
    assert.strictEqual((await setPipeline(client, { electionLow: 1 }))?.code, grpc.status.INVALID_ARGUMENT);
    assert.strictEqual(
      (await setPipeline(client, { p4info: fixtureP4Info(), electionLow: 1, action: 'RECONCILE_AND_COMMIT' }))
        ?.code,
      grpc.status.UNIMPLEMENTED,
    );
  });

  it('VERIFY_AND_SAVE then COMMIT puts the saved pipeline, with writes made in between, in service', async () => {
    assert.strictEqual(
      (await setPipeline(client, { electionLow: 1, action: 'COMMIT' }))?.code,
      grpc.status.NOT_FOUND,
    );
    assert.strictEqual(
      await setPipeline(client, {
        p4info: fixtureP4Info(),
        electionLow: 1,
        action: 'VERIFY_AND_SAVE',
        cookie: '2',
      }),
      undefined,
    );
    assert.strictEqual(nic.state, undefined);
    const entry = {
      table_id: I.lpmTable,
      match: [{ field_id: 1, lpm: { value: Buffer.from([10, 0, 0, 0]), prefix_len: 8 } }],
      action: { action: { action_id: I.noAction } },
    };
    assert.strictEqual(
      await writeUpdates(client, 1, [{ type: 'INSERT', entity: { table_entry: entry } }]),
      undefined,
    );
    const committed: unknown[] = [];
    nic.onPipelineCommitted((s) => committed.push(s));
    assert.strictEqual(await setPipeline(client, { electionLow: 1, action: 'COMMIT' }), undefined);
    assert.strictEqual(committed.length, 1);
    assert.strictEqual(stateOf()?.table(I.lpmTable).entries.size, 1);
    // VERIFY_AND_COMMIT starts from empty state.
    assert.strictEqual(await setPipeline(client, { p4info: fixtureP4Info(), electionLow: 1 }), undefined);
    assert.strictEqual(stateOf()?.table(I.lpmTable).entries.size, 0);
  });

  it('answers Capabilities with the API version', async () => {
    const res = await new Promise<{ p4runtime_api_version?: string }>((resolve, reject) =>
      client.Capabilities({}, (err, r) => (err ? reject(err) : resolve(r!))),
    );
    assert.match(res.p4runtime_api_version ?? '', /^1\.\d+\.\d+$/);
  });
});
