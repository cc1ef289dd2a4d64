import * as assert from 'assert';
import { ACTIONS, TABLES } from '../pipeline/contract';
import type { EntrySpec } from '../pipeline/entries';
import { PROFILES } from '../pipeline/profiles';
import {
  QuotaEnforcer,
  type EnforcedPolicy,
  type QuotaEntryOp,
  type QuotaEnforcementRecord,
} from './quota-enforcer';

const allow = (port: number, priority: number): EntrySpec => ({
  table: TABLES.aclV4.name,
  match: {
    agent_id: { kind: 'exact', value: 1n },
    dst_port: { kind: 'range', low: BigInt(port), high: BigInt(port) },
  },
  priority,
  action: ACTIONS.allowQuota.name,
  params: { rule_id: 7n, flags: 0n, quota_slot: 3n, budget: 1000n, meter_index: 2n },
});

function policy(entries: EntrySpec[]): EnforcedPolicy {
  return {
    version: 'v1',
    entries,
    rules: [{ ruleId: 7, rule: 'llm', agent: 'a' }],
    quotaSlots: [
      {
        slot: 3,
        agent: 'a',
        rules: ['llm'],
        budgetBytes: 1000,
        windowSeconds: 60,
        enforcement: 'controller',
      },
    ],
  };
}

class FakeDevice {
  bytes = 0n;
  readonly writes: QuotaEntryOp[][] = [];
  readonly installed = new Map<string, EntrySpec>();
  readRuleBytes = async () => new Map([[7, this.bytes]]);
  write = async (ops: readonly QuotaEntryOp[]) => {
    this.writes.push([...ops]);
    return ops.map((op) => {
      const key = `${op.entry.priority}|${op.entry.action}`;
      if (op.type === 'INSERT') this.installed.set(key, op.entry);
      else this.installed.delete(key);
      return { ok: true };
    });
  };
}

describe('QuotaEnforcer', () => {
  let now = 0;
  let device: FakeDevice;
  let records: QuotaEnforcementRecord[];
  let enforcer: QuotaEnforcer;
  const entries = [allow(443, 100), allow(8443, 100)];

  beforeEach(() => {
    now = 1_000_000;
    device = new FakeDevice();
    for (const e of entries) device.installed.set(`${e.priority}|${e.action}`, e);
    records = [];
    enforcer = new QuotaEnforcer(device, { appendBatch: (r) => records.push(...r) }, policy(entries), {
      device: 'dpu',
      profile: PROFILES['bluefield-dpl'],
      now: () => now,
    });
  });

  it('does nothing while the window has budget left', async () => {
    await enforcer.poll();
    device.bytes = 999n;
    const r = await enforcer.poll();
    assert.deepStrictEqual(r.withdrawn, []);
    assert.strictEqual(device.writes.length, 0);
  });

  it('withdraws a spent quota deny-first: a deny one priority up is inserted before the allows are deleted', async () => {
    await enforcer.poll();
    device.bytes = 1200n;
    const r = await enforcer.poll();
    assert.deepStrictEqual(r.withdrawn, [3]);
    assert.deepStrictEqual(
      device.writes.map((w) =>
        w.map((op) => `${op.type} ${op.entry.action.split('.').pop()} p${op.entry.priority}`),
      ),
      [
        ['INSERT deny p101', 'INSERT deny p101'],
        ['DELETE allow_quota p100', 'DELETE allow_quota p100'],
      ],
    );
    const deny = device.writes[0][0].entry;
    assert.deepStrictEqual(deny.match, entries[0].match);
    assert.strictEqual(deny.params.rule_id, 7n);
    const on = records.find((x) => x.kind === 'device_event');
    assert.ok(on && on.kind === 'device_event');
    assert.strictEqual(on.event, 'quota_enforcement_on');
    assert.strictEqual(on.detail.bytes, 1200n);
    assert.strictEqual(on.detail.budget, 1000);
    assert.strictEqual(on.detail.denyInstalled, true);
    // Spent stays spent: no second withdrawal in the same window.
    device.bytes = 5000n;
    assert.deepStrictEqual((await enforcer.poll()).withdrawn, []);
  });

  it('at the window end records the window and restores allow-first, then charges from zero', async () => {
    await enforcer.poll();
    device.bytes = 1500n;
    await enforcer.poll();
    device.writes.length = 0;
    now += 60_000;
    const r = await enforcer.poll();
    assert.deepStrictEqual(r.restored, [3]);
    assert.deepStrictEqual(
      device.writes.map((w) => w.map((op) => `${op.type} ${op.entry.action.split('.').pop()}`)),
      [
        ['INSERT allow_quota', 'INSERT allow_quota'],
        ['DELETE deny', 'DELETE deny'],
      ],
    );
    assert.deepStrictEqual([...device.installed.keys()].sort(), ['100|' + ACTIONS.allowQuota.name]);
    const window = records.find((x) => x.kind === 'quota_window');
    assert.ok(window && window.kind === 'quota_window');
    assert.strictEqual(window.bytesUsed, 1500n);
    assert.strictEqual(window.exhausted, true);
    assert.ok(records.some((x) => x.kind === 'device_event' && x.event === 'quota_enforcement_off'));
    device.bytes = 2400n; // 900 more: under the budget of the new window
    assert.deepStrictEqual((await enforcer.poll()).withdrawn, []);
    device.bytes = 2500n;
    assert.deepStrictEqual((await enforcer.poll()).withdrawn, [3]);
  });

  it('without a free priority above the allow, withdraws by deleting it and says so', async () => {
    const blocker: EntrySpec = {
      ...allow(22, 101),
      action: ACTIONS.allow.name,
      params: { rule_id: 8n, flags: 0n },
    };
    enforcer.setPolicy(policy([...entries, blocker]));
    await enforcer.poll();
    device.bytes = 1000n;
    await enforcer.poll();
    assert.deepStrictEqual(
      device.writes.map((w) => w.map((op) => op.type)),
      [['DELETE', 'DELETE']],
    );
    const on = records.find((x) => x.kind === 'device_event');
    assert.ok(on && on.kind === 'device_event' && on.detail.denyInstalled === false);
  });

  it('is idle on profiles whose data plane enforces quotas', async () => {
    const bmv2 = new QuotaEnforcer(device, { appendBatch: () => undefined }, policy(entries), {
      device: 'x',
      profile: PROFILES.bmv2,
    });
    device.bytes = 10_000n;
    await bmv2.poll();
    assert.deepStrictEqual((await bmv2.poll()).withdrawn, []);
  });
});
