import { strict as assert } from 'assert';
import fc from 'fast-check';
import { electionIdValue, fromUint128, readArbitration, toUint128, transitions } from './arbitration';
import { ClientOptionsError } from './errors';
import { decodeMessage, encodeMessage } from './proto';

describe('arbitration', () => {
  it('carries any uint128 election id through Uint128 and back', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (id) => {
        const wire = decodeMessage('p4.v1.Uint128', encodeMessage('p4.v1.Uint128', toUint128(id)));
        assert.equal(fromUint128(wire), id);
        assert.equal(electionIdValue({ high: BigInt(wire.high ?? 0), low: wire.low ?? '0' }), id);
      }),
    );
  });

  it('refuses election ids that are not uint128', () => {
    assert.throws(() => electionIdValue(-1n), ClientOptionsError);
    assert.throws(() => electionIdValue(1n << 128n), ClientOptionsError);
    assert.throws(() => electionIdValue({ high: 1n << 64n, low: 0 }), ClientOptionsError);
    assert.throws(() => electionIdValue(2 ** 60), /safe integer/);
  });

  it('reads the status the device sets for primary, backup and no primary (P4Runtime §5.4)', () => {
    assert.deepEqual(readArbitration({ election_id: { low: '5' }, status: {} }), {
      primary: true,
      status: 'OK',
      primaryElectionId: 5n,
    });
    assert.deepEqual(readArbitration({ election_id: { low: '9' }, status: { code: 6 } }), {
      primary: false,
      status: 'ALREADY_EXISTS',
      primaryElectionId: 9n,
    });
    assert.deepEqual(readArbitration({ status: { code: 5 } }), { primary: false, status: 'NOT_FOUND' });
  });

  it('reports demotion as demoted then backup, and only changes otherwise', () => {
    assert.deepEqual(transitions(undefined, true), ['primary']);
    assert.deepEqual(transitions(undefined, false), ['backup']);
    assert.deepEqual(transitions(true, false), ['demoted', 'backup']);
    assert.deepEqual(transitions(false, true), ['primary']);
    assert.deepEqual(transitions(true, true), []);
    assert.deepEqual(transitions(false, false), []);
  });
});
