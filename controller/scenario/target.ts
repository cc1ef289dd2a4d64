// Where scenario traffic goes. A TrafficTarget takes a frame as if it arrived on a port and says
// what the pipeline did with it. Two kinds exist:
//   * the in-process softnic: frames run straight through its packet model (fast, and its meters
//     can run on the scenario's virtual clock);
//   * report-mode probes over P4Runtime: each frame is a PacketOut (P4Runtime §16.1) with
//     packet_out.ingress_port = the port and report = 1, and the verdict comes back as a PacketIn
//     carrying ingress_port, egress_port, reason, rule_id and audited. This needs nothing but a P4Runtime
//     session, so it works against a softnic in another process and against bmv2 running
//     p4/nicguard.p4 alike.
// Either way the policy reached the device over P4Runtime; the target only carries traffic.

import type { DeviceClient } from '../p4runtime/client';
import type { PacketInEvent } from '../p4runtime/stream';
import { Reason, reasonName, type ReasonName } from '../pipeline/contract';
import type { Verdict } from '../softnic/model';

export interface InjectResult {
  /** The frame leaves the device (for a probe: would have). Audited frames are forwarded. */
  readonly forwarded: boolean;
  readonly egressPort?: number;
  /** Why it was dropped, or for an audited frame why it would have been; NONE when simply forwarded. */
  readonly reason: ReasonName | 'UNKNOWN';
  /** The ACL rule that decided, 0 when none did. */
  readonly ruleId: number;
  /** A policy drop forwarded because the agent or rule is in audit mode. */
  readonly audited: boolean;
  /** Bytes the device counted the frame as. */
  readonly packetLength: number;
}

export interface TrafficTarget {
  /** Shown in reports. */
  readonly description: string;
  /** Whether the device's meters run on the scenario's virtual clock (see `advanceClock`). */
  readonly virtualTime: boolean;
  inject(port: number, frame: Uint8Array): Promise<InjectResult>;
  /**
   * Several frames at once, verdicts in the same order. A target that can keep frames in flight
   * offers them faster this way than one `inject` after another, which is what lets a device's
   * meters see a flow's real rate. Absent: the caller injects one at a time.
   */
  injectMany?(frames: readonly ProbeFrame[]): Promise<InjectResult[]>;
  /** Moves the device's clock forward, where the target has a virtual one; otherwise does nothing. */
  advanceClock(ns: bigint): void;
  close(): Promise<void>;
}

export interface ProbeFrame {
  readonly port: number;
  readonly frame: Uint8Array;
}

export type ProbeErrorCode = 'PROBE_TIMEOUT' | 'PROBE_CLOSED';

