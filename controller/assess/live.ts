// The facts behind a live assessment: read from the policy set, from each configured device over
// P4Runtime, and from the evidence log, so that the six questions are answered by what the
// deployment actually does rather than by what its team believes.

import { existsSync, readFileSync } from 'node:fs';
import type { NicguardConfig } from '../config/config';
import { openDevice } from '../device/device';
import { EvidenceLog } from '../evidence';
import { publicKeyPath } from '../ops/evidence';
import type { PolicySet } from '../policy/model';
import { loadNicguardPipeline } from '../pipeline/artifacts';
import { COUNTERS, Reason, TABLES } from '../pipeline/contract';
import type { LiveFacts } from './assess';

/** Facts that need only the policy set. */
export function policyFacts(
  policy: PolicySet,
): Pick<
  LiveFacts,
  | 'agents'
  | 'untrustedAllowRules'
  | 'untrustedAllowRulesWithQuota'
  | 'untrustedAllowRulesWithRate'
  | 'agentsWithExfilGuard'
  | 'sensitiveSources'
  | 'auditModeUsed'
> {
  const quotaDestinations = new Set(policy.destinations.filter((d) => d.quota).map((d) => d.name));
  const untrusted = policy.rules.filter((r) => r.action === 'allow' && !r.trusted);
  const guarded = new Set(
    policy.agents.filter((a) => a.exfiltrationThreshold !== undefined).map((a) => a.name),
  );
  for (const group of policy.groups) {
    if (group.exfiltrationThreshold !== undefined) for (const name of group.agents) guarded.add(name);
  }
  return {
    agents: policy.agents.length,
    untrustedAllowRules: untrusted.length,
    untrustedAllowRulesWithQuota: untrusted.filter(
      (r) => r.quota || r.destinations.some((d) => quotaDestinations.has(d)),
    ).length,
    untrustedAllowRulesWithRate: untrusted.filter((r) => r.rateBytesPerSecond !== undefined).length,
    agentsWithExfilGuard: guarded.size,
    sensitiveSources: policy.destinations.filter((d) => d.sensitive).length + policy.sensitiveSources.length,
    auditModeUsed:
      policy.agents.some((a) => a.mode === 'audit') || policy.rules.some((r) => r.mode === 'audit'),
  };
}

export interface LiveReadings {
  readonly facts: LiveFacts;
  /** Devices that could not be read, with why. */
  readonly unreachable: readonly { device: string; error: string }[];
}

/** Reads every configured device and the evidence log; a device that cannot be read counts against. */
export async function readLiveFacts(
  config: NicguardConfig,
  policy: PolicySet,
  options: { policySigned: boolean },
): Promise<LiveReadings> {
  const pipeline = loadNicguardPipeline();
  const unreachable: { device: string; error: string }[] = [];
  let agentsBoundEverywhere: Set<number> | undefined;
  let unboundPorts = 0;
  for (const device of config.devices) {
    try {
      const opened = await openDevice(device, pipeline, { reconnect: false, connectTimeoutMs: 3_000 });
      try {
        const ports = new Set<number>();
        for (const r of await opened.client.readTableEntries(TABLES.portMap.name)) {
          if (r.entry.action.endsWith('agent_port'))
            ports.add(
              Number(r.entry.match.ingress_port?.kind === 'exact' ? r.entry.match.ingress_port.value : -1),
            );
        }
        const bound = new Set(policy.agents.filter((a) => ports.has(a.port)).map((a) => a.port));
        agentsBoundEverywhere = agentsBoundEverywhere
          ? new Set([...agentsBoundEverywhere].filter((p) => bound.has(p)))
          : bound;
        const [unknown] = await opened.client.readCounters(COUNTERS.drops.name, Reason.UNKNOWN_PORT);
        if (unknown && unknown.packets > 0n) unboundPorts++;
      } finally {
        opened.client.close();
      }
    } catch (err) {
      unreachable.push({ device: device.name, error: (err as Error).message });
      agentsBoundEverywhere = new Set();
    }
  }
  let evidenceVerifies: boolean | undefined;
  let evidenceRecords = 0;
  if (existsSync(config.evidence.database)) {
    const log = EvidenceLog.open(config.evidence.database);
    try {
      evidenceRecords = log.size;
      const pub = publicKeyPath(config.evidence.signingKey);
      const publicKey = existsSync(pub) ? readFileSync(pub, 'utf8') : undefined;
      evidenceVerifies = log.verify(publicKey ? { publicKey } : {}).ok;
    } finally {
      log.close();
    }
  }
  const facts: LiveFacts = {
    ...policyFacts(policy),
    agentsBound: agentsBoundEverywhere?.size ?? 0,
    unboundPorts,
    offHostEnforcement:
      config.devices.length > 0 && config.devices.every((d) => d.profile === 'bluefield-dpl'),
    simulatedDevices: config.devices.filter((d) => d.profile !== 'bluefield-dpl').length,
    // The pipeline's ACLs have no_match as their constant default action: deny is built in.
    defaultDeny:
      pipeline.p4info.table(TABLES.aclV4.name).constDefaultActionId ===
      pipeline.p4info.action(TABLES.aclV4.defaultAction).id,
    evidenceVerifies,
    evidenceRecords,
    devicesWithTls: config.devices.filter((d) => !d.insecure).length,
    devices: config.devices.length,
    policySigned: options.policySigned,
  };
  return { facts, unreachable };
}
