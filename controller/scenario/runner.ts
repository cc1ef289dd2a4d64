// Runs prepared scenarios against a device: the policy goes in through the compiler, the planner
// and P4Runtime (never into the model's tables directly), traffic goes through a TrafficTarget, and
// counters come back over P4Runtime the way telemetry reads them. Each step passes or fails on its
// own; a failed step does not stop the scenario, so one run shows every broken expectation.

import { applyCompiled, openDevice, telemetrySource } from '../device/device';
import type { DeviceConfig } from '../config/config';
import type { DeviceClient } from '../p4runtime/client';
import { ConnectionError } from '../p4runtime/errors';
import { loadNicguardPipeline } from '../pipeline/artifacts';
import { COUNTERS, METERS, Reason, TABLES } from '../pipeline/contract';
import { profileByName, type TargetProfile } from '../pipeline/profiles';
import type { SoftnicMode } from '../softnic/dpl-mode';
import { agentExfiltrationThreshold } from '../policy/model';
import { ManualClock } from '../softnic/clock';
import { SoftnicDataplane } from '../softnic/dataplane';
import { Softnic } from '../softnic/server';
import { TelemetryCollector, type TelemetryRecord } from '../telemetry/collector';
import { FlowTally, formatBytes, type FlowObservation } from './expect';
import { compare, type Comparison, type CounterCheck, type Step } from './model';
import type { PreparedScenario } from './prepare';
import { ScenarioQuotas, type QuotaMeasurement } from './quota-watch';
import {
  DEFAULT_PROBE_WINDOW,
  InProcessTarget,
  PacketOutProbeTarget,
  type InjectResult,
  type TrafficTarget,
} from './target';
import { scenarioFlowPackets } from './traffic';
import type { FlowPacket } from '../traffic/flows';

/** Unpaced frames a flow hands to its target at once (the target keeps its own in-flight window). */
const FLOW_BURST = 256;

/** A device with the nicguard pipeline installed, a primary session to it, and a way to send traffic. */
export interface ScenarioDevice {
  readonly client: DeviceClient;
  readonly target: TrafficTarget;
  readonly profile: TargetProfile;
  /** Shown in reports: what the scenario ran against. */
  readonly description: string;
  close(): Promise<void>;
}

export type DeviceFactory = () => Promise<ScenarioDevice>;

export interface StepResult {
  readonly index: number;
  readonly name: string;
  readonly kind: Step['kind'];
  readonly line: number;
  readonly ok: boolean;
  /** What happened, in one line. */
  readonly summary: string;
  /** Why it failed: what was expected and what happened. Empty when it passed. */
  readonly problems: readonly string[];
  readonly durationMs: number;
  readonly observation?: FlowObservation | Record<string, unknown>;
  /** Quotas the step's traffic was charged to: what their window let out and how far past the budget. */
  readonly quotas?: readonly QuotaMeasurement[];
  /**
   * Why the step could not be tested on this target (say, a meter faster than the target can be
   * probed). Such a step is never counted as passed: `ok` stays false.
   */
  readonly skipped?: string;
}

export type SetupErrorKind = 'device' | 'apply';

export interface ScenarioResult {
  readonly file: string;
  readonly name: string;
  readonly target: string;
  readonly ok: boolean;
  readonly steps: readonly StepResult[];
  readonly durationMs: number;
  /** The scenario could not start: no device, or the policy could not be applied. */
  readonly setupError?: { readonly kind: SetupErrorKind; readonly message: string };
  /** Why the scenario was not run on this profile (it tests what the profile cannot do); ok stays true. */
  readonly skipped?: string;
}

const DEVICE_ID = 1n;

/** The in-process softnic's P4Runtime personality for each profile it can stand in for. */
const SOFTNIC_MODE_OF: Readonly<Record<'softnic' | 'bluefield-dpl', SoftnicMode>> = {
  softnic: 'bmv2',
  'bluefield-dpl': 'bluefield-dpl',
};

/**
 * A softnic started in this process on a free local port, the pipeline pushed over P4Runtime.
 * With `probes`, traffic still goes over P4Runtime as report-mode PacketOuts (the same path a
 * remote softnic or bmv2 takes) and meters run on real time; otherwise frames go straight into the
 * packet model, whose meters then run on the scenario's virtual clock. With profile
 * `bluefield-dpl` the softnic answers as the DPL runtime service (softnic/dpl-mode.ts) and the
 * client talks to it as to a BlueField: no arbitration, DELETE + INSERT instead of MODIFY.
 */
