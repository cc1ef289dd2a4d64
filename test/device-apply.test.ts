// The whole control path on the built-in target: a policy compiled by the compiler, planned against
// what the device reports, applied over P4Runtime by the client, then exercised by frames through
// the packet model and read back as telemetry. No step writes the model's tables directly.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePolicy } from '../controller/compiler/compile';
import { isEmptyPlan } from '../controller/compiler/plan';
import type { DeviceConfig } from '../controller/config/config';
import {
  applyCompiled,
  openDevice,
  planForDevice,
  telemetrySource,
  type OpenedDevice,
} from '../controller/device/device';
import { loadPolicySet, loadPolicySources } from '../controller/policy/load';
import { pushPolicy } from '../controller/ops/push';
import { loadNicguardPipeline } from '../controller/pipeline/artifacts';
import { PROFILES } from '../controller/pipeline/profiles';
import { SoftnicDataplane } from '../controller/softnic/dataplane';
import { Softnic } from '../controller/softnic/server';
import { TelemetryCollector, type TelemetryRecord } from '../controller/telemetry/collector';
import { ipFrame } from '../controller/traffic/frames';

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'support-agent.policy.yaml');
const AGENT = { port: 1, mac: '02:00:00:00:00:01', ip: '10.0.1.1' };
const GATEWAY = '02:00:00:00:00:fe';

function toHost(dst: string, dstPort: number, payloadSize: number): Uint8Array {
  return ipFrame({
    srcMac: AGENT.mac,
    dstMac: GATEWAY,
    src: AGENT.ip,
    dst,
    transport: { proto: 'tcp', srcPort: 40000, dstPort },
    payloadSize,
  });
}

describe('policy → plan → P4Runtime → softnic → telemetry', function () {
  let nic: Softnic;
  let dataplane: SoftnicDataplane & { detach(): void };
  let device: OpenedDevice;

  before(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    dataplane = SoftnicDataplane.attachTo(nic);
    const config: DeviceConfig = {
      name: 'test',
      address: `127.0.0.1:${nic.port}`,
      deviceId: 1n,
      electionId: 1n,
      profile: 'softnic',
      insecure: true,
    };
    device = await openDevice(config, loadNicguardPipeline());
  });

  after(async () => {
    device?.client.close();
    dataplane?.detach();
    await nic?.stop();
  });

  it('applies the example, then finds nothing left to do', async () => {
    const { policySet, diagnostics } = loadPolicySet(EXAMPLE);
    assert.ok(policySet, diagnostics.map((d) => d.format()).join('\n'));
    const compiled = compilePolicy(policySet, PROFILES.softnic);
    const { plan, result } = await applyCompiled(device.client, compiled);
    assert.equal(result.ok, true, result.error?.message);
    assert.equal(plan.summary.insert, compiled.entries.length);
    const installed = await device.client.readTableEntries();
    assert.equal(installed.length, compiled.entries.length);
    assert.ok(isEmptyPlan(await planForDevice(device.client, compiled)), 'a second plan is empty');
  });

  it('forwards what the policy allows, drops the rest, and the counters say so', async () => {
    const { policySet } = loadPolicySet(EXAMPLE);
    const compiled = compilePolicy(policySet!, PROFILES.softnic);
    const llm = dataplane.inject(AGENT.port, toHost('203.0.113.10', 443, 1000));
    assert.equal(llm.forwarded, true);
    assert.equal(llm.egressPort, 0);
    const ssh = dataplane.inject(AGENT.port, toHost('198.51.100.9', 22, 100));
    assert.equal(ssh.forwarded, false);
    assert.equal(ssh.reason, 'NO_MATCH');

    const records: TelemetryRecord[] = [];
    const collector = new TelemetryCollector(
      telemetrySource(device.client),
      { appendBatch: (r) => records.push(...r) },
      compiled,
      {
        device: 'test',
        profile: PROFILES.softnic,
      },
    );
    await collector.collect();
    const llmRule = compiled.rules.find((r) => r.rule === 'llm')!;
    const sample = records.find((r) => r.kind === 'counter_sample' && r.ruleId === String(llmRule.ruleId));
    assert.ok(sample && sample.kind === 'counter_sample');
    assert.equal(sample.packets, 1n);
    assert.equal(sample.bytes, BigInt(llm.packetLength));
    assert.equal(sample.ruleName, 'llm');
  });

  it('a one-rule edit, pushed again, touches only that rule (ids and priorities read back from the device)', async () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const edited = text.replace('quota: 50MiB per 1h', 'quota: 40MiB per 1h');
    assert.notEqual(edited, text);
    const { policySet } = loadPolicySources([{ file: 'edited.policy.yaml', text: edited }]);
    assert.ok(policySet);
    const outcome = await pushPolicy({
      client: device.client,
      device: 'test',
      cookie: device.cookie,
      policySet,
      author: 'test',
    });
    assert.equal(outcome.result?.ok, true);
    const touched = outcome.plan.changes.filter((c) => c.insert + c.modify + c.delete > 0).map((c) => c.name);
    assert.deepEqual(touched, ['llm']);
    assert.equal(outcome.plan.summary.insert + outcome.plan.summary.modify + outcome.plan.summary.delete, 1);
  });
});
