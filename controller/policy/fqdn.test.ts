import { strict as assert } from 'assert';
import { resolveFqdns, refreshDue } from './fqdn';
import { PolicySet } from './model';

const policy: PolicySet = {
  uplinkPort: 0,
  agents: [],
  groups: [],
  destinations: [{ name: 'd', cidrs: [], fqdns: ['b.example.com', 'a.example.com'], sensitive: false }],
  rules: [],
  sensitiveSources: [],
};

describe('resolveFqdns', () => {
  it('records normalized answers with their TTL and time, and reports failures', async () => {
    const answers: Record<string, string[]> = {
      'a.example.com': ['2001:DB8::1', '192.0.2.1', '192.0.2.1', 'junk'],
    };
    const { resolutions, failed } = await resolveFqdns(
      policy,
      async (name) => {
        if (!answers[name]) throw new Error('NXDOMAIN');
        return { addresses: answers[name], ttlSeconds: 60 };
      },
      () => new Date('2025-01-01T00:00:00Z'),
    );
    assert.deepEqual(resolutions, [
      {
        name: 'a.example.com',
        addresses: ['192.0.2.1', '2001:db8::1'],
        ttlSeconds: 60,
        resolvedAt: '2025-01-01T00:00:00.000Z',
      },
    ]);
    assert.deepEqual(failed, [{ name: 'b.example.com', error: 'NXDOMAIN' }]);
    assert.equal(refreshDue(resolutions)?.toISOString(), '2025-01-01T00:01:00.000Z');
  });
});