export async function startInProcessDevice(
  options: { probes?: boolean; profile?: 'softnic' | 'bluefield-dpl' } = {},
): Promise<ScenarioDevice> {
  const profile = options.profile ?? 'softnic';
  const clock = new ManualClock();
  const nic = await Softnic.start({
    address: '127.0.0.1:0',
    deviceId: DEVICE_ID,
    mode: SOFTNIC_MODE_OF[profile],
  });
  // Probed, it behaves as a device in another process would: meters on real time.
  const dataplane = SoftnicDataplane.attachTo(nic, options.probes ? {} : { clock: () => clock.nowNs() });
  try {
    const config: DeviceConfig = {
      name: 'scenario-softnic',
      address: `127.0.0.1:${nic.port}`,
      deviceId: DEVICE_ID,
      electionId: 1n,
      profile,
      insecure: true,
    };
    const opened = await openDevice(config, loadNicguardPipeline(), { reconnect: false });
    const name = profile === 'softnic' ? 'in-process softnic' : `in-process softnic as ${profile}`;
    const target = options.probes
      ? new PacketOutProbeTarget(opened.client, 5_000, `${name}, report-mode PacketOut probes`)
      : new InProcessTarget(dataplane, clock, name);
    return {
      client: opened.client,
      target,
      profile: opened.profile,
      description: target.description,
      close: async () => {
        await target.close();
        opened.client.close();
        dataplane.detach();
        await nic.stop();
      },
    };
  } catch (err) {
    dataplane.detach();
    await nic.stop();
    throw err;
  }
}

/** A device reached over P4Runtime (a softnic in another process, or bmv2), probed by PacketOut. */
export async function connectProbeDevice(
  config: DeviceConfig,
  connectTimeoutMs = 5_000,
  probeWindow = DEFAULT_PROBE_WINDOW,
): Promise<ScenarioDevice> {
  const opened = await openDevice(config, loadNicguardPipeline(), { reconnect: false, connectTimeoutMs });
  const target = new PacketOutProbeTarget(
    opened.client,
    5_000,
    `${config.address}, report-mode PacketOut probes`,
    probeWindow,
  );
  return {
    client: opened.client,
    target,
    profile: profileByName(config.profile),
    description: target.description,
    close: async () => {
      await target.close();
      opened.client.close();
    },
  };
}

/** Counter totals per rule id over both ACL tables, fed by the telemetry collector's samples. */
class RuleTotals {
  private readonly latest = new Map<
    string,
    { table: string; ruleId: number; packets: bigint; bytes: bigint }
  >();

  record(records: readonly TelemetryRecord[]): void {
    for (const r of records) {
      if (r.kind !== 'counter_sample') continue;
      this.latest.set(`${r.table}|${r.ruleId}`, {
        table: r.table,
        ruleId: Number(r.ruleId),
        packets: BigInt(r.packets),
        bytes: BigInt(r.bytes),
      });
    }
  }

  copy(): RuleTotals {
    const out = new RuleTotals();
    for (const [key, t] of this.latest) out.latest.set(key, { ...t });
    return out;
  }

  /** Totals of the rule ids over the samples of `tables` (counter or table names). */
  sum(ruleIds: ReadonlySet<number>, tables: ReadonlySet<string>): { packets: bigint; bytes: bigint } {
    let packets = 0n;
    let bytes = 0n;
    for (const t of this.latest.values()) {
      if (!ruleIds.has(t.ruleId) || !tables.has(t.table)) continue;
      packets += t.packets;
      bytes += t.bytes;
    }
    return { packets, bytes };
  }
}

class ScenarioRun {
  private elapsedNs = 0n;
  private readonly startMs = Date.now();
  private readonly totals = new RuleTotals();
  private readonly collector: TelemetryCollector;
  private baseline = new RuleTotals();
  private dropBaseline = new Map<string, { packets: bigint; bytes: bigint }>();
  private readonly ruleNames: Map<number, string>;
  private readonly quotas: ScenarioQuotas;
  /** Virtual time of the next enforcer poll, where the controller enforces quotas. */
  private nextPollNs = 0n;
  /** Set once a flow could not reach its rate meter's rate: later RATE counter checks depend on it. */
  private rateUnreached: string | undefined;

