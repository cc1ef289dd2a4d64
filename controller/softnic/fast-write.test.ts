// The fast lane (fast-write.ts) must agree with the general path on every update: same outcome,
// same stored state. Checked on random batches mixing valid and invalid table entries.

import * as assert from 'assert';
import fc from 'fast-check';
import { FIXTURE_IDS as I, fixtureP4InfoIndex } from '../../test/support/p4info-fixture';
import { encodeMessage, type FieldMatch, type TableEntry, type Update } from '../p4runtime/proto';
import { PipelineState } from './state';
import { decodeUpdate } from './wire';
import { WriteProcessor } from './writes';

const bytes = (maxLen: number) =>
  fc.uint8Array({ minLength: 0, maxLength: maxLen }).map((a) => Buffer.from(a));
/** Mostly small values (often valid), sometimes padded, empty or too wide. */
const value = (width: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: (1n << BigInt(width)) - 1n }).map((v) => toBytes(v)) },
    {
      weight: 2,
      arbitrary: fc.bigInt({ min: 0n, max: 3n }).map((v) => Buffer.concat([Buffer.alloc(1), toBytes(v)])),
    },
    { weight: 1, arbitrary: bytes(Math.ceil(width / 8) + 1) },
  );

function toBytes(v: bigint): Buffer {
  const hex = v.toString(16);
  return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
}

const fieldMatch: fc.Arbitrary<FieldMatch> = fc.oneof(
  value(8).map((v) => ({ field_id: 1, exact: { value: v } })),
  fc.tuple(value(32), fc.constantFrom(0xffffffffn, 0xff000000n, 0xffff0000n, 0n, 0x0fn)).map(([v, m]) => ({
    field_id: 2,
    ternary: { value: v, mask: toBytes(m) },
  })),
  fc.tuple(value(16), value(16)).map(([lo, hi]) => ({ field_id: 3, range: { low: lo, high: hi } })),
  value(8).map((v) => ({ field_id: 4, optional: { value: v } })),
  value(8).map((v) => ({ field_id: 2, exact: { value: v } })),
  value(8).map((v) => ({ field_id: 9, exact: { value: v } })),
);

const lpmMatch: fc.Arbitrary<FieldMatch> = fc
  .tuple(value(32), fc.integer({ min: -1, max: 33 }))
  .map(([v, p]) => ({ field_id: 1, lpm: { value: v, prefix_len: p } }));

