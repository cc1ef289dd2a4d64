import { strict as assert } from 'assert';
import { parseDuration, parseQuota, parseRate, parseSize } from './units';

const value = <T>(r: { value: T } | { error: string }): T => {
  assert.ok('value' in r, JSON.stringify(r));
  return r.value;
};

describe('units', () => {
  it('reads byte sizes in decimal and binary units', () => {
    assert.equal(value(parseSize('50MiB')), 50 * 1024 * 1024);
    assert.equal(value(parseSize('1.5KB')), 1500);
    assert.equal(value(parseSize(4096)), 4096);
    assert.equal(value(parseSize('12')), 12);
    for (const bad of ['50Mib', '1.5B', '0', -3, 'MiB', '1e3'])
      assert.ok('error' in parseSize(bad), String(bad));
  });

  it('reads durations, compound ones included', () => {
    assert.equal(value(parseDuration('1h30m')), 5400);
    assert.equal(value(parseDuration('7d')), 604800);
    for (const bad of ['1y', '', '0s', '30 m']) assert.ok('error' in parseDuration(bad), bad);
  });

  it('reads rates in bits or bytes per second', () => {
    assert.equal(value(parseRate('20Mbit')), 2_500_000);
    assert.equal(value(parseRate('100kbit/s')), 12_500);
    assert.equal(value(parseRate('1Gbps')), 125_000_000);
    assert.equal(value(parseRate('5MB/s')), 5_000_000);
    assert.equal(value(parseRate('2MiB/s')), 2 * 1024 * 1024);
    const size = parseRate('5MB');
    assert.ok('error' in size && /missing "\/s"/.test(size.error));
    for (const bad of ['4bit', '20Mbits', 'fast']) assert.ok('error' in parseRate(bad), bad);
  });

  it('reads quotas as a string or an object', () => {
    assert.deepEqual(value(parseQuota('50MiB per 1h')), { bytes: 52428800, windowSeconds: 3600 });
    assert.deepEqual(value(parseQuota({ bytes: 1000, per: '90s' })), { bytes: 1000, windowSeconds: 90 });
    for (const bad of ['50MiB/1h', '50MiB per', { bytes: '1MiB' }])
      assert.ok('error' in parseQuota(bad), JSON.stringify(bad));
  });
});