  constructor(
    private readonly p: PreparedScenario,
    private readonly device: ScenarioDevice,
  ) {
    this.ruleNames = new Map(p.compiled.rules.map((r) => [r.ruleId, r.rule]));
    this.collector = new TelemetryCollector(
      telemetrySource(device.client),
      { appendBatch: (records) => this.totals.record(records) },
      p.compiled,
      { device: 'scenario', profile: device.profile, now: () => this.nowMs() },
    );
    this.quotas = new ScenarioQuotas(device.client, p.compiled, device.profile, p.counterPollSeconds, () =>
      this.nowMs(),
    );
  }

  private nowMs(): number {
    return this.startMs + Number(this.elapsedNs / 1_000_000n);
  }

  private ruleName = (id: number): string => this.ruleNames.get(id) ?? `id ${id}`;

  private ruleIds(rule: string, agent?: string): Set<number> {
    return new Set(
      this.p.compiled.rules
        .filter((r) => r.rule === rule && (agent === undefined || r.agent === agent))
        .map((r) => r.ruleId),
    );
  }

  /** Brings the device to the scenario's starting point: its policy, empty quotas and tallies. */
  async setUp(): Promise<void> {
    // A fresh pipeline is the only way to empty data-plane registers (quota use, sensitive tallies)
    // that bmv2's P4Runtime server cannot write; it clears tables and counters too.
    const pipeline = loadNicguardPipeline();
    await this.device.client.ensurePipeline(
      { p4info: pipeline.p4info, deviceConfig: pipeline.deviceConfig, cookie: pipeline.cookie },
      { force: true },
    );
    const { result } = await applyCompiled(this.device.client, this.p.compiled);
    if (!result.ok) throw new ApplyFailed(result.error?.message ?? 'the device refused the policy');
    // Counters are not reset by a policy change; checks are against what this scenario added.
    await this.collector.collect();
    this.baseline = this.totals.copy();
    this.dropBaseline = await this.readReasonCounters();
    await this.quotas.start();
    this.nextPollNs = this.elapsedNs + this.quotas.pollNs;
  }

  /**
   * The enforcer reads counters every poll interval of virtual time, as `nicguard serve` does every
   * telemetry tick; between polls the overshoot meter alone bounds a spent quota.
   */
  private async pollDue(): Promise<void> {
    if (!this.quotas.controllerEnforced || this.elapsedNs < this.nextPollNs) return;
    await this.quotas.poll();
    while (this.nextPollNs <= this.elapsedNs) this.nextPollNs += this.quotas.pollNs;
  }

  private async readReasonCounters(): Promise<Map<string, { packets: bigint; bytes: bigint }>> {
    const out = new Map<string, { packets: bigint; bytes: bigint }>();
    for (const [kind, name] of [
      ['drops', COUNTERS.drops.name],
      ['audits', COUNTERS.audits.name],
    ] as const) {
      for (const c of await this.device.client.readCounters(name))
        out.set(`${kind}|${c.index}`, { packets: c.packets, bytes: c.bytes });
    }
    return out;
  }

  async step(step: Step): Promise<StepResult> {
    const started = Date.now();
    const base = { index: step.index, name: step.name, kind: step.kind, line: step.line };
    try {
      const r = await this.execute(step);
      const ok = r.problems.length === 0 && r.skipped === undefined;
      return { ...base, ...r, ok, durationMs: Date.now() - started };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return {
        ...base,
        ok: false,
        summary: 'error',
        problems: [`the step could not run: ${message}`],
        durationMs: Date.now() - started,
      };
    }
  }

  private async execute(
    step: Step,
  ): Promise<Pick<StepResult, 'summary' | 'problems' | 'observation' | 'quotas' | 'skipped'>> {
    switch (step.kind) {
      case 'send':
      case 'spoof':
        return this.flow(step);
      case 'advance':
        return this.advance(step.seconds, step.text);
      case 'expect-counter':
        return this.counter(step.counter);
    }
  }

