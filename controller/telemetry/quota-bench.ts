// How far past its budget a controller-enforced quota lets traffic go. The softnic answers as the
// BlueField DPL service (no quota register), the support-agent example policy is compiled for the
// bluefield-dpl profile and pushed over P4Runtime, and traffic runs at a fixed rate on a virtual
// clock while the enforcer polls every T seconds. The bound the design promises: what gets past the
// budget is at most the overshoot meter's rate × T plus one meter burst.

import * as path from 'path';
import type { BenchRow } from '../bench';
import { compilePolicy, type CompiledPolicy } from '../compiler/compile';
import { applyCompiled, openDevice } from '../device/device';
import { loadNicguardPipeline } from '../pipeline/artifacts';
import { PROFILES } from '../pipeline/profiles';
import { loadPolicySet } from '../policy/load';
import { ManualClock } from '../softnic/clock';
import { SoftnicDataplane } from '../softnic/dataplane';
import { Softnic } from '../softnic/server';
import { QuotaEnforcer, quotaDeviceFor, type QuotaEnforcementRecord } from './quota-enforcer';

export interface OvershootRun {
  readonly budgetBytes: number;
  readonly meterBytesPerSecond: number;
  readonly burstBytes: number;
  readonly pollSeconds: number;
  readonly offeredBytesPerSecond: number;
  readonly forwardedBytes: number;
  /** Bytes forwarded beyond the budget within the window. */
  readonly overshootBytes: number;
  /** meter rate × poll interval + one burst. */
  readonly boundBytes: number;
  /** Virtual seconds from the first frame to the cut. */
  readonly cutAfterSeconds: number | undefined;
  readonly records: readonly QuotaEnforcementRecord[];
}

const FRAME_BYTES = 1514;

/** An Ethernet/IPv4/TCP frame from the support agent to the LLM API on port 443, FRAME_BYTES long. */
function llmFrame(): Buffer {
  const f = Buffer.alloc(FRAME_BYTES);
  Buffer.from('0200000000fe', 'hex').copy(f, 0); // gateway
  Buffer.from('020000000001', 'hex').copy(f, 6); // the agent's MAC
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(FRAME_BYTES - 14, 16);
  f[22] = 64;
  f[23] = 6;
  Buffer.from([10, 0, 1, 1]).copy(f, 26);
  Buffer.from([203, 0, 113, 10]).copy(f, 30);
  f.writeUInt16BE(40000, 34);
  f.writeUInt16BE(443, 36);
  f[46] = 0x50;
  return f;
}

export function supportAgentForDpl(pollSeconds: number): CompiledPolicy {
  const file = path.join(__dirname, '..', '..', '..', 'examples', 'support-agent.policy.yaml');
  const loaded = loadPolicySet(file);
  if (!loaded.policySet) throw new Error(`cannot load ${file}`);
  return compilePolicy(loaded.policySet, PROFILES['bluefield-dpl'], { counterPollSeconds: pollSeconds });
}

/**
 * Sends frames at `rateFactor` × the overshoot meter's rate for `seconds` (virtual), polling the
 * enforcer every `pollSeconds`.
 */
export async function measureQuotaOvershoot(
  options: { pollSeconds?: number; rateFactor?: number; seconds?: number } = {},
): Promise<OvershootRun> {
  const pollSeconds = options.pollSeconds ?? 1;
  const compiled = supportAgentForDpl(pollSeconds);
  const quota = compiled.quotaSlots.find((q) => q.enforcement === 'controller');
  if (!quota || quota.overshootMeter === undefined)
    throw new Error('the policy has no controller-enforced quota');
  const meter = compiled.meters.find((m) => m.index === quota.overshootMeter)!;
  const meterRate = Number(meter.cir);
  const offered = meterRate * (options.rateFactor ?? 2);
  const seconds = options.seconds ?? Math.ceil((quota.budgetBytes / meterRate) * 1.5) + 2 * pollSeconds;

  const clock = new ManualClock();
  const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1n, mode: 'bluefield-dpl' });
  const dataplane = SoftnicDataplane.attachTo(nic, { clock: () => clock.nowNs() });
  const opened = await openDevice(
    {
      name: 'dpu',
      address: nic.address,
      deviceId: 1n,
      electionId: 1n,
      profile: 'bluefield-dpl',
      insecure: true,
    },
    loadNicguardPipeline(),
    { reconnect: false },
  );
  const records: QuotaEnforcementRecord[] = [];
  let virtualMs = 0;
  try {
    const { result } = await applyCompiled(opened.client, compiled);
    if (!result.ok) throw new Error(`the policy was refused: ${result.error?.message ?? ''}`);
    const enforcer = new QuotaEnforcer(
      quotaDeviceFor(opened.client),
      { appendBatch: (r) => records.push(...r) },
      compiled,
      { device: 'dpu', profile: opened.profile, now: () => virtualMs },
    );
    await enforcer.poll();
    const frame = llmFrame();
    const gapNs = BigInt(Math.round((FRAME_BYTES * 1e9) / offered));
    let forwarded = 0;
    let cutAt: number | undefined;
    let nextPollNs = BigInt(pollSeconds * 1e9);
    let elapsedNs = 0n;
    const endNs = BigInt(seconds * 1e9);
    while (elapsedNs < endNs) {
      if (dataplane.inject(1, frame).forwarded) forwarded += FRAME_BYTES;
      clock.advance(gapNs);
      elapsedNs += gapNs;
      if (elapsedNs >= nextPollNs) {
        virtualMs = Number(elapsedNs / 1_000_000n);
        const polled = await enforcer.poll();
        if (polled.withdrawn.length > 0 && cutAt === undefined) cutAt = virtualMs / 1000;
        nextPollNs += BigInt(pollSeconds * 1e9);
      }
    }
    const burst = Number(meter.cburst);
    return {
      budgetBytes: quota.budgetBytes,
      meterBytesPerSecond: meterRate,
      burstBytes: burst,
      pollSeconds,
      offeredBytesPerSecond: offered,
      forwardedBytes: forwarded,
      overshootBytes: Math.max(0, forwarded - quota.budgetBytes),
      boundBytes: meterRate * pollSeconds + burst,
      cutAfterSeconds: cutAt,
      records,
    };
  } finally {
    opened.client.close();
    dataplane.detach();
    await nic.stop();
  }
}

export async function benchQuotaOvershoot(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const pollSeconds of [1, 0.5]) {
    const run = await measureQuotaOvershoot({ pollSeconds });
    rows.push({
      name: `quota overshoot past a ${(run.budgetBytes / 2 ** 20).toFixed(0)} MiB budget, poll ${pollSeconds}s, offered ${(run.offeredBytesPerSecond / 1e6).toFixed(1)} MB/s`,
      value: run.overshootBytes,
      unit: 'B',
      goal: `≤ ${run.boundBytes} B (meter ${run.meterBytesPerSecond} B/s × ${pollSeconds}s + burst ${run.burstBytes} B)`,
      ratio: run.overshootBytes / run.boundBytes,
    });
  }
  return rows;
}
