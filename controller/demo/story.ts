// The demo: nicguard's whole mission in one run on the built-in target. A software DPU comes up,
// the example policy is compiled and pushed to it over P4Runtime, three agents send traffic —
// reading the CRM, calling an LLM API until the quota bites, trying to export after reading
// sensitive data, running a new policy in audit mode, forging a source address — and the
// device's counters and digests become a signed evidence log that is verified, proven and turned
// into an audit report. Every figure narrated is measured in the run.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceConfig } from '../config/config';
import { openDevice, telemetrySource } from '../device/device';
import { checkProof, EvidenceLog } from '../evidence';
import { pushPolicy } from '../ops/push';
import { writeSigningKeyPair } from '../ops/evidence';
import { loadPolicySet } from '../policy/load';
import { formatDiagnostics } from '../policy/errors';
import { loadNicguardPipeline } from '../pipeline/artifacts';
import { COUNTERS, DIGESTS } from '../pipeline/contract';
import { buildReportData } from '../reports/from-evidence';
import { renderReportHtml } from '../reports/report';
import { SoftnicDataplane } from '../softnic/dataplane';
import { Softnic } from '../softnic/server';
import { TelemetryCollector } from '../telemetry/collector';
import { flowPackets, type FlowSpec } from '../traffic/flows';
import { ipFrame } from '../traffic/frames';

export interface DemoOptions {
  /** The policy files of the story. */
  readonly policyDir: string;
  /** Where the evidence database, keys and report are written (created; emptied first). */
  readonly outDir: string;
  /** Called with each step's narration as it happens. */
  readonly narrate?: (step: DemoStep) => void;
}

export interface DemoStep {
  readonly title: string;
  readonly lines: readonly string[];
  readonly facts: Readonly<Record<string, unknown>>;
}

export interface DemoResult {
  readonly steps: readonly DemoStep[];
  readonly reportPath: string;
  readonly evidencePath: string;
  readonly publicKeyPath: string;
  readonly ok: boolean;
  readonly seconds: number;
}

const UPLINK = 0;
const GATEWAY = '02:00:00:00:00:fe';
const AGENTS = {
  support: { name: 'support-agent', switchPort: 1, mac: '02:00:00:00:00:01', ip: '10.0.1.1' },
  analyst: { name: 'analyst-agent', switchPort: 2, mac: '02:00:00:00:00:02', ip: '10.0.2.1' },
  batch: { name: 'batch-agent', switchPort: 3, mac: '02:00:00:00:00:03', ip: '10.0.3.1' },
};
const HOSTS = {
  crm: { ip: '10.20.0.5', l4Port: 5432 },
  llm: { ip: '203.0.113.10', l4Port: 443 },
  exportApi: { ip: '198.51.100.20', l4Port: 443 },
  ticketing: { ip: '10.30.0.8', l4Port: 443 },
  testNet: { ip: '192.0.2.50', l4Port: 80 },
  randomSsh: { ip: '198.18.7.7', l4Port: 22 },
};
const MiB = 1024 * 1024;

