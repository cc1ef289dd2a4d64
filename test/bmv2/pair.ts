// Two devices driven by the same controller code: a real bmv2 (simple_switch_grpc) and a softnic,
// each with the nicguard pipeline pushed over P4Runtime (§14). A policy is compiled once and
// planned and applied to each from what that device holds; a packet goes to both as a report-mode
// PacketOut (§16.1) and the two PacketIns are compared; counters and registers are read back over
// P4Runtime (§9.4.2) and compared cell by cell.

import type { CompiledPolicy } from '../../controller/compiler/compile';
import type { DeviceConfig } from '../../controller/config/config';
import { applyCompiled, openDevice, type OpenedDevice } from '../../controller/device/device';
import type { DeviceClient } from '../../controller/p4runtime/client';
import type { PacketInEvent } from '../../controller/p4runtime/stream';
import { loadNicguardPipeline } from '../../controller/pipeline/artifacts';
import { COUNTERS, TABLES } from '../../controller/pipeline/contract';
import { entryKey } from '../../controller/pipeline/entries';
import { Bmv2Process } from '../../controller/scenario/bmv2';
import { SoftnicDataplane } from '../../controller/softnic/dataplane';
import { Softnic } from '../../controller/softnic/server';

const DEVICE_ID = 1n;

const PROBE_TIMEOUT_MS = 10_000;

/** What a report-mode probe says about one frame: the PacketIn's fields and its payload. */
export interface ProbeVerdict {
  readonly ingressPort: number;
  readonly egressPort: number;
  readonly reason: number;
  readonly ruleId: number;
  readonly audited: number;
  readonly pad: number;
  readonly payload: string;
}

/** One probe in flight at a time, so the next PacketIn on the stream is its answer. */
class ReportProbe {
  private waiting: ((event: PacketInEvent) => void) | undefined;
  private readonly stray: PacketInEvent[] = [];

  constructor(private readonly client: DeviceClient) {
    client.on('packetIn', (event) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(event);
      else this.stray.push(event);
    });
  }

  /** PacketIns nobody asked for (there should be none: the devices have no other ports). */
  get strays(): number {
    return this.stray.length;
  }

  send(port: number, frame: Uint8Array): Promise<ProbeVerdict> {
    return new Promise<ProbeVerdict>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`no PacketIn within ${PROBE_TIMEOUT_MS} ms for a probe on port ${port}`));
      }, PROBE_TIMEOUT_MS);
      this.waiting = (event) => {
        clearTimeout(timer);
        const md = event.metadata;
        resolve({
          ingressPort: Number(md.ingress_port ?? 0n),
          egressPort: Number(md.egress_port ?? 0n),
          reason: Number(md.reason ?? 0n),
          ruleId: Number(md.rule_id ?? 0n),
          audited: Number(md.audited ?? 0n),
          pad: Number(md._pad ?? 0n),
          payload: Buffer.from(event.payload).toString('hex'),
        });
      };
      try {
        this.client.sendPacketOut(frame, { ingress_port: port, report: 1 });
      } catch (err) {
        clearTimeout(timer);
        this.waiting = undefined;
        reject(err as Error);
      }
    });
  }
}

export interface Side {
  readonly name: 'bmv2' | 'softnic';
  readonly device: OpenedDevice;
  readonly probe: ReportProbe;
}

/** Counter and register cells by a readable name ("rule_tx_counter[7]"), value as "packets/bytes". */
export type Cells = Map<string, string>;

