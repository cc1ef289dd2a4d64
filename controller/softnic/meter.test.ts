import { strict as assert } from 'assert';
import { bmv2Rates, Color, executeMeter, microsSince } from './meter';
import type { MeterCell } from './state';

function cell(cir: bigint, cburst: bigint, pir: bigint, pburst: bigint): MeterCell {
  return { config: { cir, cburst, pir, pburst, eburst: 0n } };
}

describe('softnic trTCM meter (bmv2 semantics)', () => {
  it('converts P4Runtime rates per second to bmv2 rates per microsecond, bursts to 32 bits', () => {
    assert.deepEqual(bmv2Rates(cell(1_000_000n, 10n, 3_000_000n, 20n).config), [
      { rate: 1, burst: 10 },
      { rate: 3, burst: 20 },
    ]);
    assert.equal(bmv2Rates(cell(1n, (1n << 32n) + 5n, 1n, 1n).config)![0].burst, 5);
    assert.equal(bmv2Rates(cell(-1n, -1n, -1n, -1n).config), null, 'all -1 is the default configuration');
    assert.equal(bmv2Rates(undefined), null);
  });

  it('marks green, yellow then red as the peak and committed buckets empty', () => {
    const c = cell(1000n, 100n, 2000n, 250n);
    // PIR bucket 250, CIR bucket 100, nothing refills at time 0.
    const colours = [100, 100, 50, 1].map((size) => executeMeter(c, size, 0));
    assert.deepEqual(colours, [Color.GREEN, Color.YELLOW, Color.YELLOW, Color.RED]);
  });

  it('leaves the committed bucket untouched when the peak bucket marks red', () => {
    const c = cell(1_000_000n, 100n, 1_000_000n, 100n);
    assert.equal(executeMeter(c, 150, 0), Color.RED);
    // Had the red packet been taken from the committed bucket, this would be yellow.
    assert.equal(executeMeter(c, 100, 0), Color.GREEN);
  });

  it('credits tokens from the origin, so fractional rates are not lost between packets', () => {
    // 0.3 bytes per microsecond, bursts of one byte.
    const c = cell(300_000n, 1n, 300_000n, 1n);
    assert.equal(executeMeter(c, 1, 0), Color.GREEN);
    // trunc(0.3 * t): 0 at 1, 2 and 3 µs, 1 at 4 µs. Refilling per interval would never reach 1.
    for (const t of [1, 2, 3]) assert.equal(executeMeter(c, 1, t), Color.RED, `t=${t}`);
    assert.equal(executeMeter(c, 1, 4), Color.GREEN);
  });

  it('caps a bucket at its burst after a long idle period', () => {
    const c = cell(1_000_000n, 10n, 1_000_000n, 10n);
    assert.equal(executeMeter(c, 10, 0), Color.GREEN);
    assert.equal(executeMeter(c, 11, 1_000_000), Color.RED, 'never more than the burst');
    assert.equal(executeMeter(c, 10, 1_000_000), Color.GREEN);
  });

  it('marks everything green when unconfigured or when CIR exceeds PIR', () => {
    assert.equal(executeMeter({}, 1_000_000, 0), Color.GREEN);
    const bad = cell(2000n, 1n, 1000n, 1n);
    assert.equal(executeMeter(bad, 1_000_000, 0), Color.GREEN);
  });

  it('starts full again when the configuration object is replaced', () => {
    const c = cell(1n, 10n, 1n, 10n);
    assert.equal(executeMeter(c, 10, 0), Color.GREEN);
    assert.equal(executeMeter(c, 10, 0), Color.RED);
    c.config = { ...c.config! };
    assert.equal(executeMeter(c, 10, 0), Color.GREEN);
  });

  it('counts whole microseconds, truncating, and never negative', () => {
    assert.equal(microsSince(1000n, 1999n), 0);
    assert.equal(microsSince(1000n, 2000n), 1);
    assert.equal(microsSince(5000n, 1000n), 0);
  });
});
