import { strict as assert } from 'assert';
import fc from 'fast-check';
import { ACTIONS, TABLES } from '../pipeline/contract';
import { EntrySpec, MeterConfigSpec, entryKey, sameContent } from '../pipeline/entries';
import { PROFILES, TargetProfile } from '../pipeline/profiles';
import { Packet } from '../policy/evaluate';
import { PolicySet } from '../policy/model';
import { probePackets, policyEditArb, policyArb } from './arbitraries';
import { applyPlan, DeviceWriter, UpdateResult } from './apply';
import { compilePolicy, CompiledPolicy } from './compile';
import { evaluateEntries, groupByTable } from './entryEval';
import { encodeProvenance } from './metadata';
import { DeviceState, Plan, Update, planChange, planToJson, planUpdates, renderPlan } from './plan';

/** A device that holds entries and meters and refuses what a P4Runtime server would refuse. */
class SimDevice {
  readonly entries = new Map<string, EntrySpec>();
  readonly meters = new Map<string, MeterConfigSpec>();

  constructor(state?: DeviceState) {
    for (const e of state?.entries ?? []) this.entries.set(entryKey(e), e);
    for (const m of state?.meters ?? []) this.meters.set(`${m.meter}#${m.index}`, m);
  }

  apply(update: Update): void {
    if ('entry' in update) {
      const key = entryKey(update.entry);
      const present = this.entries.has(key);
      if (update.type === 'INSERT') assert.ok(!present, `INSERT of an existing entry ${key}`);
      else assert.ok(present, `${update.type} of a missing entry ${key}`);
      if (update.type === 'DELETE') this.entries.delete(key);
      else {
        const meter = update.entry.params.meter_index;
        if (meter !== undefined && meter !== 0n) {
          assert.ok(
            this.meters.has(`${TABLES.aclV4.name.replace('acl_v4', 'rate_meter')}#${meter}`),
            `entry uses meter ${meter} before it is configured`,
          );
        }
        this.entries.set(key, update.entry);
      }
    } else if ('meter' in update)
      this.meters.set(`${update.meter.meter}#${update.meter.index}`, update.meter);
    else if ('meterReset' in update)
      this.meters.delete(`${update.meterReset.meter}#${update.meterReset.index}`);
  }

  state(): DeviceState {
    return { entries: [...this.entries.values()], meters: [...this.meters.values()] };
  }
}

function sameEntrySet(
  actual: Iterable<EntrySpec>,
  expected: readonly EntrySpec[],
  ignoreMetadata = false,
): void {
  const want = new Map(expected.map((e) => [entryKey(e), e]));
  const have = [...actual];
  assert.equal(have.length, want.size, 'entry count');
  for (const e of have) {
    const w = want.get(entryKey(e));
    assert.ok(w, `unexpected entry ${entryKey(e)}`);
    const strip = (x: EntrySpec) => (ignoreMetadata ? { ...x, metadata: undefined } : x);
    assert.ok(sameContent(strip(e), strip(w)), `content differs for ${entryKey(e)}`);
  }
}