export async function readCells(client: DeviceClient, compiled: CompiledPolicy): Promise<Cells> {
  const cells: Cells = new Map();
  const short = (name: string) => name.slice(name.lastIndexOf('.') + 1);
  const counter = (name: string, c: { index: number; packets: bigint; bytes: bigint }) =>
    cells.set(`${short(name)}[${c.index}]`, `${c.packets}/${c.bytes}`);
  for (const name of [COUNTERS.drops.name, COUNTERS.audits.name]) {
    for (const c of await client.readCounters(name)) counter(name, c);
  }
  for (const id of new Set(compiled.rules.map((r) => r.ruleId))) {
    for (const c of await client.readCounters(COUNTERS.ruleTx.name, id)) counter(COUNTERS.ruleTx.name, c);
  }
  // Registers cannot be read from bmv2 over P4Runtime (profile bmv2: no register access): the
  // sensitive tally shows in its counter twin, quota_used in the QUOTA verdicts and drop counters.
  for (const q of compiled.quotaSlots) {
    for (const c of await client.readCounters(COUNTERS.quotaDrops.name, q.slot))
      counter(COUNTERS.quotaDrops.name, c);
  }
  for (const a of compiled.agents) {
    for (const c of await client.readCounters(COUNTERS.sensitiveRx.name, a.agentId))
      counter(COUNTERS.sensitiveRx.name, c);
  }
  for (const table of [TABLES.aclV4.name, TABLES.aclV6.name]) {
    for (const r of await client.readDirectCounters(table)) {
      cells.set(`direct ${entryKey(r.entry)}`, `${r.counter?.packets ?? 0n}/${r.counter?.bytes ?? 0n}`);
    }
  }
  return cells;
}

/** Cells whose values differ, or that one device has and the other has not. */
export function differingCells(bmv2: Cells, softnic: Cells): string[] {
  const out: string[] = [];
  for (const key of new Set([...bmv2.keys(), ...softnic.keys()])) {
    const [b, s] = [bmv2.get(key), softnic.get(key)];
    if (b !== s) out.push(`${key}: bmv2 ${b ?? 'absent'}, softnic ${s ?? 'absent'}`);
  }
  return out;
}

export class DevicePair {
  private constructor(
    readonly bmv2: Side,
    readonly softnic: Side,
    private readonly stopAll: () => Promise<void>,
  ) {}

  static async start(): Promise<DevicePair> {
    const pipeline = loadNicguardPipeline();
    const cleanups: (() => Promise<void> | void)[] = [];
    const stopAll = async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    };
    try {
      const bmv2Process = await Bmv2Process.start({ deviceId: DEVICE_ID });
      cleanups.push(() => bmv2Process.stop());
      const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: DEVICE_ID });
      cleanups.push(() => nic.stop());
      // Real time on both: bmv2's meters cannot run on any other clock.
      const dataplane = SoftnicDataplane.attachTo(nic, {});
      cleanups.push(() => dataplane.detach());
      const open = async (name: Side['name'], address: string): Promise<Side> => {
        const config: DeviceConfig = {
          name: `differential-${name}`,
          address,
          deviceId: DEVICE_ID,
          electionId: 1n,
          profile: name,
          insecure: true,
        };
        const device = await openDevice(config, pipeline, {
          reconnect: false,
          connectTimeoutMs: 10_000,
        });
        cleanups.push(() => device.client.close());
        return { name, device, probe: new ReportProbe(device.client) };
      };
      const bmv2 = await open('bmv2', bmv2Process.address);
      const softnic = await open('softnic', `127.0.0.1:${nic.port}`);
      return new DevicePair(bmv2, softnic, stopAll);
    } catch (err) {
      await stopAll();
      throw err;
    }
  }

  get sides(): readonly Side[] {
    return [this.bmv2, this.softnic];
  }

  /** Applies one compiled policy to both; the outcome per device (undefined when it applied). */
  async apply(compiled: CompiledPolicy): Promise<Record<Side['name'], string | undefined>> {
    const outcome = async (side: Side) => {
      const { result } = await applyCompiled(side.device.client, compiled);
      return result.ok ? undefined : (result.error?.message ?? 'apply failed');
    };
    const [bmv2, softnic] = await Promise.all([outcome(this.bmv2), outcome(this.softnic)]);
    return { bmv2, softnic };
  }

  async probe(port: number, frame: Uint8Array): Promise<Record<Side['name'], ProbeVerdict>> {
    const [bmv2, softnic] = await Promise.all([
      this.bmv2.probe.send(port, frame),
      this.softnic.probe.send(port, frame),
    ]);
    return { bmv2, softnic };
  }

  async cells(compiled: CompiledPolicy): Promise<Record<Side['name'], Cells>> {
    const [bmv2, softnic] = await Promise.all([
      readCells(this.bmv2.device.client, compiled),
      readCells(this.softnic.device.client, compiled),
    ]);
    return { bmv2, softnic };
  }

  close(): Promise<void> {
    return this.stopAll();
  }
}