export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  constructor(
    readonly code: ProbeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function resultFromVerdict(v: Verdict): InjectResult {
  return {
    forwarded: v.forwarded,
    ...(v.egressPort !== undefined ? { egressPort: v.egressPort } : {}),
    reason: v.reason,
    ruleId: v.ruleId,
    audited: v.audited,
    packetLength: v.packetLength,
  };
}

/** What an in-process dataplane offers (SoftnicDataplane satisfies it). */
export interface FrameInjector {
  inject(port: number, frame: Uint8Array): Verdict;
}

/** Frames run through an in-process softnic's packet model. */
export class InProcessTarget implements TrafficTarget {
  readonly virtualTime: boolean;

  constructor(
    private readonly dataplane: FrameInjector,
    private readonly clock?: { advance(ns: bigint): void },
    readonly description = 'in-process softnic',
  ) {
    this.virtualTime = clock !== undefined;
  }

  inject(port: number, frame: Uint8Array): Promise<InjectResult> {
    return Promise.resolve(resultFromVerdict(this.dataplane.inject(port, frame)));
  }

  advanceClock(ns: bigint): void {
    this.clock?.advance(ns);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** bmv2's drop port: a verdict that names it went nowhere. */
const DROP_PORT = 511;

/**
 * Probes kept in flight by default. bmv2 queues 64 frames per egress port, and every probe's answer
 * leaves through the CPU port, so a larger window would risk answers dropped in the queue.
 */
export const DEFAULT_PROBE_WINDOW = 64;

interface PendingProbe {
  readonly frame: Buffer;
  readonly resolve: (event: PacketInEvent) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Report-mode PacketOut probes over a P4Runtime session that is primary (PacketOut needs it,
 * P4Runtime §16.1). Everything a verdict holds comes back in the PacketIn's metadata, audit mode
 * included, so each frame of a burst gets its own verdict with no other read of the device.
 */
export class PacketOutProbeTarget implements TrafficTarget {
  readonly virtualTime = false;
  private readonly pending: PendingProbe[] = [];
  private readonly onPacketIn = (event: PacketInEvent) => this.received(event);
  private closed = false;

  constructor(
    private readonly client: DeviceClient,
    private readonly timeoutMs = 5_000,
    readonly description = 'report-mode PacketOut probes over P4Runtime',
    /** PacketOuts in flight at once; 1 sends each probe only after the previous one's answer. */
    private readonly window = DEFAULT_PROBE_WINDOW,
  ) {
    client.on('packetIn', this.onPacketIn);
  }

  async inject(port: number, frame: Uint8Array): Promise<InjectResult> {
    const [result] = await this.injectMany([{ port, frame }]);
    return result!;
  }

  /**
   * Up to `window` PacketOuts go out before the first PacketIn is awaited, so the device sees the
   * frames back to back rather than one per round trip. Verdicts still come one per frame: PacketIns
   * are matched to probes in order and by content (see `received`).
   */
  async injectMany(frames: readonly ProbeFrame[]): Promise<InjectResult[]> {
    const results: InjectResult[] = [];
    for (let start = 0; start < frames.length; start += this.window) {
      const chunk = frames.slice(start, start + this.window).map((f) => ({
        port: f.port,
        payload: Buffer.from(f.frame),
      }));
      const answers = chunk.map((f) => this.probe(f.port, f.payload));
      // Every probe is awaited before any error is thrown, so none is left pending unobserved.
      const settled = await Promise.allSettled(answers);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      settled.forEach((s, i) =>
        results.push(verdictOf(chunk[i]!.payload, (s as PromiseFulfilledResult<PacketInEvent>).value)),
      );
    }
    return results;
  }

  advanceClock(): void {
    // The device keeps its own time; only the controller's clock moves (see the runner).
  }

  close(): Promise<void> {
    this.closed = true;
    this.client.off('packetIn', this.onPacketIn);
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new ProbeError('PROBE_CLOSED', 'the probe target was closed'));
    }
    return Promise.resolve();
  }

  private probe(port: number, payload: Buffer): Promise<PacketInEvent> {
    if (this.closed) return Promise.reject(new ProbeError('PROBE_CLOSED', 'the probe target was closed'));
    return new Promise<PacketInEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.pending.findIndex((p) => p.timer === timer);
        if (i >= 0) this.pending.splice(i, 1);
        reject(
          new ProbeError(
            'PROBE_TIMEOUT',
            `no PacketIn answered a report-mode probe on port ${port} within ${this.timeoutMs} ms: ` +
              'is the device running p4/nicguard.p4 with a CPU port, and is this session primary?',
          ),
        );
      }, this.timeoutMs);
      this.pending.push({ frame: payload, resolve, reject, timer });
      try {
        this.client.sendPacketOut(payload, { ingress_port: port, report: 1 });
      } catch (err) {
        this.pending.pop();
        clearTimeout(timer);
        reject(err as Error);
      }
    });
  }

  private received(event: PacketInEvent): void {
    // PacketIns arrive in the order the PacketOuts were processed; a frame that is not the oldest
    // pending probe is someone else's PacketIn and is left alone.
    const first = this.pending[0];
    if (first === undefined || !first.frame.equals(event.payload)) return;
    this.pending.shift();
    clearTimeout(first.timer);
    first.resolve(event);
  }
}

/** The verdict a report PacketIn carries (the packet_in header of p4/nicguard.p4). */
function verdictOf(payload: Buffer, event: PacketInEvent): InjectResult {
  const md = event.metadata;
  const reasonCode = Number(md.reason ?? 0n);
  const egress = Number(md.egress_port ?? 0n);
  const audited = md.audited === 1n;
  const forwarded = (audited || reasonCode === Reason.NONE) && egress !== DROP_PORT;
  return {
    forwarded,
    ...(forwarded ? { egressPort: egress } : {}),
    reason: reasonName(reasonCode),
    ruleId: Number(md.rule_id ?? 0n),
    audited,
    // packet_length includes the 2-byte packet_out header (see softnic/dataplane.ts).
    packetLength: payload.length + 2,
  };
}