  private async flow(step: Extract<Step, { kind: 'send' | 'spoof' }>) {
    const resolved = this.p.flows.get(step.index)!;
    const f = step.flow;
    const pinned = step.check.rule === undefined ? undefined : this.ruleIds(step.check.rule);
    const tally = new FlowTally(step.check, pinned, this.ruleName);
    const target = this.device.target;
    const packets = scenarioFlowPackets({
      agent: {
        switchPort: resolved.ingressPort,
        mac: resolved.srcMac,
        ip: resolved.srcIp,
        ...(f.srcPort ? { l4Port: f.srcPort } : {}),
      },
      host: { ip: resolved.dstIp, l4Port: f.port ?? 0 },
      gatewayMac: this.p.scenario.topology.gatewayMac,
      uplinkPort: this.p.policySet.uplinkPort,
      protocol: f.protocol,
      sendBytes: f.bytes,
      ...(f.replyBytes !== undefined ? { receiveBytes: f.replyBytes } : {}),
      mtu: f.mtu,
    });
    const wallStart = process.hrtime.bigint();
    let scheduleNs = 0n;
    const decidedBy = new Set<number>();
    const verdicts = async (batch: readonly FlowPacket[]): Promise<InjectResult[]> => {
      const raw = target.injectMany
        ? await target.injectMany(batch.map((p) => ({ port: p.ingressPort, frame: p.frame })))
        : [await target.inject(batch[0]!.ingressPort, batch[0]!.frame)];
      return raw.map((r) => {
        const attributed = this.quotas.attribute(r);
        if (attributed.ruleId !== 0) decidedBy.add(attributed.ruleId);
        return attributed;
      });
    };
    // Unpaced frames go in bursts so that the device sees the flow as fast as it can take it; paced
    // frames keep their schedule one at a time. A burst never spans the turn from the agent's frames
    // to the replies: whether a host answers depends on what reached it.
    const burst = f.paceBytesPerSecond === undefined && target.injectMany ? FLOW_BURST : 1;
    let pending: FlowPacket[] = [];
    let probed = 0;
    let sentBytes = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      const results = await verdicts(batch);
      results.forEach((r, i) => {
        probed += batch[i]!.frame.length;
        if (batch[i]!.direction === 'send') {
          sentBytes += r.packetLength;
          tally.addSent(r);
        } else tally.addReply(r);
      });
    };
    for (const packet of packets) {
      if (pending.length > 0 && (pending.length >= burst || pending[0]!.direction !== packet.direction))
        await flush();
      if (f.paceBytesPerSecond !== undefined) {
        // Wire time of this frame at the pace; the device's meters see the gap. A device that keeps
        // its own time gets it in real time: wait until the frame is due.
        const ns = (BigInt(packet.frame.length) * 1_000_000_000n) / BigInt(f.paceBytesPerSecond);
        scheduleNs += ns;
        if (target.virtualTime) target.advanceClock(ns);
        else await sleepUntil(wallStart + scheduleNs);
        this.elapsedNs += ns;
        await this.pollDue();
      }
      if (packet.direction === 'receive' && !tally.anyForwarded) {
        // A host answers only what reached it.
        tally.skipReply();
        continue;
      }
      pending.push(packet);
    }
    await flush();
    const wallNs = Number(process.hrtime.bigint() - wallStart);
    // What the device was offered, in real time: a meter only turns red above its rate.
    const offered =
      !target.virtualTime && probed > 0 && wallNs > 0
        ? {
            bytesPerSecond: (probed * 1e9) / wallNs,
            text: `offered ${((probed / wallNs) * 1e3).toFixed(1)} MB/s`,
          }
        : undefined;
    const quotas = await this.quotas.measure(this.quotas.slotsOf([...decidedBy, ...(pinned ?? [])]));
    const bound = quotas.reduce((n, q) => n + (q.boundBytes ?? 0), 0);
    const outcome = tally.outcome(
      bound > 0
        ? { bytes: bound, why: `overshoot bound of controller-enforced quota on ${this.device.profile.name}` }
        : undefined,
    );
    const problems = [...outcome.problems];
    for (const q of quotas) {
      if (q.boundBytes !== undefined && q.overshootBytes > q.boundBytes) {
        problems.push(
          `quota ${q.agent}: ${q.quota} went ${q.overshootBytes} B past its budget, more than the overshoot bound ${Math.ceil(q.boundBytes)} B (meter rate × poll interval + one burst)`,
        );
      }
    }
    const charged = quotas.filter((q) => q.windowBytes > 0 || q.withdrawn).map(describeQuota);
    const notes = [...charged, ...(offered ? [offered.text] : [])];
    const meterWanted =
      f.paceBytesPerSecond === undefined &&
      (step.check.expect === 'rate-limited' ||
        (step.check.expect === 'audited' && step.check.reason === 'RATE'));
    const meterSeen = (outcome.observation.drops.RATE ?? 0) + (outcome.observation.audited.RATE ?? 0) > 0;
    const shortfall =
      meterWanted && !meterSeen && offered !== undefined
        ? this.meterShortfall(new Set([...decidedBy, ...(pinned ?? [])]), sentBytes, offered.bytesPerSecond)
        : undefined;
    if (shortfall !== undefined) this.rateUnreached = `step ${step.index + 1}: ${shortfall}`;
    return {
      summary: notes.length > 0 ? `${outcome.summary}; ${notes.join('; ')}` : outcome.summary,
      problems: shortfall !== undefined ? [`not applicable on this target: ${shortfall}`] : problems,
      ...(shortfall !== undefined ? { skipped: `not applicable on this target: ${shortfall}` } : {}),
      observation: outcome.observation,
      ...(quotas.length > 0 ? { quotas } : {}),
    };
  }

  /**
   * When the flow could not be offered fast enough to empty the rate meter of any rule that decided
   * it, says by how much. A full bucket of `cburst` bytes at `cir` bytes/s (P4Runtime §9.6) turns red
   * within a flow of B bytes only if the flow arrives faster than cir·B/(B − cburst).
   */
  private meterShortfall(ruleIds: ReadonlySet<number>, bytes: number, achieved: number): string | undefined {
    const allocation = this.p.compiled.allocation.meters;
    let needed: number | undefined;
    for (const r of this.p.compiled.rules) {
      if (!ruleIds.has(r.ruleId)) continue;
      const index = allocation[`${r.agent}/rate:${r.rule}`];
      const meter = this.p.compiled.meters.find((m) => m.meter === METERS.rate.name && m.index === index);
      if (index === undefined || meter === undefined) continue;
      const [cir, cburst] = [Number(meter.cir), Number(meter.cburst)];
      if (bytes <= cburst) continue;
      const rate = (cir * bytes) / (bytes - cburst);
      needed = needed === undefined ? rate : Math.min(needed, rate);
    }
    if (needed === undefined || achieved >= needed) return undefined;
    const mb = (v: number) => (v / 1e6).toFixed(1);
    return `achieved ${mb(achieved)} MB/s, the meter needs ${mb(needed)} MB/s to turn red within ${formatBytes(bytes)}`;
  }

  private async advance(seconds: number, text: string) {
    const ns = BigInt(seconds) * 1_000_000_000n;
    this.device.target.advanceClock(ns);
    this.elapsedNs += ns;
    let closed: number[];
    if (this.quotas.controllerEnforced) {
      // The enforcer closes the windows (and restores withdrawn quotas) at its next poll.
      closed = await this.quotas.poll();
      this.nextPollNs = this.elapsedNs + this.quotas.pollNs;
    } else {
      closed = await this.collector.closeQuotaWindows();
      await this.quotas.windowsClosed(closed);
    }
    const slots = closed.map((slot) => this.quotas.label(slot));
    const meters = this.device.target.virtualTime
      ? 'meters refilled'
      : 'the device keeps its own time for meters';
    const windows = slots.length > 0 ? `closed quota window(s) ${slots.join(', ')}` : 'no quota window due';
    return {
      summary: `clock +${text}: ${windows}; ${meters}`,
      problems: [],
      observation: { closedSlots: closed },
    };
  }

  private async counter(c: CounterCheck) {
    const problems: string[] = [];
    const check = (
      label: string,
      cmp: Comparison | undefined,
      observed: bigint,
      unit: 'bytes' | 'packets',
      allowance = 0,
    ) => {
      if (!cmp) return;
      if (!compare(cmp, Number(observed), allowance)) {
        const shown = unit === 'bytes' ? `${observed} B (${formatBytes(Number(observed))})` : `${observed}`;
        const extra =
          allowance > 0 ? ` (+ up to ${formatBytes(allowance)}: the quota's overshoot bound)` : '';
        problems.push(`expected ${label} ${cmp.text}${extra}, got ${shown}`);
      }
    };
    if (c.kind === 'rule') {
      await this.collector.collect();
      const ids = this.ruleIds(c.rule, c.agent);
      // An allow rule is measured by what it let out (rule_tx_counter, after every later stage), a
      // deny rule by what it stopped (its entries' direct counters): what telemetry samples.
      const deny = this.p.policySet.rules.find((r) => r.name === c.rule)?.action === 'deny';
      const tables = new Set<string>(deny ? [TABLES.aclV4.name, TABLES.aclV6.name] : [COUNTERS.ruleTx.name]);
      const now = this.totals.sum(ids, tables);
      const before = this.baseline.sum(ids, tables);
      const packets = now.packets - before.packets;
      const bytes = now.bytes - before.bytes;
      // What a controller-enforced quota let out may exceed its figure by the overshoot bound.
      const bound = deny
        ? 0
        : this.quotas.slotsOf(ids).reduce((n, slot) => n + (this.quotas.boundBytes(slot) ?? 0), 0);
      check(`rule ${c.rule} packets`, c.packets, packets, 'packets');
      check(`rule ${c.rule} bytes`, c.bytes, bytes, 'bytes', bound);
      return {
        summary: `rule ${c.rule}${c.agent ? ` (${c.agent})` : ''} ${deny ? 'stopped' : 'let out'} ${packets} packets, ${formatBytes(Number(bytes))}`,
        problems,
        observation: { packets: packets.toString(), bytes: bytes.toString() },
      };
    }
    if (c.kind === 'taint') {
      const place = this.p.agents.get(c.agent)!;
      const def = this.p.policySet.agents.find((a) => a.name === c.agent)!;
      const threshold = agentExfiltrationThreshold(this.p.policySet, def);
      // The tally register's readable twin: sensitive_rx_counter counts the same bytes.
      const cells = await this.device.client.readCounters(COUNTERS.sensitiveRx.name, place.agentId);
      const tally = cells[0]?.bytes ?? 0n;
      const tainted = threshold !== undefined && tally > BigInt(threshold);
      const limit =
        threshold === undefined ? 'no exfiltration threshold' : `threshold ${formatBytes(threshold)}`;
      if (c.tainted !== undefined && c.tainted !== tainted) {
        problems.push(
          `expected agent ${c.agent} ${c.tainted ? 'tainted' : 'not tainted'}, but it is ${tainted ? '' : 'not '}tainted: ${tally} B from sensitive sources, ${limit}`,
        );
      }
      check(`sensitive bytes of ${c.agent}`, c.sensitiveBytes, tally, 'bytes');
      return {
        summary: `agent ${c.agent}: ${formatBytes(Number(tally))} from sensitive sources, ${limit}: ${tainted ? 'tainted' : 'not tainted'}`,
        problems,
        observation: { sensitiveBytes: tally.toString(), tainted },
      };
    }
    const now = await this.readReasonCounters();
    const key = `${c.kind}|${Reason[c.reason]}`;
    const after = now.get(key) ?? { packets: 0n, bytes: 0n };
    const before = this.dropBaseline.get(key) ?? { packets: 0n, bytes: 0n };
    let packets = after.packets - before.packets;
    let bytes = after.bytes - before.bytes;
    // Where the controller cuts quotas its deny entries do the dropping, and drop_counter files those
    // drops under DENY_RULE: they are moved to QUOTA so that a check means the same on every profile.
    if (c.kind === 'drops' && (c.reason === 'QUOTA' || c.reason === 'DENY_RULE')) {
      const cut = await this.quotas.cutDrops();
      const sign = c.reason === 'QUOTA' ? 1n : -1n;
      packets += sign * cut.packets;
      bytes += sign * cut.bytes;
    }
    const what = c.kind === 'drops' ? `drops ${c.reason}` : `audits ${c.reason}`;
    check(`${what} packets`, c.packets, packets, 'packets');
    check(`${what} bytes`, c.bytes, bytes, 'bytes');
    // A RATE count depends on a flow that reached its meter; where none could, say so instead.
    const skipped =
      c.reason === 'RATE' && problems.length > 0 && this.rateUnreached !== undefined
        ? `not applicable on this target: ${this.rateUnreached}`
        : undefined;
    return {
      summary: `${what}: ${packets} packets, ${formatBytes(Number(bytes))}`,
      problems: skipped !== undefined ? [skipped] : problems,
      ...(skipped !== undefined ? { skipped } : {}),
      observation: { packets: packets.toString(), bytes: bytes.toString() },
    };
  }
}

