// Digest batching, de-duplication and acknowledgement (P4Runtime §9.8), on a clock the test moves.

import * as assert from 'assert';
import { FIXTURE_IDS as I, fixtureP4Info, fixtureP4InfoIndex } from '../../test/support/p4info-fixture';
import { connectPrimary, TestStream, rawClient, writeUpdates } from '../../test/support/raw-p4rt';
import type { DigestList } from '../p4runtime/proto';
import { ManualClock } from './clock';
import { DigestEngine } from './digests';
import { Softnic } from './server';
import { PipelineState } from './state';

function setup(config: { maxTimeoutNs: bigint; maxListSize: number; ackTimeoutNs: bigint }) {
  const clock = new ManualClock();
  const state = new PipelineState({ p4info: fixtureP4InfoIndex() });
  const lists: DigestList[] = [];
  const engine = new DigestEngine(state, (l) => lists.push(l), clock);
  state.setOutputs({ digest: (id, m) => engine.digest(id, m), packetIn: () => undefined });
  state.digestConfig.set(I.digest, config);
  engine.configChanged(I.digest, config);
  return { clock, state, lists, engine };
}

const members = (list: DigestList) =>
  (list.data ?? []).map((d) => (d.struct?.members ?? []).map((m) => m.bitstring!.toString('hex')));

describe('softnic digests', () => {
  it('sends each message at once when max_timeout_ns is 0', () => {
    const { state, lists } = setup({ maxTimeoutNs: 0n, maxListSize: 10, ackTimeoutNs: 0n });
    state.emitDigest(I.digest, [0xaabbccddeeffn, 3n]);
    state.emitDigest(I.digest, [0xaabbccddeeffn, 3n]);
    assert.strictEqual(
      lists.length,
      2,
      'without an ack timeout there is no cache: duplicates are sent again',
    );
    assert.deepStrictEqual(members(lists[0]), [['aabbccddeeff', '03']]);
    assert.deepStrictEqual(
      lists.map((l) => l.list_id),
      ['1', '2'],
    );
  });

  it('fills lists up to max_list_size and flushes the rest after max_timeout_ns', () => {
    const { state, lists, clock } = setup({ maxTimeoutNs: 1_000_000n, maxListSize: 2, ackTimeoutNs: 0n });
    state.emitDigest(I.digest, [1n, 1n]);
    state.emitDigest(I.digest, [1n, 1n]); // duplicate of a buffered message: dropped
    assert.strictEqual(lists.length, 0);
    state.emitDigest(I.digest, [2n, 1n]);
    assert.strictEqual(lists.length, 1);
    assert.strictEqual(lists[0].data?.length, 2);
    state.emitDigest(I.digest, [3n, 1n]);
    clock.advance(999_999n);
    assert.strictEqual(lists.length, 1);
    clock.advance(1n);
    assert.strictEqual(lists.length, 2);
    assert.deepStrictEqual(members(lists[1]), [['03', '01']]);
    assert.strictEqual(lists[1].timestamp, clock.nowNs().toString());
  });

  it('suppresses duplicates until the list is acked or the ack timeout passes', () => {
    const { state, lists, clock, engine } = setup({ maxTimeoutNs: 0n, maxListSize: 1, ackTimeoutNs: 5_000n });
    state.emitDigest(I.digest, [7n, 7n]);
    state.emitDigest(I.digest, [7n, 7n]);
    assert.strictEqual(lists.length, 1);
    engine.ack(I.digest, 1n);
    state.emitDigest(I.digest, [7n, 7n]);
    assert.strictEqual(lists.length, 2, 'after the ack the same data is reported again');
    assert.deepStrictEqual(engine.pendingLists(I.digest), [2n]);
    clock.advance(4_999n);
    state.emitDigest(I.digest, [7n, 7n]);
    assert.strictEqual(lists.length, 2);
    clock.advance(1n);
    assert.deepStrictEqual(engine.pendingLists(I.digest), []);
    state.emitDigest(I.digest, [7n, 7n]);
    assert.strictEqual(lists.length, 3, 'after the ack timeout too');
  });

  it('drops digests that are not enabled and stops timers when disabled', () => {
    const { state, lists, clock, engine } = setup({ maxTimeoutNs: 10n, maxListSize: 0, ackTimeoutNs: 10n });
    state.emitDigest(I.digest, [1n, 2n]);
    assert.strictEqual(clock.pending, 1);
    state.digestConfig.delete(I.digest);
    engine.configChanged(I.digest, undefined);
    assert.strictEqual(clock.pending, 0);
    state.emitDigest(I.digest, [1n, 2n]);
    clock.advance(100n);
    assert.strictEqual(lists.length, 0);
    assert.throws(() => state.emitDigest(I.digest, [1n]), /2 members/);
  });

  it('delivers lists to the primary only and takes its acks', async () => {
    const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1, clock: new ManualClock() });
    const s = await connectPrimary(nic.address, fixtureP4Info(), 5);
    const backupClient = rawClient(nic.address);
    const backup = new TestStream(backupClient);
    try {
      backup.arbitrate(2);
      await backup.nextArbitration();
      const config = { max_timeout_ns: '0', max_list_size: 1, ack_timeout_ns: '1000000000' };
      assert.strictEqual(
        await writeUpdates(s.client, 5, [
          { type: 'INSERT', entity: { digest_entry: { digest_id: I.digest, config } } },
        ]),
        undefined,
      );
      nic.state!.emitDigest(I.digest, [0x0a0b0c0d0e0fn, 1n]);
      const m = await s.stream.next();
      assert.strictEqual(m?.update, 'digest');
      assert.strictEqual(m?.digest?.digest_id, I.digest);
      assert.strictEqual(m?.digest?.list_id, '1');
      s.stream.send({ digest_ack: { digest_id: I.digest, list_id: '1' } });
      // A round trip on the stream orders the ack before the next digest.
      s.stream.arbitrate(5);
      await s.stream.nextArbitration();
      nic.state!.emitDigest(I.digest, [0x0a0b0c0d0e0fn, 1n]);
      assert.strictEqual((await s.stream.next())?.digest?.list_id, '2');
      assert.strictEqual(backup.buffered, 0);
    } finally {
      backup.call.cancel();
      backupClient.close();
      s.close();
      await nic.stop();
    }
  });
});
