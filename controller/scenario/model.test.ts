import assert from 'node:assert/strict';
import { compare, type Comparison } from './model';

const MiB = 2 ** 20;
const c = (op: Comparison['op'], value: number): Comparison => ({ op, value, text: `${op}${value}` });

describe('comparisons with an overshoot allowance', () => {
  it('~X accepts up to the allowance above X + 5 %, and nothing more below', () => {
    const approx = c('~', 29 * MiB);
    const allowance = 5.5 * MiB;
    assert.equal(compare(approx, 32.6 * MiB), false, 'without an allowance 32.6 MiB is not ~29 MiB');
    assert.equal(compare(approx, 32.6 * MiB, allowance), true);
    assert.equal(compare(approx, 29 * 1.05 * MiB + allowance + 1, allowance), false);
    assert.equal(compare(approx, 29 * 0.95 * MiB - 1, allowance), false, 'the lower side does not move');
  });

  it('upper limits rise by the allowance, lower limits stay', () => {
    assert.equal(compare(c('<=', 100), 110, 10), true);
    assert.equal(compare(c('<=', 100), 111, 10), false);
    assert.equal(compare(c('<', 100), 109, 10), true);
    assert.equal(compare(c('<', 100), 110, 10), false);
    assert.equal(compare(c('==', 100), 105, 10), true);
    assert.equal(compare(c('==', 100), 99, 10), false);
    assert.equal(compare(c('>=', 100), 99, 10), false);
    assert.equal(compare(c('>', 100), 100, 10), false);
  });
});
