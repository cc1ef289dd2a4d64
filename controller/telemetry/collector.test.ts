import assert from 'node:assert/strict';
import { COUNTERS, TABLES } from '../pipeline/contract';
import { entryKey, type EntrySpec } from '../pipeline/entries';
import { PROFILES } from '../pipeline/profiles';
import {
  formatDigestAddress,
  windowEpoch,
  TelemetryCollector,
  type CounterCellReading,
  type CounterReading,
  type PolicyIndex,
  type TelemetryRecord,
  type TelemetrySource,
} from './collector';

function aclEntry(ruleId: number, dst: bigint, action = 'NicguardIngress.allow'): EntrySpec {
  return {
    table: TABLES.aclV4.name,
    match: {
      agent_id: { kind: 'exact', value: 1n },
      dst_addr: { kind: 'ternary', value: dst, mask: 0xffffffffn },
    },
    priority: 10,
    action,
    params: { rule_id: BigInt(ruleId), flags: 0n },
  };
}

/** A device whose counters the test sets by hand. */
class FakeDevice implements TelemetrySource {
  acl: CounterReading[] = [];
  quotaDrops = new Map<number, bigint>();
  ruleTx = new Map<number, { packets: bigint; bytes: bigint }>();
  cellsRead = 0;
  async readEntriesWithCounters(entries: readonly EntrySpec[]): Promise<readonly CounterReading[]> {
    const wanted = new Set(entries.map(entryKey));
    return this.acl.filter((r) => wanted.has(entryKey(r.entry)));
  }
  async readCounterCells(
    counter: string,
    indices: readonly number[],
  ): Promise<readonly CounterCellReading[]> {
    this.cellsRead += indices.length;
    const cells: Map<number, { packets: bigint; bytes: bigint }> =
      counter === COUNTERS.ruleTx.name
        ? this.ruleTx
        : new Map([...this.quotaDrops].map(([i, packets]) => [i, { packets, bytes: 0n }]));
    assert.ok(counter === COUNTERS.ruleTx.name || counter === COUNTERS.quotaDrops.name, counter);
    return indices.map((index) => ({ index, ...(cells.get(index) ?? { packets: 0n, bytes: 0n }) }));
  }
  epochs = new Map<number, number>();
  async startQuotaWindows(slots: readonly number[], epoch: number): Promise<void> {
    for (const slot of slots) this.epochs.set(slot, epoch);
  }
}

const POLICY: PolicyIndex = {
  version: 'v1',
  entries: [
    aclEntry(7, 0xcb007100n),
    aclEntry(9, 0xc0000200n, 'NicguardIngress.deny'),
    aclEntry(9, 0xc0000201n, 'NicguardIngress.deny'),
  ],
  rules: [
    { ruleId: 7, rule: 'llm', agent: 'bot' },
    { ruleId: 8, rule: 'db', agent: 'bot' },
    { ruleId: 9, rule: 'no-ssh', agent: 'bot' },
  ],
  agents: [{ name: 'bot', agentId: 1 }],
  quotaSlots: [
    { slot: 3, agent: 'bot', rules: ['llm'], budgetBytes: 1000, windowSeconds: 60, enforcement: 'dataplane' },
  ],
};

function setup() {
  const device = new FakeDevice();
  const appended: TelemetryRecord[] = [];
  let clock = 1_000_000;
  const collector = new TelemetryCollector(device, { appendBatch: (r) => appended.push(...r) }, POLICY, {
    device: 'dpu',
    profile: PROFILES.softnic,
    now: () => clock,
  });
  return { device, appended, collector, advance: (ms: number) => (clock += ms) };
}

