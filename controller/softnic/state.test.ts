import * as assert from 'assert';
import { FIXTURE_IDS as I, EXACT_TABLE_SIZE, fixtureP4InfoIndex } from '../../test/support/p4info-fixture';
import type { NormalizedFieldMatch } from '../p4runtime/values';
import { PipelineState, SoftnicStateError, entryKey, type EntryFields } from './state';

function exactFields(a: bigint, port: bigint, metadata = Buffer.alloc(0)): EntryFields {
  return {
    matches: new Map<number, NormalizedFieldMatch>([[1, { kind: 'EXACT', fieldId: 1, value: a }]]),
    priority: 0,
    actionId: I.setPort,
    params: new Map([[1, port]]),
    metadata,
  };
}

describe('softnic PipelineState', () => {
  it('sizes indexed resources from the P4Info and finds them by id and name', () => {
    const state = new PipelineState({ p4info: fixtureP4InfoIndex(), cookie: '7' });
    assert.strictEqual(state.counter('ing.c').length, 8);
    assert.strictEqual(state.counter(I.counter), state.counter('c'));
    assert.strictEqual(state.meter(I.meter).length, 4);
    assert.deepStrictEqual(state.register('ing.r'), new Array(8).fill(0n));
    assert.strictEqual(state.table('exact_t').info.id, I.exactTable);
    assert.strictEqual(state.cookie, '7');
    assert.throws(
      () => state.table('nope'),
      (e: unknown) => e instanceof SoftnicStateError && e.code === 'UNKNOWN_OBJECT',
    );
  });

  it('keys entries by normalized match and priority', () => {
    const info = fixtureP4InfoIndex().table(I.ternaryTable);
    const a = new Map<number, NormalizedFieldMatch>([
      [1, { kind: 'EXACT', fieldId: 1, value: 5n }],
      [2, { kind: 'TERNARY', fieldId: 2, value: 0x0a000000n, mask: 0xff000000n }],
    ]);
    const b = new Map<number, NormalizedFieldMatch>([
      [2, { kind: 'TERNARY', fieldId: 2, value: 0x0a000000n, mask: 0xff000000n }],
      [1, { kind: 'EXACT', fieldId: 1, value: 5n }],
    ]);
    assert.strictEqual(entryKey(info, a, 10), entryKey(info, b, 10));
    assert.notStrictEqual(entryKey(info, a, 10), entryKey(info, a, 11));
    // A don't-care differs from every concrete match of the same field.
    const c = new Map(a);
    c.set(4, { kind: 'OPTIONAL', fieldId: 4, value: 0n });
    assert.notStrictEqual(entryKey(info, a, 10), entryKey(info, c, 10));
  });

  it('bumps the generation on entry changes, keeps sequence and counter across modify', () => {
    const table = new PipelineState({ p4info: fixtureP4InfoIndex() }).table(I.exactTable);
    const g0 = table.generation;
    const first = table.insert(exactFields(1n, 2n));
    table.insert(exactFields(3n, 4n));
    assert.ok(table.generation > g0);
    first.counter.packets = 9n;
    const g1 = table.generation;
    const modified = table.modify(exactFields(1n, 7n), undefined, {
      cir: 1n,
      cburst: 2n,
      pir: 3n,
      pburst: 4n,
      eburst: 0n,
    });
    assert.ok(table.generation > g1);
    assert.strictEqual(modified.sequence, first.sequence);
    assert.strictEqual(modified.counter.packets, 9n);
    assert.strictEqual(modified.meter?.config?.pir, 3n);
    assert.strictEqual(table.get(first.key), modified);
    // MODIFY without meter config resets the meter (P4Runtime §9.1.7).
    const reset = table.modify(exactFields(1n, 7n));
    assert.strictEqual(reset.meter?.config, undefined);
    assert.strictEqual(table.delete(first.key), reset);
    assert.strictEqual(table.delete(first.key), undefined);
  });

  it('refuses duplicates and overfilling', () => {
    const table = new PipelineState({ p4info: fixtureP4InfoIndex() }).table(I.exactTable);
    table.insert(exactFields(0n, 0n));
    assert.throws(() => table.insert(exactFields(0n, 1n)), /already has/);
    for (let i = 1; i < EXACT_TABLE_SIZE; i++) table.insert(exactFields(BigInt(i), 0n));
    assert.throws(
      () => table.insert(exactFields(100n, 0n)),
      (e: unknown) => e instanceof SoftnicStateError && e.code === 'TABLE_FULL',
    );
  });

  it('renders stored entries in canonical wire form', () => {
    const table = new PipelineState({ p4info: fixtureP4InfoIndex() }).table(I.exactTable);
    const e = table.insert(exactFields(0x102n, 0n, Buffer.from('why')));
    assert.deepStrictEqual(e.proto, {
      table_id: I.exactTable,
      match: [{ field_id: 1, exact: { value: Buffer.from([1, 2]) } }],
      action: { action: { action_id: I.setPort, params: [{ param_id: 1, value: Buffer.from([0]) }] } },
      metadata: Buffer.from('why'),
    });
  });

  it('derives default actions and resets them', () => {
    const state = new PipelineState({ p4info: fixtureP4InfoIndex() });
    assert.strictEqual(state.table(I.ternaryTable).defaultActionId, I.drop);
    assert.strictEqual(state.table(I.lpmTable).defaultActionId, I.noAction);
    assert.strictEqual(state.table(I.exactTable).defaultActionId, 0);
    const exact = state.table(I.exactTable);
    exact.setDefault(I.defaultOnly, new Map([[1, 3n]]));
    assert.strictEqual(exact.defaultActionId, I.defaultOnly);
    assert.deepStrictEqual(exact.defaultProto().action, {
      action: { action_id: I.defaultOnly, params: [{ param_id: 1, value: Buffer.from([3]) }] },
    });
    exact.setDefault();
    assert.strictEqual(exact.defaultActionId, 0);
  });

  it('hands data-plane outputs to the installed receiver only', () => {
    const state = new PipelineState({ p4info: fixtureP4InfoIndex() });
    state.emitDigest(I.digest, [1n, 2n]); // no receiver: dropped without error
    const seen: unknown[] = [];
    state.setOutputs({
      digest: (id, members) => seen.push(['digest', id, members]),
      packetIn: (payload, md) => seen.push(['packetIn', payload.toString(), [...md]]),
    });
    state.emitDigest(I.digest, [1n, 2n]);
    state.emitPacketIn(Buffer.from('x'), new Map([[1, 5n]]));
    assert.deepStrictEqual(seen, [
      ['digest', I.digest, [1n, 2n]],
      ['packetIn', 'x', [[1, 5n]]],
    ]);
  });
});
