import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { EntrySpec } from '../pipeline/entries';
import { PROFILES } from '../pipeline/profiles';
import { loadPolicySources } from '../policy/load';
import { FqdnResolution, PolicySet } from '../policy/model';
import { recoverAllocation } from './allocation';
import { policyArb, policyEditArb } from './arbitraries';
import { compilePolicy } from './compile';
import { decodeProvenance } from './metadata';
import { planChange, planUpdates } from './plan';

const REPO = path.resolve(__dirname, '..', '..', '..');
const RESOLUTIONS: FqdnResolution[] = [
  {
    name: 'files.example.net',
    addresses: ['192.0.2.80'],
    ttlSeconds: 300,
    resolvedAt: '2025-01-01T00:00:00.000Z',
  },
];
const PROFILE_NAMES = ['bmv2', 'bluefield-dpl', 'softnic'] as const;

function loadExample(name: string): PolicySet {
  const file = `examples/${name}.policy.yaml`;
  const result = loadPolicySources([{ file, text: fs.readFileSync(path.join(REPO, file), 'utf8') }]);
  assert.deepEqual(
    result.diagnostics.map((d) => d.format()),
    [],
  );
  return result.policySet as PolicySet;
}

/** The entries as a device returns them: fresh objects, in an order of its own. */
function readBack(entries: readonly EntrySpec[]): EntrySpec[] {
  return [...entries].reverse().map((e) => ({
    ...e,
    match: { ...e.match },
    params: { ...e.params },
    ...(e.metadata ? { metadata: Uint8Array.from(e.metadata) } : {}),
  }));
}

describe('recoverAllocation', () => {
  for (const example of ['support-agent', 'no-export', 'audit-agent', 'ipv6-agent']) {
    for (const name of PROFILE_NAMES) {
      it(`reads back the allocation of ${example} compiled for ${name}`, () => {
        const profile = PROFILES[name];
        const compiled = compilePolicy(loadExample(example), profile, { resolutions: RESOLUTIONS });
        assert.deepEqual(recoverAllocation(readBack(compiled.entries), { profile }), compiled.allocation);
      });
    }
  }

  it('reads back the allocation of random policies, and of their edits compiled on top', () => {
    for (const name of PROFILE_NAMES) {
      const profile = PROFILES[name];
      fc.assert(
        fc.property(policyEditArb, ([before, after]) => {
          const old = compilePolicy(before, profile, { resolutions: RESOLUTIONS });
          assert.deepEqual(recoverAllocation(readBack(old.entries), { profile }), old.allocation);
          const next = compilePolicy(after, profile, { resolutions: RESOLUTIONS, previous: old.allocation });
          assert.deepEqual(recoverAllocation(readBack(next.entries), { profile }), next.allocation);
        }),
        { numRuns: 100 },
      );
    }
  });

  it('ignores entries without nicguard provenance and ACL entries of unbound agent ids', () => {
    const compiled = compilePolicy(loadExample('support-agent'), PROFILES.bmv2, { resolutions: RESOLUTIONS });
    const acl = compiled.entries.find((e) => e.priority !== undefined) as EntrySpec;
    const stray: EntrySpec[] = [
      { ...acl, metadata: undefined },
      { ...acl, match: { ...acl.match, agent_id: { kind: 'exact', value: 999n } } },
    ];
    assert.deepEqual(recoverAllocation([...compiled.entries, ...stray]), compiled.allocation);
  });

  for (const name of ['bmv2', 'bluefield-dpl'] as const) {
    it(`lets a compile from the device alone change only the edited rule (${name})`, () => {
      const profile = PROFILES[name];
      const withEdit = policyArb
        .filter((p) => p.rules.length >= 2)
        .chain((p) => fc.tuple(fc.constant(p), fc.nat(p.rules.length - 1), fc.boolean()));
      fc.assert(
        fc.property(withEdit, ([policy, at, widen]) => {
          const old = compilePolicy(policy, profile, { resolutions: RESOLUTIONS });
          const installed = readBack(old.entries);
          const edited = policy.rules[at];
          const rules = policy.rules.map((r, i) =>
            i !== at ? r : widen ? { ...r, ports: [] } : { ...r, trusted: !r.trusted },
          );
          const next = compilePolicy({ ...policy, rules }, profile, {
            resolutions: RESOLUTIONS,
            previous: recoverAllocation(installed, { profile }),
          });
          const plan = planChange({ entries: installed, meters: old.meters }, next, profile);
          for (const update of planUpdates(plan)) {
            assert.ok(
              'entry' in update,
              `only entries change, not ${JSON.stringify(update, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v))}`,
            );
            assert.equal(decodeProvenance(update.entry.metadata)?.name, edited.name);
          }
          assert.deepEqual(plan.detached, []);
        }),
        { numRuns: 100 },
      );
    });
  }
});