describe('telemetry collector', () => {
  it('samples what each rule let out, and what deny rules stopped, only when it moved', async () => {
    const { device, appended, collector } = setup();
    device.ruleTx.set(7, { packets: 3n, bytes: 250n });
    device.ruleTx.set(8, { packets: 0n, bytes: 0n });
    device.acl = [
      // Allow entries' direct counters include packets later stages dropped: not evidence of bytes out.
      { entry: aclEntry(7, 0xcb007100n), counter: { packets: 9n, bytes: 900n } },
      { entry: aclEntry(9, 0xc0000200n, 'NicguardIngress.deny'), counter: { packets: 2n, bytes: 120n } },
      { entry: aclEntry(9, 0xc0000201n, 'NicguardIngress.deny'), counter: { packets: 1n, bytes: 60n } },
    ];
    await collector.collect();
    assert.equal(appended.length, 2);
    const [tx, denied] = appended;
    assert.ok(tx.kind === 'counter_sample' && denied.kind === 'counter_sample');
    assert.equal(tx.table, COUNTERS.ruleTx.name);
    assert.equal(tx.ruleId, '7');
    assert.equal(tx.ruleName, 'llm');
    assert.equal(tx.agent, 'bot');
    assert.equal(tx.bytes, 250n);
    assert.equal(tx.policyVersion, 'v1');
    assert.equal(denied.table, TABLES.aclV4.name);
    assert.equal(denied.ruleId, '9');
    assert.equal(denied.packets, 3n);
    assert.equal(denied.bytes, 180n);

    await collector.collect();
    assert.equal(appended.length, 2, 'nothing moved, nothing appended');
    assert.equal(device.cellsRead, 2 * 3, "only the cells of the policy's rule ids are read");

    device.ruleTx.set(8, { packets: 4n, bytes: 400n });
    await collector.collect();
    assert.equal(appended.length, 3);
    assert.ok(
      appended[2].kind === 'counter_sample' && appended[2].ruleId === '8' && appended[2].bytes === 400n,
    );
  });

  it('turns deny digests into denial records with names and formatted addresses', () => {
    const { appended, collector } = setup();
    collector.recordDigests([
      {
        agent_id: 1n,
        ip_version: 4n,
        src_addr: 0x0a000101n,
        dst_addr: 0xc6336409n,
        protocol: 6n,
        src_port: 40000n,
        dst_port: 22n,
        rule_id: 0n,
        reason: 5n,
        audit: 0n,
      },
    ]);
    const denial = appended[0];
    assert.ok(denial.kind === 'denial');
    assert.equal(denial.agent, 'bot');
    assert.equal(denial.srcIp, '10.0.1.1');
    assert.equal(denial.dstIp, '198.51.100.9');
    assert.equal(denial.reason, 'NO_MATCH');
    assert.equal(denial.ruleId, undefined);
    assert.equal(denial.audit, false);
  });

  it('formats IPv6 digest addresses in their shortest form', () => {
    assert.equal(formatDigestAddress(6n, 0x20010db8000000000000000000000001n), '2001:db8::1');
    assert.equal(formatDigestAddress(6n, 0xfd000000000100000000000000000000n), 'fd00:0:1::');
  });

  it('closes a quota window when due: records what its rules let out and the drops, then starts a new epoch', async () => {
    const { device, appended, collector, advance } = setup();
    device.ruleTx.set(7, { packets: 9n, bytes: 900n });
    device.quotaDrops.set(3, 5n);
    assert.deepEqual(await collector.closeQuotaWindows(), [], 'not due yet');
    advance(60_000);
    assert.deepEqual(await collector.closeQuotaWindows(), [3]);
    const window = appended[0];
    assert.ok(window.kind === 'quota_window');
    assert.equal(window.bytesUsed, 900n);
    assert.equal(window.drops, 5n);
    assert.equal(window.exhausted, true);
    assert.equal(window.ruleId, '7');
    assert.equal(window.windowEnd - window.windowStart, 60_000);
    const firstEpoch = device.epochs.get(3);
    assert.equal(firstEpoch, windowEpoch(window.windowEnd));
    // The next window counts from where the last one ended.
    device.ruleTx.set(7, { packets: 10n, bytes: 1000n });
    advance(60_000);
    await collector.closeQuotaWindows();
    const next = appended[1];
    assert.ok(
      next.kind === 'quota_window' &&
        next.drops === 0n &&
        next.exhausted === false &&
        next.bytesUsed === 100n,
    );
    assert.notEqual(device.epochs.get(3), firstEpoch, 'a new epoch per window');
  });
});
