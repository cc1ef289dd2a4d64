// PacketOut to the data-plane hook and PacketIn to the primary (P4Runtime §16.1).

import * as assert from 'assert';
import * as grpc from '@grpc/grpc-js';
import { fixtureP4Info } from '../../test/support/p4info-fixture';
import { connectPrimary, rawClient, TestStream, type PrimarySession } from '../../test/support/raw-p4rt';
import { Softnic } from './server';
import type { PipelineState } from './state';

describe('softnic server: packet I/O (P4Runtime §16.1)', () => {
  let nic: Softnic;
  let s: PrimarySession;

  beforeEach(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    s = await connectPrimary(nic.address, fixtureP4Info(), 3);
  });
  afterEach(async () => {
    s.close();
    await nic.stop();
  });

  it("hands the primary's PacketOuts to the processor with decoded metadata and the committed state", async () => {
    const seen: { payload: string; metadata: [number, bigint][]; state: PipelineState }[] = [];
    nic.setDataplane({
      packetOut: (payload, metadata, state) =>
        seen.push({ payload: payload.toString(), metadata: [...metadata], state }),
    });
    const arrived = new Promise<void>((resolve) => nic.onPacketOut(() => resolve()));
    s.stream.send({
      packet: {
        payload: Buffer.from('frame'),
        metadata: [{ metadata_id: 1, value: Buffer.from([0, 1, 0xff]) }],
      },
    });
    await arrived;
    assert.strictEqual(seen.length, 1);
    assert.strictEqual(seen[0].payload, 'frame');
    assert.deepStrictEqual(seen[0].metadata, [[1, 0x1ffn]]);
    assert.strictEqual(seen[0].state, nic.state);
  });

  it('answers a PacketOut with bad metadata with a StreamError naming it', async () => {
    nic.setDataplane({ packetOut: () => assert.fail('must not be called') });
    s.stream.send({
      packet: { payload: Buffer.from('x'), metadata: [{ metadata_id: 1, value: Buffer.from([0x02, 0x00]) }] },
    });
    const m = await s.stream.next();
    assert.strictEqual(m?.update, 'error');
    assert.strictEqual(m?.error?.canonical_code, grpc.status.INVALID_ARGUMENT);
    assert.deepStrictEqual(m?.error?.packet_out?.packet_out?.payload, Buffer.from('x'));
  });

  it('ignores PacketOuts from backups', async () => {
    const calls: string[] = [];
    nic.setDataplane({ packetOut: (p) => calls.push(p.toString()) });
    const client = rawClient(nic.address);
    const backup = new TestStream(client);
    try {
      backup.arbitrate(1);
      await backup.nextArbitration();
      backup.send({ packet: { payload: Buffer.from('from backup') } });
      const primaryDone = new Promise<void>((resolve) => nic.onPacketOut(() => resolve()));
      // Streams are independent; re-arbitrating the backup is answered after its PacketOut was read.
      backup.arbitrate(1);
      await backup.nextArbitration();
      s.stream.send({ packet: { payload: Buffer.from('from primary') } });
      await primaryDone;
      assert.deepStrictEqual(calls, ['from primary']);
    } finally {
      backup.call.cancel();
      client.close();
    }
  });

  it('sends PacketIns to the primary with encoded metadata', async () => {
    nic.state!.emitPacketIn(
      Buffer.from('to cpu'),
      new Map([
        [1, 5n],
        [2, 9n],
      ]),
    );
    const m = await s.stream.next();
    assert.strictEqual(m?.update, 'packet');
    assert.deepStrictEqual(m?.packet?.payload, Buffer.from('to cpu'));
    assert.deepStrictEqual(m?.packet?.metadata, [
      { metadata_id: 1, value: Buffer.from([5]) },
      { metadata_id: 2, value: Buffer.from([9]) },
    ]);
    assert.throws(() => nic.state!.emitPacketIn(Buffer.from('x'), new Map([[7, 1n]])), /no metadata id 7/);
  });
});
