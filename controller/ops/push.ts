// Pushing a policy to a device, as the controller does it for `plan`, `apply`, `serve` and the
// demo: compile against what the device holds, plan the minimal change, carry it out in the
// planner's order, and leave evidence of each step — the policy version before anything is
// written, then the push with its outcome, then a signed checkpoint covering both.

import { compilePolicy, type CompiledPolicy } from '../compiler/compile';
import { recoverAllocation } from '../compiler/allocation';
import { planChange, type Plan } from '../compiler/plan';
import { applyPlan, type ApplyProgress, type ApplyResult } from '../compiler/apply';
import { canonicalJson, canonicalPolicy, policyVersion } from '../policy/canonical';
import type { PolicySet } from '../policy/model';
import type { DeviceClient } from '../p4runtime/client';
import { clientWriter, readDeviceState, startQuotaWindows } from '../device/device';
import { windowEpoch } from '../telemetry/collector';
import { ACTIONS } from '../pipeline/contract';
import type { EntrySpec } from '../pipeline/entries';
import type { EvidenceLog } from '../evidence';

export interface PushInput {
  readonly client: DeviceClient;
  /** The device's name in evidence records. */
  readonly device: string;
  /** The installed pipeline's cookie, recorded with the push. */
  readonly cookie: string;
  readonly policySet: PolicySet;
  readonly author: string;
  readonly evidence?: EvidenceLog;
  /** Sign a checkpoint after the push (the log must have been opened with a signer). */
  readonly checkpoint?: boolean;
  /** Stop after planning: nothing is written to the device or the log. */
  readonly dryRun?: boolean;
  readonly onProgress?: (progress: ApplyProgress) => void;
  /** Milliseconds since the epoch, for records; injectable for tests. */
  readonly now?: () => number;
}

export interface PushOutcome {
  readonly compiled: CompiledPolicy;
  readonly plan: Plan;
  /** Absent for a dry run. */
  readonly result?: ApplyResult;
  readonly durationUs: number;
}

/** The policy set as the text the evidence log keeps: its canonical JSON, whose hash is its version. */
export function policyText(policySet: PolicySet): string {
  return canonicalJson(canonicalPolicy(policySet));
}

function hasPolicyVersion(log: EvidenceLog, hash: string, until: number): boolean {
  return log.recordsByKind('policy_version', 0, until + 1, 1_000_000).some((r) => {
    const body = r.body as { policyHash?: string };
    return body.policyHash === hash;
  });
}

function quotaSlotsOf(entries: readonly EntrySpec[]): Set<number> {
  const slots = new Set<number>();
  for (const e of entries) {
    if (e.action === ACTIONS.allowQuota.name && e.params.quota_slot) slots.add(Number(e.params.quota_slot));
  }
  return slots;
}

/**
 * Compiles, plans and (unless dryRun) applies `policySet` to the device. Device rejections come
 * back in `result` rather than as exceptions; the push record says whether the device now holds
 * the whole policy ('ok'), part of it ('partial', a re-run completes it) or none ('failed').
 */
export async function pushPolicy(input: PushInput): Promise<PushOutcome> {
  const now = input.now ?? Date.now;
  const started = process.hrtime.bigint();
  const current = await readDeviceState(input.client);
  // The device is the record of the last compile: keeping its ids and priorities makes a one-rule
  // change touch only that rule's entries.
  const previous = recoverAllocation(current.entries, { profile: input.client.profile });
  const compiled = compilePolicy(input.policySet, input.client.profile, { previous });
  const plan = planChange(current, compiled, input.client.profile);
  const elapsed = (): number => Number((process.hrtime.bigint() - started) / 1000n);
  if (input.dryRun) return { compiled, plan, durationUs: elapsed() };

  const log = input.evidence;
  if (log && !hasPolicyVersion(log, policyVersion(input.policySet), now())) {
    log.append({
      kind: 'policy_version',
      time: now(),
      policyHash: policyVersion(input.policySet),
      text: policyText(input.policySet),
      author: input.author,
    });
  }
  if (log && plan.drift.length > 0) {
    log.append({
      kind: 'device_event',
      time: now(),
      device: input.device,
      event: 'drift_found',
      detail: { entries: plan.drift.length, tables: [...new Set(plan.drift.map((e) => e.table))].sort() },
    });
  }
  const result = await applyPlan(plan, clientWriter(input.client), input.onProgress);
  // A quota slot new to the device may still hold another rule's use: give it a window of its own.
  const installedSlots = quotaSlotsOf(current.entries);
  const fresh = [...quotaSlotsOf(compiled.entries)].filter((slot) => !installedSlots.has(slot));
  if (result.ok && fresh.length > 0) await startQuotaWindows(input.client, fresh, windowEpoch(now()));
  const durationUs = elapsed();
  if (log) {
    const outcome = result.ok ? 'ok' : result.updatesDone > 0 ? 'partial' : 'failed';
    log.append({
      kind: 'push',
      time: now(),
      device: input.device,
      pipelineCookie: BigInt(input.cookie),
      policyVersion: compiled.version,
      entriesWritten: result.updatesDone,
      outcome,
      ...(result.error ? { error: result.error.message } : {}),
      durationUs,
    });
    if (input.checkpoint) log.checkpoint();
  }
  return { compiled, plan, result, durationUs };
}
