// The client against the softnic over real gRPC on loopback: arbitration between contending
// clients (P4Runtime §5), failover, and recovery of the session after the device goes away.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { once } from 'events';
import { DeviceClient, type ClientOptions } from '../../controller/p4runtime/client';
import {
  ArbitrationError,
  NotPrimaryError,
  UnsupportedByProfileError,
} from '../../controller/p4runtime/errors';
import { loadP4Info, type P4InfoIndex } from '../../controller/p4runtime/p4info';
import type { EntrySpec } from '../../controller/pipeline/entries';
import { Softnic } from '../../controller/softnic/server';
import { rawClient, write as rawWrite } from '../support/raw-p4rt';
import { toTableEntry } from '../../controller/p4runtime/entities';

const P4INFO_FILE = path.join(__dirname, '..', '..', '..', 'p4', 'build', 'nicguard.p4info.json');

function nicguardP4Info(): P4InfoIndex {
  return loadP4Info(fs.readFileSync(P4INFO_FILE, 'utf8'));
}

function portEntry(port: number, agent: number): EntrySpec {
  return {
    table: 'NicguardIngress.port_map',
    match: { ingress_port: { kind: 'exact', value: BigInt(port) } },
    action: 'NicguardIngress.agent_port',
    params: { agent_id: BigInt(agent), uplink_port: 1n, flags: 0n, exfil_limit: 0n },
  };
}

