import { strict as assert } from 'assert';
import * as grpc from '@grpc/grpc-js';
import { fixtureP4InfoIndex } from '../../test/support/p4info-fixture';
import type { EntrySpec } from '../pipeline/entries';
import { PROFILES } from '../pipeline/profiles';
import { codecFor } from './entities';
import { UnsupportedByProfileError } from './errors';
import { encodeMessage, type P4Error } from './proto';
import {
  batchFailures,
  checkAtomicity,
  checkProfile,
  decodeErrorDetails,
  describeFailures,
  encodeUpdates,
  planBatches,
  writeRequestHeader,
  type WriteOp,
} from './write';
import { decodeMessage } from './proto';
import { fromUint128 } from './arbitration';

const codec = codecFor(fixtureP4InfoIndex());

function entry(a: number, metadataBytes = 0): EntrySpec {
  const spec: EntrySpec = {
    table: 'exact_t',
    match: { a: { kind: 'exact', value: BigInt(a) } },
    action: 'set_port',
    params: { port: 1n },
  };
  return metadataBytes ? { ...spec, metadata: Buffer.alloc(metadataBytes, 7) } : spec;
}

function offsetsOf(sizes: number[]): Int32Array {
  const offsets = new Int32Array(sizes.length + 1);
  sizes.forEach((s, i) => (offsets[i + 1] = offsets[i] + s));
  return offsets;
}

describe('write: batching', () => {
  it('cuts at the update count limit', () => {
    const batches = planBatches(offsetsOf(new Array(10).fill(10)), { maxUpdates: 4, maxBytes: 1e6 });
    assert.deepEqual(batches, [
      { start: 0, end: 4 },
      { start: 4, end: 8 },
      { start: 8, end: 10 },
    ]);
  });

  it('cuts at the byte limit, filling each batch as far as it goes', () => {
    const batches = planBatches(offsetsOf([40, 40, 30, 50, 10, 90]), { maxUpdates: 100, maxBytes: 100 });
    assert.deepEqual(batches, [
      { start: 0, end: 2 }, // 80; +30 would be 110
      { start: 2, end: 5 }, // 30+50+10 = 90
      { start: 5, end: 6 },
    ]);
  });

  it('refuses an update that no batch can carry, naming it', () => {
    assert.throws(
      () => planBatches(offsetsOf([10, 200, 10]), { maxUpdates: 10, maxBytes: 100 }),
      /update #1 takes 200 bytes/,
    );
  });

  it('splits real encoded updates so that every batch decodes to its share, in order', () => {
    const ops: WriteOp[] = Array.from({ length: 50 }, (_, i) => ({ type: 'INSERT', entry: entry(i, 200) }));
    const encoded = encodeUpdates(ops, codec);
    const header = writeRequestHeader(7n, 'r', { high: '0', low: '9' }, 'CONTINUE_ON_ERROR');
    const batches = planBatches(encoded.offsets, { maxUpdates: 8, maxBytes: 2000 });
    assert.ok(batches.length > 50 / 8, 'the byte limit, not only the count, shaped the batches');
    let next = 0;
    for (const b of batches) {
      const body = encoded.bytes.subarray(encoded.offsets[b.start], encoded.offsets[b.end]);
      assert.ok(body.length <= 2000 && b.end - b.start <= 8);
      const req = decodeMessage('p4.v1.WriteRequest', Buffer.concat([header, body]));
      assert.equal(req.device_id, '7');
      assert.equal(req.role, 'r');
      assert.equal(fromUint128(req.election_id), 9n);
      for (const u of req.updates ?? []) {
        assert.deepEqual(codec.fromTableEntry(u.entity!.table_entry!).match, entry(next).match);
        next++;
      }
    }
    assert.equal(next, 50);
  });
});

function statusTrailer(
  errors: P4Error[],
  typeUrl = 'type.googleapis.com/p4.v1.Error',
): { metadata: grpc.Metadata } {
  const metadata = new grpc.Metadata();
  metadata.set(
    'grpc-status-details-bin',
    encodeMessage('google.rpc.Status', {
      code: 2,
      message: 'Write failure.',
      details: errors.map((e) => ({ type_url: typeUrl, value: encodeMessage('p4.v1.Error', e) })),
    }),
  );
  return { metadata };
}