function describeQuota(q: QuotaMeasurement): string {
  const over =
    q.boundBytes !== undefined
      ? `overshoot ${formatBytes(q.overshootBytes)} (bound ${formatBytes(q.boundBytes)})`
      : `overshoot ${formatBytes(q.overshootBytes)}`;
  const state = q.withdrawn ? ', withdrawn by the controller' : '';
  return `quota ${q.agent}: ${q.quota} ${formatBytes(q.windowBytes)} of ${formatBytes(q.budgetBytes)} this window, ${over}${state}`;
}

/**
 * Why a scenario cannot be run honestly on its profile, or undefined when it can. Without registers
 * (bluefield-dpl) there is no exfiltration guard in the data plane: the DPL program keeps no
 * sensitive-byte tally. The softnic's DPL mode still runs the bmv2 program's tally, so running such
 * a scenario would pass on behaviour the hardware does not have.
 */
export function notApplicable(p: PreparedScenario): string | undefined {
  if (p.profile.registers) return undefined;
  const reasons: string[] = [];
  const thresholds = p.policySet.agents.filter(
    (a) => agentExfiltrationThreshold(p.policySet, a) !== undefined,
  );
  if (thresholds.length > 0)
    reasons.push(`the policy sets an exfiltration threshold (${thresholds.map((a) => a.name).join(', ')})`);
  const steps = p.scenario.steps.filter(
    (s) =>
      (s.kind === 'expect-counter' && s.counter.kind === 'taint') ||
      ((s.kind === 'send' || s.kind === 'spoof') && s.check.expect === 'exfil-blocked'),
  );
  if (steps.length > 0)
    reasons.push(`step(s) ${steps.map((s) => s.index + 1).join(', ')} check the exfiltration guard`);
  if (reasons.length === 0) return undefined;
  return (
    `not applicable on ${p.profile.name}: ${reasons.join(' and ')}, which needs the sensitive_rx_bytes ` +
    'register; this profile has no registers, so the guard is not enforced there'
  );
}