describe('conformance: client arbitration and session recovery (softnic)', function () {
  this.timeout(30_000);
  const p4info = nicguardP4Info();
  let nic: Softnic;
  const clients: DeviceClient[] = [];

  async function connect(electionId: bigint, extra: Partial<ClientOptions> = {}): Promise<DeviceClient> {
    const client = await DeviceClient.connect({
      address: nic.address,
      deviceId: 1n,
      electionId,
      insecure: true,
      profile: 'softnic',
      p4info,
      reconnect: { initialMs: 20, maxMs: 200 },
      ...extra,
    });
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1n });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    nic.kill();
  });

  it('makes the highest election id primary; the backup cannot write, locally or on the wire', async () => {
    const a = await connect(1n);
    assert.equal(a.state, 'primary');
    await a.ensurePipeline({ p4info, deviceConfig: Buffer.alloc(0) });
    const demoted = once(a, 'demoted');
    const b = await connect(2n);
    assert.equal(b.state, 'primary');
    const [outcome] = await demoted;
    assert.equal(outcome.primaryElectionId, 2n);
    assert.equal(a.state, 'backup');
    assert.equal(a.isPrimary, false);

    await assert.rejects(a.write([{ type: 'INSERT', entry: portEntry(3, 7) }]), (err: unknown) => {
      assert.ok(err instanceof NotPrimaryError);
      assert.equal(err.state, 'backup');
      return true;
    });
    // Had the refusal not been local, the device would have said the same (P4Runtime §5).
    const raw = rawClient(nic.address);
    const failure = await rawWrite(raw, {
      device_id: '1',
      election_id: { high: '0', low: '1' },
      updates: [{ type: 'INSERT', entity: { table_entry: toTableEntry(portEntry(3, 7), p4info) } }],
    });
    raw.close();
    assert.equal(failure?.code, 7 /* PERMISSION_DENIED */);
    assert.deepEqual(await b.readTableEntries('port_map'), []);

    await b.write([{ type: 'INSERT', entry: portEntry(4, 8) }]);
    assert.equal((await a.readTableEntries('port_map')).length, 1, 'a backup may still read');
  });

  it('fails over to the backup when the primary goes away', async () => {
    const a = await connect(5n);
    const b = await connect(9n);
    await b.ensurePipeline({ p4info, deviceConfig: Buffer.alloc(0) });
    assert.equal(a.state, 'backup');
    const promoted = once(a, 'primary');
    b.close();
    const [outcome] = await promoted;
    assert.equal(outcome.status, 'OK');
    assert.equal(a.isPrimary, true);
    await a.write([{ type: 'INSERT', entry: portEntry(1, 2) }]);
    assert.deepEqual(
      (await a.readTableEntries('port_map')).map((r) => r.entry),
      [portEntry(1, 2)],
    );
  });

  it('refuses to connect a second live client with the same election id', async () => {
    await connect(3n);
    await assert.rejects(connect(3n, { reconnect: false }), (err: unknown) => {
      assert.ok(err instanceof ArbitrationError);
      assert.equal(err.status, 'INVALID_ARGUMENT');
      return true;
    });
  });

  it('reconnects after the device dies, re-arbitrates with the same election id, and reports it', async () => {
    const a = await connect(42n);
    await a.ensurePipeline({ p4info, deviceConfig: Buffer.alloc(0) });
    const port = nic.port;
    const events: string[] = [];
    for (const name of ['disconnected', 'reconnecting', 'reconnected', 'primary'] as const)
      a.on(name, () => events.push(name));
    const disconnected = once(a, 'disconnected');
    nic.kill();
    await disconnected;
    assert.equal(a.state, 'disconnected');
    await assert.rejects(a.write([{ type: 'INSERT', entry: portEntry(1, 1) }]), (err: unknown) => {
      assert.ok(err instanceof NotPrimaryError);
      assert.equal(err.state, 'disconnected');
      return true;
    });

    const reconnected = once(a, 'reconnected');
    nic = await Softnic.start({ address: `127.0.0.1:${port}`, deviceId: 1n });
    const [info] = await reconnected;
    assert.equal(info.primary, true);
    assert.equal(info.arbitration.primaryElectionId, 42n);
    assert.equal(a.state, 'primary');
    assert.deepEqual(
      events.filter((e, i) => e !== events[i - 1]),
      ['disconnected', 'reconnecting', 'primary', 'reconnected'],
    );

    // Nothing survived on the restarted device: the owner reconciles, starting with the pipeline.
    const pushed = await a.ensurePipeline({ p4info, deviceConfig: Buffer.alloc(0) });
    assert.equal(pushed.pushed, true);
    await a.write([{ type: 'INSERT', entry: portEntry(1, 1) }]);
    assert.equal((await a.readTableEntries('port_map')).length, 1);
    assert.ok((await a.ping()) >= 0);
  });

  it('sends no arbitration for a profile without it, and refuses locally what the profile lacks', async () => {
    const primary = await connect(7n);
    await primary.ensurePipeline({ p4info, deviceConfig: Buffer.alloc(0) });
    const blue = await connect(8n, { profile: 'bluefield-dpl' });
    // No MasterArbitrationUpdate went out: the primary was not displaced by a higher election id.
    assert.equal(primary.state, 'primary');
    assert.equal(blue.arbitration, undefined);
    const refusal = (operation: string) => (err: unknown) => {
      assert.ok(err instanceof UnsupportedByProfileError);
      assert.equal(err.profile, 'bluefield-dpl');
      assert.equal(err.operation, operation);
      return true;
    };
    await assert.rejects(
      blue.write([{ type: 'MODIFY', entry: portEntry(1, 1) }]),
      refusal('MODIFY table entry'),
    );
    await assert.rejects(
      blue.write([
        { type: 'MODIFY', register: { register: 'NicguardIngress.quota_used', index: 0, value: 1n } },
      ]),
      refusal('register write'),
    );
    await assert.rejects(blue.readRegisters('quota_used'), refusal('register read'));
    await assert.rejects(
      blue.configureDigest('deny_digest_t', { maxTimeoutNs: 0, maxListSize: 1, ackTimeoutNs: 0 }),
      refusal('digest configuration'),
    );
    await assert.rejects(
      blue.write([{ type: 'INSERT', entry: portEntry(1, 1) }], { atomicity: 'DATAPLANE_ATOMIC' }),
      refusal('atomicity DATAPLANE_ATOMIC'),
    );
    // What it may do is sent; this device arbitrates, so it answers as §5 requires of a non-primary.
    await assert.rejects(blue.write([{ type: 'INSERT', entry: portEntry(1, 1) }]), (err: unknown) => {
      assert.ok(err instanceof NotPrimaryError);
      assert.equal(err.state, 'device');
      return true;
    });
    assert.ok((await blue.ping()) >= 0, 'liveness by a small Read where Capabilities is missing');
  });

  it('carries PacketOut and PacketIn with named controller metadata (P4Runtime §16.1)', async () => {
    const a = await connect(1n);
    await a.ensurePipeline({ p4info, deviceConfig: Buffer.alloc(0) });
    const out = new Promise<[Buffer, ReadonlyMap<number, bigint>]>((resolve) =>
      nic.onPacketOut((payload, metadata) => resolve([payload, metadata])),
    );
    a.sendPacketOut(Buffer.from('frame-out'), { ingress_port: 300n, report: 1n });
    const [payload, metadata] = await out;
    assert.equal(payload.toString(), 'frame-out');
    const field = (name: string) => p4info.packetMetadataField('packet_out', name).id;
    assert.equal(metadata.get(field('ingress_port')), 300n);
    assert.equal(metadata.get(field('report')), 1n);
    assert.equal(metadata.get(field('_pad')), 0n);

    const received = once(a, 'packetIn');
    const inField = (name: string) => p4info.packetMetadataField('packet_in', name).id;
    nic.state!.emitPacketIn(
      Buffer.from('frame-in'),
      new Map([
        [inField('ingress_port'), 3n],
        [inField('egress_port'), 255n],
        [inField('reason'), 6n],
        [inField('rule_id'), 0xdeadbeefn],
        [inField('_pad'), 0n],
      ]),
    );
    const [packet] = await received;
    assert.equal(packet.payload.toString(), 'frame-in');
    assert.deepStrictEqual(packet.metadata, {
      ingress_port: 3n,
      egress_port: 255n,
      reason: 6n,
      rule_id: 0xdeadbeefn,
      _pad: 0n,
    });
  });
});