describe('write: per-update errors (P4Runtime §12.3)', () => {
  const ops = ['a', 'b', 'c', 'd', 'e', 'f'];

  it('maps each failed p4.v1.Error to the caller index of its update', () => {
    const err = statusTrailer([
      { canonical_code: 0 },
      { canonical_code: 6, message: 'Entity already exists.', space: 'targetX', code: 600 },
      { canonical_code: 0 },
      { canonical_code: 8, message: 'Table is full.' },
    ]);
    const failures = batchFailures(err, { start: 2, end: 6 }, ops);
    assert.deepEqual(failures, [
      {
        index: 3,
        canonicalCode: 6,
        status: 'ALREADY_EXISTS',
        message: 'Entity already exists.',
        space: 'targetX',
        targetCode: 600,
        update: 'd',
      },
      { index: 5, canonicalCode: 8, status: 'RESOURCE_EXHAUSTED', message: 'Table is full.', update: 'f' },
    ]);
    assert.match(describeFailures([], 6), /0 of 6/);
  });

  it('will not pin errors on updates when the count does not match the batch', () => {
    assert.equal(batchFailures(statusTrailer([{ canonical_code: 6 }]), { start: 0, end: 2 }, ops), undefined);
  });

  it('ignores a trailer that is not a list of p4.v1.Error', () => {
    assert.equal(
      decodeErrorDetails(statusTrailer([{ canonical_code: 6 }], 'type.googleapis.com/google.rpc.BadRequest')),
      undefined,
    );
    assert.equal(decodeErrorDetails({ metadata: new grpc.Metadata() }), undefined);
  });
});

describe('write: profile refusals', () => {
  const blue = PROFILES['bluefield-dpl'];
  const refused = (op: WriteOp) => {
    try {
      checkProfile(blue, op);
    } catch (err) {
      assert.ok(err instanceof UnsupportedByProfileError);
      assert.equal(err.profile, 'bluefield-dpl');
      assert.match(err.message, /bluefield-dpl/);
      return err.operation;
    }
    return undefined;
  };

  it('refuses MODIFY of ordinary entries where the target has none, allows INSERT and DELETE', () => {
    assert.equal(refused({ type: 'MODIFY', entry: entry(1) }), 'MODIFY table entry');
    assert.equal(refused({ type: 'INSERT', entry: entry(1) }), undefined);
    assert.equal(refused({ type: 'DELETE', entry: entry(1) }), undefined);
    assert.equal(
      refused({ type: 'MODIFY', entity: { table_entry: { table_id: 1, is_default_action: true } } }),
      undefined,
    );
    assert.equal(refused({ type: 'MODIFY', entity: { table_entry: { table_id: 1 } } }), 'MODIFY table entry');
  });

  it('refuses register and digest operations on targets without them', () => {
    assert.equal(
      refused({ type: 'MODIFY', register: { register: 'ing.r', index: 0, value: 1n } }),
      'register write',
    );
    assert.equal(
      refused({ type: 'MODIFY', entity: { register_entry: { register_id: 1 } } }),
      'register write',
    );
    assert.equal(
      refused({ type: 'INSERT', entity: { digest_entry: { digest_id: 1 } } }),
      'digest configuration',
    );
    // bmv2's server answers register writes with UNIMPLEMENTED: refused before sending there too.
    assert.throws(
      () =>
        checkProfile(PROFILES.bmv2, { type: 'MODIFY', register: { register: 'ing.r', index: 0, value: 1n } }),
      /bmv2.*no register access over P4Runtime/,
    );
    const withAccess = { ...PROFILES.bmv2, registerAccess: true };
    assert.doesNotThrow(() =>
      checkProfile(withAccess, { type: 'MODIFY', register: { register: 'ing.r', index: 0, value: 1n } }),
    );
  });

  it('refuses atomicity modes the profile does not list', () => {
    assert.throws(
      () => checkAtomicity(PROFILES.bmv2, 'ROLLBACK_ON_ERROR'),
      /supports atomicity CONTINUE_ON_ERROR only/,
    );
    assert.throws(() => checkAtomicity(blue, 'DATAPLANE_ATOMIC'), UnsupportedByProfileError);
    assert.doesNotThrow(() => checkAtomicity(blue, 'CONTINUE_ON_ERROR'));
  });
});