/** A deterministic shuffle, standing in for a server that reorders the updates of a batch. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const compileFor = (policy: PolicySet, profile: TargetProfile, previous?: CompiledPolicy) =>
  compilePolicy(policy, profile, previous ? { previous: previous.allocation, reuse: previous } : {});

const deviceOf = (compiled: CompiledPolicy): DeviceState => ({
  entries: compiled.entries,
  meters: compiled.meters,
});

for (const profileName of ['bmv2', 'bluefield-dpl'] as const) {
  const profile = PROFILES[profileName];
  describe(`planChange (${profileName})`, () => {
    it('applying the plan to the old entries yields exactly the new ones, and re-planning is empty', () => {
      fc.assert(
        fc.property(policyEditArb, fc.boolean(), ([before, after], sticky) => {
          const old = compileFor(before, profile);
          const next = compileFor(after, profile, sticky ? old : undefined);
          const device = new SimDevice(deviceOf(old));
          const plan = planChange(device.state(), next, profile);
          for (const u of planUpdates(plan)) device.apply(u);
          sameEntrySet(device.entries.values(), next.entries, !profile.modifyEntries);
          assert.deepEqual(
            [...device.meters.keys()].sort(),
            next.meters.map((m) => `${m.meter}#${m.index}`).sort(),
          );
          assert.deepEqual(planUpdates(planChange(device.state(), next, profile)), []);
          if (!profile.modifyEntries)
            assert.ok(planUpdates(plan).every((u) => !('entry' in u) || u.type !== 'MODIFY'));
        }),
        { numRuns: 150 },
      );
    });

    it('plans the same from a compile’s own record of what changed as from comparing all entries', () => {
      fc.assert(
        fc.property(policyEditArb, ([before, after]) => {
          const old = compileFor(before, profile);
          const next = compileFor(after, profile, old);
          assert.ok(next.delta && next.delta.base === old.entries);
          const { entries, meters, version, agents } = next;
          const installed = deviceOf(old);
          assert.deepEqual(
            planToJson(planChange(installed, next, profile)),
            planToJson(planChange(installed, { entries, meters, version, agents }, profile)),
          );
        }),
        { numRuns: 150 },
      );
    });

    it('never lets through, at any intermediate state, a packet both the old and the new policy drop', () => {
      fc.assert(
        fc.property(policyEditArb, fc.boolean(), fc.integer(), ([before, after], sticky, seed) => {
          const old = compileFor(before, profile);
          const next = compileFor(after, profile, sticky ? old : undefined);
          const oldTables = groupByTable(old.entries);
          const newTables = groupByTable(next.entries);
          const packets: Packet[] = [...probePackets(before), ...probePackets(after)].filter(
            (p) => !evaluateEntries(oldTables, p).forward && !evaluateEntries(newTables, p).forward,
          );
          const device = new SimDevice(deviceOf(old));
          const plan = planChange(device.state(), next, profile);
          let step = 0;
          plan.phases.forEach((phase, p) => {
            // Any order within a phase must be safe: apply it shuffled.
            for (const update of shuffled(phase.batches.flat(), seed + p)) {
              device.apply(update);
              step++;
              const tables = groupByTable(device.entries.values());
              for (const packet of packets) {
                const verdict = evaluateEntries(tables, packet);
                assert.ok(
                  !verdict.forward,
                  `step ${step} (phase ${phase.name}, ${update.type}) lets through ${JSON.stringify(packet)}: ${JSON.stringify(verdict)}`,
                );
              }
            }
          });
        }),
        { numRuns: 60 },
      );
    });

    it('a plan interrupted at any update is completed by re-planning from the device', () => {
      fc.assert(
        fc.property(policyEditArb, fc.nat(), ([before, after], cut) => {
          const old = compileFor(before, profile);
          const next = compileFor(after, profile, old);
          const device = new SimDevice(deviceOf(old));
          const updates = planUpdates(planChange(device.state(), next, profile));
          for (const u of updates.slice(0, updates.length === 0 ? 0 : cut % updates.length)) device.apply(u);
          for (const u of planUpdates(planChange(device.state(), next, profile))) device.apply(u);
          sameEntrySet(device.entries.values(), next.entries, !profile.modifyEntries);
        }),
        { numRuns: 100 },
      );
    });
  });
}

describe('planChange', () => {
  const profile = PROFILES.bmv2;
  const sample = fc.sample(
    policyArb.filter((p) => p.rules.length >= 3),
    { numRuns: 1, seed: 7 },
  )[0];

  it('changes only the edited rule’s entries when one rule changes', () => {
    const old = compilePolicy(sample, profile);
    const rules = sample.rules.map((r, i) => (i === 1 ? { ...r, trusted: !r.trusted } : r));
    const next = compilePolicy({ ...sample, rules }, profile, { previous: old.allocation });
    const plan = planChange(deviceOf(old), next, profile);
    const touched = new Set(
      planUpdates(plan)
        .map((u) => ('entry' in u ? u.entry.metadata : undefined))
        .map((m) => (m ? Buffer.from(m.subarray(6)).toString() : '')),
    );
    assert.deepEqual([...touched], [sample.rules[1].name]);
    const expected = next.entries.filter(
      (e) => e.metadata && Buffer.from(e.metadata.subarray(6)).toString() === sample.rules[1].name,
    ).length;
    assert.equal(plan.summary.modify, expected);
    assert.equal(plan.summary.insert + plan.summary.delete, 0);
  });

  it('inserting a rule before others leaves their priorities and entries alone', () => {
    const old = compilePolicy(sample, profile);
    const extra = {
      ...sample.rules[0],
      name: 'inserted',
      action: 'deny' as const,
      quota: undefined,
      rateBytesPerSecond: undefined,
    };
    const next = compilePolicy({ ...sample, rules: [extra, ...sample.rules] }, profile, {
      previous: old.allocation,
    });
    const plan = planChange(deviceOf(old), next, profile);
    assert.equal(plan.summary.modify + plan.summary.delete, 0);
    assert.ok(plan.summary.insert > 0);
    assert.ok(
      planUpdates(plan).every(
        (u) => 'entry' in u && u.type === 'INSERT' && decodeName(u.entry) === 'inserted',
      ),
    );
  });

  it('reports entries no policy explains as drift and removes them', () => {
    const compiled = compilePolicy(sample, profile);
    const stray: EntrySpec = {
      table: TABLES.aclV4.name,
      match: { agent_id: { kind: 'exact', value: 1n } },
      priority: 1,
      action: ACTIONS.allow.name,
      params: { rule_id: 999n, flags: 0n },
    };
    const plan = planChange(
      { entries: [...compiled.entries, stray], meters: compiled.meters },
      compiled,
      profile,
    );
    assert.deepEqual(plan.drift, [stray]);
    assert.deepEqual(planUpdates(plan), [{ type: 'DELETE', entry: stray }]);
    assert.match(renderPlan(plan), /drift/);
  });

  it('configures meters before any entry uses them, and writes no registers', () => {
    const withLimits = compilePolicy(sample, profile);
    const plan = planChange([], withLimits, profile);
    const usesMeters = withLimits.entries.some((e) => (e.params.meter_index ?? 0n) !== 0n);
    if (usesMeters) assert.equal(plan.phases[0].name, 'meters');
    // bmv2's P4Runtime server cannot write registers: quota windows are started through a table.
    assert.equal(plan.phases.flatMap((p) => p.batches.flat()).filter((u) => 'register' in u).length, 0);
  });

  it('renders a plan per rule with counts, and as JSON', () => {
    const old = compilePolicy({ ...sample, rules: sample.rules.slice(1) }, profile);
    const next = compilePolicy(sample, profile, { previous: old.allocation });
    const plan = planChange(deviceOf(old), next, profile);
    const text = renderPlan(plan);
    assert.match(text, new RegExp(`\\+ rule ${sample.rules[0].name} for agent agent-\\d: \\+\\d+ entr`));
    const json = JSON.parse(JSON.stringify(planToJson(plan))) as { summary: Plan['summary'] };
    assert.deepEqual(json.summary, plan.summary);
    assert.match(renderPlan(planChange(deviceOf(next), next, profile)), /^No changes/);
  });

  it('refuses desired entries that collide on a key', () => {
    const compiled = compilePolicy(sample, profile);
    assert.throws(
      () => planChange([], { entries: [compiled.entries[0], compiled.entries[0]], meters: [] }, profile),
      (e: Error & { code?: string }) => e.code === 'DUPLICATE_KEY',
    );
  });
});

function decodeName(entry: EntrySpec): string {
  return entry.metadata ? Buffer.from(entry.metadata.subarray(6)).toString() : '';
}

describe('applyPlan', () => {
  const profile = PROFILES.bmv2;
  const policy = fc.sample(
    policyArb.filter((p) => p.rules.length >= 2),
    { numRuns: 1, seed: 3 },
  )[0];
  const compiled = compilePolicy(policy, profile);
  const plan = planChange([], compiled, profile, { maxBatchSize: 3 });

  class Recorder implements DeviceWriter {
    readonly batches: Update[][] = [];
    constructor(private readonly failAt?: number) {}
    async write(updates: readonly Update[]): Promise<readonly UpdateResult[]> {
      const before = this.batches.flat().length;
      this.batches.push([...updates]);
      return updates.map((_, i) =>
        before + i === this.failAt
          ? { ok: false, code: 'RESOURCE_EXHAUSTED', message: 'table full' }
          : { ok: true },
      );
    }
  }

  it('writes every batch in plan order and reports progress', async () => {
    const writer = new Recorder();
    const seen: number[] = [];
    const result = await applyPlan(plan, writer, (p) => seen.push(p.updatesDone));
    assert.equal(result.ok, true);
    assert.deepEqual(
      writer.batches,
      plan.phases.flatMap((p) => p.batches),
    );
    assert.equal(result.updatesDone, planUpdates(plan).length);
    assert.equal(seen[seen.length - 1], planUpdates(plan).length);
  });

  it('stops at the first failed batch and names the failing update', async () => {
    const failAt = Math.floor(planUpdates(plan).length / 2);
    const writer = new Recorder(failAt);
    const result = await applyPlan(plan, writer);
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, 'UPDATE_FAILED');
    assert.equal(result.error?.update, planUpdates(plan)[failAt]);
    assert.match(result.error?.message ?? '', /RESOURCE_EXHAUSTED table full/);
    const batchEnd = writer.batches.flat().length;
    assert.equal(result.updatesDone, batchEnd - 1);
    assert.ok(batchEnd < planUpdates(plan).length || failAt === planUpdates(plan).length - 1);
  });

  it('reports a writer that throws as WRITER_FAILED without throwing', async () => {
    const result = await applyPlan(plan, { write: () => Promise.reject(new Error('connection reset')) });
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, 'WRITER_FAILED');
    assert.equal(result.updatesDone, 0);
  });

  it('keeps provenance decodable in every written entry', () => {
    for (const u of planUpdates(plan))
      if ('entry' in u) assert.ok(u.entry.metadata && u.entry.metadata.length >= 6);
    assert.equal(encodeProvenance('rule', 0, 'x').length, 7);
  });
});
