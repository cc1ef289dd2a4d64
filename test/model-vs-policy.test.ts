// The whole enforcement path against the language's meaning: random policies are compiled, planned
// and applied over P4Runtime to one softnic (each as a change from the one before), random frames
// run through its packet model, and every verdict must equal what evaluatePolicy (first matching
// rule in written order, default deny, written without the compiler) says. Stateful limits are the
// one allowed difference: a packet the policy forwards may be dropped (or, in audit mode, flagged)
// by a quota, rate or exfiltration limit the policy does attach to it.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { packetArb, policyArb } from '../controller/compiler/arbitraries';
import { compilePolicy, type CompiledPolicy } from '../controller/compiler/compile';
import type { DeviceConfig } from '../controller/config/config';
import { applyCompiled, openDevice, startQuotaWindows, type OpenedDevice } from '../controller/device/device';
import { loadNicguardPipeline } from '../controller/pipeline/artifacts';
import { PROFILES } from '../controller/pipeline/profiles';
import {
  ETH_ARP,
  ETH_IPV4,
  ETH_IPV6,
  evaluatePolicy,
  type Limit,
  type Packet,
} from '../controller/policy/evaluate';
import type { PolicySet } from '../controller/policy/model';
import { SoftnicDataplane } from '../controller/softnic/dataplane';
import type { Verdict } from '../controller/softnic/model';
import { Softnic } from '../controller/softnic/server';
import { arpFrame, ethernet, ipFrame, type Transport } from '../controller/traffic/frames';

const GATEWAY = '02:00:00:00:00:fe';
const POLICIES = 40;
const PACKETS_PER_POLICY = 25;

/** The frame a Packet describes, as it would arrive on the wire. */
function frameOf(p: Packet): Uint8Array {
  const dstMac = p.dstMac ?? GATEWAY;
  if (p.ethType === ETH_ARP) {
    return arpFrame({ op: 'request', senderMac: p.srcMac, senderIp: '10.0.0.1', targetIp: '10.0.0.254' });
  }
  if (p.ethType !== ETH_IPV4 && p.ethType !== ETH_IPV6) {
    return ethernet({ dst: dstMac, src: p.srcMac, etherType: p.ethType, payload: new Uint8Array(46) });
  }
  const family = p.ethType === ETH_IPV4 ? 4 : 6;
  const protocol = p.protocol ?? 0;
  let transport: Transport;
  if (protocol === 6) transport = { proto: 'tcp', srcPort: 40000, dstPort: p.dstPort ?? 0 };
  else if (protocol === 17) transport = { proto: 'udp', srcPort: 40000, dstPort: p.dstPort ?? 0 };
  else if ((family === 4 && protocol === 1) || (family === 6 && protocol === 58))
    transport = { proto: 'icmp' };
  else transport = { proto: 'raw', protocol };
  return ipFrame({ srcMac: p.srcMac, dstMac, src: p.src!, dst: p.dst!, transport, payloadSize: 32 });
}

const LIMIT_OF_REASON: Readonly<Record<string, Limit>> = {
  QUOTA: 'quota',
  RATE: 'rate',
  EXFIL: 'exfiltration',
};

describe('packet model after compile + P4Runtime apply agrees with evaluatePolicy', function () {
  this.timeout(60_000);
  let nic: Softnic;
  let dataplane: SoftnicDataplane & { detach(): void };
  let device: OpenedDevice;
  let nowNs = 1_000_000_000n;
  let previous: CompiledPolicy | undefined;

  before(async () => {
    nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
    dataplane = SoftnicDataplane.attachTo(nic, { clock: () => nowNs });
    const config: DeviceConfig = {
      name: 'model-vs-policy',
      address: `127.0.0.1:${nic.port}`,
      deviceId: 1n,
      electionId: 1n,
      profile: 'softnic',
      insecure: true,
    };
    device = await openDevice(config, loadNicguardPipeline(), { reconnect: false });
  });

  after(async () => {
    device?.client.close();
    dataplane?.detach();
    await nic?.stop();
  });

  let windowEpochs = 0;
  async function install(policy: PolicySet): Promise<CompiledPolicy> {
    const compiled = compilePolicy(
      policy,
      PROFILES.softnic,
      previous ? { previous: previous.allocation } : {},
    );
    const { result } = await applyCompiled(device.client, compiled);
    assert.equal(result.ok, true, result.error?.message);
    // Quota windows start empty for each policy, as the controller's window reset would leave them.
    await startQuotaWindows(
      device.client,
      compiled.quotaSlots.map((q) => q.slot),
      ++windowEpochs,
    );
    previous = compiled;
    return compiled;
  }

  it(`for ${POLICIES} random policies and ${PACKETS_PER_POLICY} random packets each`, async () => {
    let checked = 0;
    let limited = 0;
    await fc.assert(
      fc.asyncProperty(
        policyArb.chain((policy) =>
          fc.tuple(
            fc.constant(policy),
            fc.array(packetArb(policy), { minLength: PACKETS_PER_POLICY, maxLength: PACKETS_PER_POLICY }),
          ),
        ),
        async ([policy, packets]) => {
          const compiled = await install(policy);
          const ruleName = new Map(compiled.rules.map((r) => [r.ruleId, r.rule]));
          for (const packet of packets) {
            // Ten seconds between packets: every meter bucket is full again.
            nowNs += 10_000_000_000n;
            const got: Verdict = dataplane.inject(packet.ingressPort, frameOf(packet));
            const want = evaluatePolicy(policy, packet);
            const context = () =>
              `packet ${JSON.stringify(packet)}\nwant ${JSON.stringify(want)}\n` +
              `got ${JSON.stringify({ ...got, packetIn: undefined })}`;
            checked++;
            const limit = LIMIT_OF_REASON[got.reason];
            if (limit !== undefined && want.forward && !want.audit && (got.audited || !got.forwarded)) {
              assert.ok(
                want.limits.includes(limit),
                `a ${limit} limit the policy does not attach\n${context()}`,
              );
              assert.equal(ruleName.get(got.ruleId), want.rule, context());
              limited++;
              continue;
            }
            assert.equal(got.forwarded, want.forward, context());
            assert.equal(got.reason, want.reason, context());
            assert.equal(got.audited, want.audit, context());
            assert.equal(got.ruleId === 0 ? undefined : ruleName.get(got.ruleId), want.rule, context());
            if (want.forward) assert.equal(got.egressPort, want.egressPort, context());
          }
        },
      ),
      { numRuns: POLICIES },
    );
    assert.ok(checked >= POLICIES * PACKETS_PER_POLICY);
    // Stateful limits are the exception, not the rule: most verdicts must be compared exactly.
    assert.ok(limited * 10 < checked, `${limited} of ${checked} packets were limited`);
  });
});