async function sleepUntil(deadlineNs: bigint): Promise<void> {
  const aheadMs = Number((deadlineNs - process.hrtime.bigint()) / 1_000_000n);
  if (aheadMs >= 1) await new Promise((resolve) => setTimeout(resolve, aheadMs));
}

class ApplyFailed extends Error {
  override readonly name = 'ApplyFailed';
}

/** Runs one prepared scenario on a fresh device from `factory`; never throws for scenario problems. */
export async function runScenario(p: PreparedScenario, factory: DeviceFactory): Promise<ScenarioResult> {
  const started = Date.now();
  const head = { file: p.scenario.file, name: p.scenario.name };
  const skip = notApplicable(p);
  if (skip !== undefined) {
    return { ...head, target: 'none', ok: true, steps: [], durationMs: Date.now() - started, skipped: skip };
  }
  let device: ScenarioDevice;
  try {
    device = await factory();
  } catch (err) {
    const message = err instanceof ConnectionError || err instanceof Error ? err.message : String(err);
    return {
      ...head,
      target: 'none',
      ok: false,
      steps: [],
      durationMs: Date.now() - started,
      setupError: { kind: 'device', message },
    };
  }
  try {
    const run = new ScenarioRun(p, device);
    try {
      await run.setUp();
    } catch (err) {
      const kind: SetupErrorKind = err instanceof ApplyFailed ? 'apply' : 'device';
      return {
        ...head,
        target: device.description,
        ok: false,
        steps: [],
        durationMs: Date.now() - started,
        setupError: { kind, message: (err as Error).message },
      };
    }
    const steps: StepResult[] = [];
    for (const step of p.scenario.steps) steps.push(await run.step(step));
    return {
      ...head,
      target: device.description,
      // A step not applicable on this target is skipped with its reason: not a pass, not a failure.
      ok: steps.every((s) => s.ok || s.skipped !== undefined),
      steps,
      durationMs: Date.now() - started,
    };
  } finally {
    await device.close();
  }
}