const action = fc.oneof(
  {
    weight: 5,
    arbitrary: value(9).map((v) => ({
      action: { action_id: I.setPort, params: [{ param_id: 1, value: v }] },
    })),
  },
  { weight: 2, arbitrary: fc.constant({ action: { action_id: I.drop } }) },
  { weight: 1, arbitrary: fc.constant({ action: { action_id: I.noAction } }) },
  { weight: 1, arbitrary: fc.constant({ action: { action_id: I.setPort } }) },
  {
    weight: 1,
    arbitrary: fc.constant({
      action: { action_id: I.defaultOnly, params: [{ param_id: 1, value: Buffer.from([1]) }] },
    }),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const entry = fc.oneof(
  fc.record({
    table_id: fc.constant(I.ternaryTable),
    match: fc.array(fieldMatch, { maxLength: 4 }),
    priority: fc.constantFrom(0, 1, 2, 7),
    action,
    metadata: fc.oneof(fc.constant(undefined), bytes(6)),
  }),
  fc.record({
    table_id: fc.constant(I.lpmTable),
    match: fc.array(lpmMatch, { maxLength: 2 }),
    priority: fc.constantFrom(0, 0, 3),
    action,
  }),
  fc.record({
    table_id: fc.constant(I.exactTable),
    match: fc.constant([{ field_id: 1, exact: { value: Buffer.from([0, 1]) } }]),
    action,
  }),
) as fc.Arbitrary<TableEntry>;

const update: fc.Arbitrary<Update> = fc.record({
  type: fc.constantFrom('INSERT', 'INSERT', 'MODIFY', 'DELETE', 'UNSPECIFIED') as fc.Arbitrary<
    Update['type']
  >,
  entity: entry.map((table_entry) => ({ table_entry: JSON.parse(JSON.stringify(table_entry), revive) })),
});

// Strips undefined members (JSON round trip) and turns serialised Buffers back into Buffers.
function revive(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer')
    return Buffer.from((v as { data: number[] }).data);
  return v;
}

function snapshot(state: PipelineState) {
  const out: unknown[] = [];
  for (const t of state.allTables()) {
    for (const e of t.entries.values()) {
      out.push([
        t.info.id,
        e.key,
        e.priority,
        e.actionId,
        [...e.params],
        e.metadata.toString('hex'),
        e.sequence,
      ]);
    }
  }
  return out;
}

describe('softnic fast write lane', () => {
  it('agrees with the general path on random batches', () => {
    let taken = 0;
    fc.assert(
      fc.property(fc.array(update, { minLength: 1, maxLength: 40 }), (updates) => {
        const fastState = new PipelineState({ p4info: fixtureP4InfoIndex() });
        const slowState = new PipelineState({ p4info: fixtureP4InfoIndex() });
        const fast = new WriteProcessor(fastState);
        const slow = new WriteProcessor(slowState);
        const lane = (fast as unknown as { fast: { tryApply(b: Buffer, s: number, e: number): boolean } })
          .fast;
        const tryApply = lane.tryApply.bind(lane);
        lane.tryApply = (b, s, e) => {
          const took = tryApply(b, s, e);
          if (took) taken++;
          return took;
        };
        for (const u of updates) {
          const encoded = encodeMessage('p4.v1.Update', u);
          const a = fast.applyEncoded(encoded, 0, encoded.length);
          const b = slow.apply(decodeUpdate(encoded, 0, encoded.length));
          assert.strictEqual(a?.status, b?.status, `${JSON.stringify(u)}: ${a?.message} / ${b?.message}`);
          assert.strictEqual(a?.code, b?.code);
        }
        assert.deepStrictEqual(snapshot(fastState), snapshot(slowState));
      }),
      { numRuns: 300 },
    );
    assert.ok(taken > 100, `the fast lane took only ${taken} updates: the comparison would be vacuous`);
  });

  it('takes valid ordinary entries without decoding them', () => {
    const state = new PipelineState({ p4info: fixtureP4InfoIndex() });
    const w = new WriteProcessor(state);
    const u: Update = {
      type: 'INSERT',
      entity: {
        table_entry: {
          table_id: I.ternaryTable,
          priority: 5,
          match: [
            { field_id: 1, exact: { value: Buffer.from([0, 7]) } },
            {
              field_id: 2,
              ternary: { value: Buffer.from([10, 0, 0, 0]), mask: Buffer.from([255, 0, 0, 0]) },
            },
          ],
          action: { action: { action_id: I.setPort, params: [{ param_id: 1, value: Buffer.from([1, 0]) }] } },
          metadata: Buffer.from('m'),
        },
      },
    };
    const encoded = encodeMessage('p4.v1.Update', u);
    const lane = (w as unknown as { fast: { tryApply(b: Buffer, s: number, e: number): boolean } }).fast;
    assert.strictEqual(lane.tryApply(encoded, 0, encoded.length), true);
    const e = [...state.table(I.ternaryTable).entries.values()][0];
    assert.deepStrictEqual(
      [...e.matches.values()],
      [
        { kind: 'EXACT', fieldId: 1, value: 7n },
        { kind: 'TERNARY', fieldId: 2, value: 0x0a000000n, mask: 0xff000000n },
      ],
    );
    assert.deepStrictEqual([...e.params], [[1, 256n]]);
    assert.strictEqual(e.metadata.toString(), 'm');
    // The same entry again is a duplicate: the lane declines and leaves the answer to the general path.
    assert.strictEqual(lane.tryApply(encoded, 0, encoded.length), false);
    assert.strictEqual(w.applyEncoded(encoded, 0, encoded.length)?.code, 'ALREADY_EXISTS');
  });
});