interface FlowOutcome {
  packets: number;
  forwarded: number;
  forwardedBytes: number;
  dropped: number;
  audited: number;
  reasons: Record<string, number>;
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(bytes >= 10 * MiB ? 1 : 2)} MiB`;
}

/** Runs the story; throws only when the machinery fails, not when a step's outcome surprises. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const steps: DemoStep[] = [];
  let ok = true;
  const step = (title: string, lines: string[], facts: Record<string, unknown>, expectation = true): void => {
    if (!expectation) ok = false;
    const s = { title: expectation ? title : `${title} — UNEXPECTED`, lines, facts };
    steps.push(s);
    options.narrate?.(s);
  };

  rmSync(options.outDir, { recursive: true, force: true });
  mkdirSync(options.outDir, { recursive: true });
  const keys = writeSigningKeyPair(join(options.outDir, 'keys', 'evidence-signing.pem'));
  const evidencePath = join(options.outDir, 'evidence.db');
  const origin = 'nicguard.demo/evidence';
  const log = EvidenceLog.open(evidencePath, {
    signer: { origin, privateKey: readFileSync(keys.privateKey, 'utf8') },
  });

  // Virtual time for quota windows, so that "an hour later" takes no hour.
  let clock = Date.now();
  const now = (): number => clock;

  const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1 });
  const dataplane = SoftnicDataplane.attachTo(nic);
  const device: DeviceConfig = {
    name: 'softnic-demo',
    address: `127.0.0.1:${nic.port}`,
    deviceId: 1n,
    electionId: 1n,
    profile: 'softnic',
    insecure: true,
  };
  const pipeline = loadNicguardPipeline();
  const opened = await openDevice(device, pipeline);
  const client = opened.client;
  try {
    step(
      'A software DPU is up',
      [
        `the built-in target serves P4Runtime on ${device.address}; nicguard connected as primary controller`,
        `and installed the nicguard pipeline (cookie ${opened.cookie}, ${pipeline.p4info.tables.all.length} tables)`,
      ],
      { address: device.address, cookie: opened.cookie, tables: pipeline.p4info.tables.all.length },
    );

    const { policySet, diagnostics } = loadPolicySet(options.policyDir);
    if (!policySet) throw new Error(`the demo policy does not load:\n${formatDiagnostics(diagnostics)}`);
    const push = await pushPolicy({
      client,
      device: device.name,
      cookie: opened.cookie,
      policySet,
      author: 'demo',
      evidence: log,
      checkpoint: true,
      now,
    });
    const compiled = push.compiled;
    step(
      'The policy is compiled and pushed',
      [
        `${policySet.agents.length} agents, ${policySet.rules.length} rules → ${compiled.entries.length} table entries, policy version ${compiled.version.slice(0, 12)}`,
        `applied in ${push.plan.phases.length} make-before-break phases, ${(push.durationUs / 1000).toFixed(0)} ms; anything not allowed is dropped by default`,
      ],
      { entries: compiled.entries.length, version: compiled.version, ok: push.result?.ok },
      push.result?.ok === true,
    );

    const collector = new TelemetryCollector(telemetrySource(client), log, compiled, {
      device: device.name,
      profile: client.profile,
      now,
      epoch: () => opened.cookie,
    });
    let digests = 0;
    client.onDigest((list) => {
      digests += collector.recordDigests(list.data);
    });
    await client.configureDigest(DIGESTS.deny.name, {
      maxTimeoutNs: 5_000_000,
      maxListSize: 64,
      ackTimeoutNs: 1_000_000_000,
    });

    const flow = (
      agent: (typeof AGENTS)[keyof typeof AGENTS],
      host: { ip: string; l4Port: number },
      sendBytes: number,
      receiveBytes = 0,
    ): FlowOutcome => {
      const spec: FlowSpec = {
        agent,
        host,
        gatewayMac: GATEWAY,
        uplinkPort: UPLINK,
        protocol: 'tcp',
        sendBytes,
        receiveBytes,
      };
      const outcome: FlowOutcome = {
        packets: 0,
        forwarded: 0,
        forwardedBytes: 0,
        dropped: 0,
        audited: 0,
        reasons: {},
      };
      for (const packet of flowPackets(spec)) {
        const verdict = dataplane.inject(packet.ingressPort, packet.frame);
        if (packet.direction !== 'send') continue;
        outcome.packets++;
        if (verdict.forwarded) {
          outcome.forwarded++;
          outcome.forwardedBytes += packet.payloadBytes;
        } else outcome.dropped++;
        if (verdict.audited) outcome.audited++;
        if (verdict.reason !== 'NONE')
          outcome.reasons[verdict.reason] = (outcome.reasons[verdict.reason] ?? 0) + 1;
      }
      return outcome;
    };

    const crm = flow(AGENTS.support, HOSTS.crm, 16 * 1024, 2 * MiB);
    step(
      'support-agent queries the CRM',
      [`${crm.forwarded}/${crm.packets} packets forwarded; the answer (2 MiB) came back through the DPU`],
      { ...crm },
      crm.dropped === 0,
    );

    let llmSent = 0;
    let llmDropped = 0;
    let calls = 0;
    while (llmDropped === 0 && calls < 20) {
      const call = flow(AGENTS.support, HOSTS.llm, 4 * MiB, 64 * 1024);
      calls++;
      llmSent += call.forwardedBytes;
      llmDropped += call.reasons.QUOTA ?? 0;
    }
    step(
      'support-agent calls the LLM API until the quota bites',
      [
        `${calls} calls of 4 MiB: ${mib(llmSent)} of payload (50 MiB of frames) reached the LLM API, then ${llmDropped} packets were dropped by the quota of 50 MiB per hour`,
        'an agent allowed to query the CRM cannot ship it out inside ordinary API calls',
      ],
      { calls, bytesAllowed: llmSent, packetsDropped: llmDropped },
      llmDropped > 0 && llmSent <= 50 * MiB,
    );

    const ssh = flow(AGENTS.support, HOSTS.randomSsh, 4096);
    step(
      'support-agent tries an unlisted destination',
      [`ssh to ${HOSTS.randomSsh.ip}: ${ssh.dropped}/${ssh.packets} packets dropped (default deny)`],
      { ...ssh },
      ssh.forwarded === 0,
    );

    const before = flow(AGENTS.analyst, HOSTS.exportApi, 256 * 1024);
    const read = flow(AGENTS.analyst, HOSTS.crm, 8 * 1024, 3 * MiB);
    const [tally] = await client.readCounters(
      COUNTERS.sensitiveRx.name,
      compiled.agents.find((a) => a.name === AGENTS.analyst.name)!.agentId,
    );
    const exfil = flow(AGENTS.analyst, HOSTS.exportApi, 2 * MiB);
    const ticket = flow(AGENTS.analyst, HOSTS.ticketing, 32 * 1024);
    step(
      'analyst-agent reads sensitive data, then tries to export it',
      [
        `before reading: an upload of 256 KiB to the export API went through (${before.forwarded}/${before.packets} packets)`,
        `it read ${mib(Number(tally?.bytes ?? 0n))} from the CRM (threshold 1 MiB), read over P4Runtime from the DPU's counters`,
        `then: the 2 MiB export was blocked, ${exfil.reasons.EXFIL ?? 0}/${exfil.packets} packets dropped by the exfiltration guard`,
        `the trusted ticketing service stays reachable (${ticket.forwarded}/${ticket.packets} packets forwarded)`,
      ],
      { before, read, tally: tally?.bytes, exfil, ticket },
      before.dropped === 0 && exfil.forwarded === 0 && ticket.dropped === 0,
    );

    const audited = flow(AGENTS.batch, HOSTS.testNet, 64 * 1024);
    step(
      'batch-agent runs a new policy in audit mode',
      [
        `${audited.audited}/${audited.packets} packets to ${HOSTS.testNet.ip} matched a deny rule and were forwarded anyway,`,
        'counted as would-be drops: the policy can be tried on live traffic before it is enforced',
      ],
      { ...audited },
      audited.audited === audited.packets && audited.forwarded === audited.packets,
    );

    const spoof = dataplane.inject(
      AGENTS.support.switchPort,
      ipFrame({
        srcMac: AGENTS.support.mac,
        dstMac: GATEWAY,
        src: AGENTS.analyst.ip,
        dst: HOSTS.llm.ip,
        transport: { proto: 'tcp', srcPort: 40000, dstPort: 443 },
        payloadSize: 512,
      }),
    );
    step(
      "support-agent forges analyst-agent's address",
      [
        `the frame was ${spoof.forwarded ? 'FORWARDED' : `dropped (${spoof.reason})`}: identity is the DPU port, not what the agent claims`,
      ],
      { reason: spoof.reason },
      !spoof.forwarded && spoof.reason === 'SPOOFED',
    );

    // Counters to evidence; digests arrive on the stream within their max timeout.
    const collected = await collector.collect();
    await new Promise((resolve) => setTimeout(resolve, 100));
    clock += 3_600_000;
    const windows = await collector.closeQuotaWindows();
    const after = flow(AGENTS.support, HOSTS.llm, 1 * MiB);
    const collectedAfter = await collector.collect();
    step(
      'Telemetry becomes evidence; an hour later the quota window resets',
      [
        `${collected.samples + collectedAfter.samples} counter samples (per rule, from the DPU's counters) and ${digests} denial digests recorded`,
        `the controller closed ${windows.length} quota window(s) and started a new one through the quota_window table; the next LLM call went through (${after.forwarded}/${after.packets} packets)`,
      ],
      { samples: collected.samples + collectedAfter.samples, digests, windowsClosed: windows.length, after },
      windows.length > 0 && after.dropped === 0,
    );

    log.flush();
    const checkpoint = log.checkpoint();
    const publicKey = readFileSync(keys.publicKey, 'utf8');
    const verified = log.verify({ publicKey });
    const pushSeq = log.recordsByKind('push', 0, clock + 1)[0]?.seq;
    const bundle = pushSeq !== undefined ? log.inclusionProof(pushSeq) : undefined;
    const proofPath = join(options.outDir, 'push-proof.json');
    if (bundle)
      writeFileSync(
        proofPath,
        JSON.stringify(bundle, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2),
      );
    let proofChecks = false;
    if (bundle) {
      try {
        checkProof(JSON.parse(readFileSync(proofPath, 'utf8')), publicKey, origin);
        proofChecks = true;
      } catch {
        proofChecks = false;
      }
    }
    step(
      'The evidence log verifies, and proves',
      [
        `${log.size} records in an RFC 6962 Merkle log; checkpoint signed with Ed25519 at size ${checkpoint.treeSize}`,
        `verify: ${verified.ok ? 'every leaf, node and checkpoint checks out' : `FAILED: ${JSON.stringify(verified)}`}`,
        `the push of this policy is proven by ${proofPath} — checkable with the public key alone (${proofChecks ? 'checked' : 'FAILED'})`,
      ],
      {
        records: log.size,
        checkpointSize: checkpoint.treeSize,
        verified: verified.ok,
        proofPath,
        proofChecks,
      },
      verified.ok && proofChecks,
    );

    const data = buildReportData(log, {
      from: started - 60_000,
      to: clock + 60_000,
      title: 'nicguard demo — agent egress audit',
      verify: publicKey,
    });
    const reportPath = join(options.outDir, 'report.html');
    writeFileSync(reportPath, renderReportHtml(data));
    step(
      'The audit report is written',
      [
        `${reportPath}: per agent, bytes out per rule and the policy version that authorized them, denials, quota hits`,
      ],
      { reportPath, agents: data.agents.length },
    );
    return {
      steps,
      reportPath,
      evidencePath,
      publicKeyPath: keys.publicKey,
      ok,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    client.close();
    dataplane.detach();
    await nic.stop();
    log.close();
  }
}
