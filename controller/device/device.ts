// The device room: a configured device reached through the P4Runtime client, with the nicguard
// pipeline on it. This is where the compiled policy meets the wire: read what the device holds,
// plan the difference, apply it in the planner's order, and expose the reads telemetry needs.
// The client knows nothing of policies and the compiler nothing of gRPC; this module joins them.

import { readFileSync } from 'node:fs';
import { DeviceClient } from '../p4runtime/client';
import type { ClientOptions } from '../p4runtime/client';
import type { TlsOptions } from '../p4runtime/connection';
import { ACTIONS, METERS, TABLES, type TableContract } from '../pipeline/contract';
import type { PipelineArtifacts } from '../pipeline/artifacts';
import { profileByName, type TargetProfile } from '../pipeline/profiles';
import type { DeviceConfig } from '../config/config';
import type { EntrySpec, MeterConfigSpec } from '../pipeline/entries';
import type { CompiledPolicy } from '../compiler/compile';
import { planChange, type DeviceState, type Plan, type Update } from '../compiler/plan';
import { applyPlan, type ApplyProgress, type ApplyResult, type DeviceWriter } from '../compiler/apply';
import type { TelemetrySource } from '../telemetry/collector';

/** Reads the TLS files a device config names; a missing file is an error that names it. */
export function tlsOptions(device: DeviceConfig): TlsOptions | undefined {
  if (!device.tls) return undefined;
  const read = (what: string, path: string | undefined): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`device ${device.name}: cannot read TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const ca = read('CA', device.tls.ca);
  if (!ca) throw new Error(`device ${device.name}: tls needs a ca file`);
  return {
    ca,
    cert: read('certificate', device.tls.cert),
    key: read('key', device.tls.key),
    serverName: device.tls.serverName,
  };
}

export function clientOptionsFor(device: DeviceConfig, extra: Partial<ClientOptions> = {}): ClientOptions {
  return {
    address: device.address,
    deviceId: device.deviceId,
    electionId: device.electionId,
    role: device.role,
    profile: device.profile,
    insecure: device.insecure,
    tls: tlsOptions(device),
    ...extra,
  };
}

export interface OpenedDevice {
  readonly client: DeviceClient;
  readonly profile: TargetProfile;
  /** Whether this open had to (re)install the pipeline, which clears the device's tables. */
  readonly pipelinePushed: boolean;
  readonly cookie: string;
}

/** Connects, arbitrates and makes sure the nicguard pipeline is the one installed. */
export async function openDevice(
  device: DeviceConfig,
  pipeline: PipelineArtifacts,
  extra: Partial<ClientOptions> = {},
): Promise<OpenedDevice> {
  const client = await DeviceClient.connect(clientOptionsFor(device, { p4info: pipeline.p4info, ...extra }));
  try {
    const { pushed, cookie } = await client.ensurePipeline({
      p4info: pipeline.p4info,
      deviceConfig: pipeline.deviceConfig,
      cookie: pipeline.cookie,
    });
    return { client, profile: profileByName(device.profile), pipelinePushed: pushed, cookie };
  } catch (err) {
    client.close();
    throw err;
  }
}

/** What the device holds that the planner compares against: every table entry and configured meter. */
export async function readDeviceState(client: DeviceClient): Promise<DeviceState> {
  const readings = await client.readTableEntries();
  const meters: MeterConfigSpec[] = [];
  for (const cell of await client.readMeters(METERS.rate.name)) {
    if (cell.config) meters.push({ meter: cell.meter, index: cell.index, ...cell.config });
  }
  // Tables the controller writes at run time (quota window epochs) are not compiled from policy:
  // the planner must neither count them as drift nor remove them.
  const runtimeOwned = new Set<string>(
    Object.values(TABLES as Record<string, TableContract>)
      .filter((t) => t.runtimeOwned)
      .map((t) => t.name),
  );
  return { entries: readings.map((r) => r.entry).filter((e) => !runtimeOwned.has(e.table)), meters };
}

/** The planner's DeviceWriter over the client: one Write per batch, a result per update. */
export function clientWriter(client: DeviceClient): DeviceWriter {
  return { write: (updates: readonly Update[]) => client.writeBatch(updates) };
}

export async function planForDevice(client: DeviceClient, compiled: CompiledPolicy): Promise<Plan> {
  return planChange(await readDeviceState(client), compiled, client.profile);
}

export interface ApplyOutcome {
  readonly plan: Plan;
  readonly result: ApplyResult;
  readonly durationUs: number;
}

/** Plans against what the device holds now and carries the plan out in its order. */
export async function applyCompiled(
  client: DeviceClient,
  compiled: CompiledPolicy,
  onProgress?: (progress: ApplyProgress) => void,
): Promise<ApplyOutcome> {
  const started = process.hrtime.bigint();
  const plan = await planForDevice(client, compiled);
  const result = await applyPlan(plan, clientWriter(client), onProgress);
  return { plan, result, durationUs: Number((process.hrtime.bigint() - started) / 1000n) };
}

/** The quota_window entry that gives `slot` the window `epoch`. */
export function quotaWindowEntry(slot: number, epoch: number): EntrySpec {
  return {
    table: TABLES.quotaWindow.name,
    match: { quota_slot: { kind: 'exact', value: BigInt(slot) } },
    action: ACTIONS.setWindow.name,
    params: { epoch: BigInt(epoch) },
  };
}

/** Starts new quota windows: INSERT the slots' quota_window entries, MODIFY those that exist. */
export async function startQuotaWindows(
  client: DeviceClient,
  slots: readonly number[],
  epoch: number,
): Promise<void> {
  if (slots.length === 0) return;
  const entries = slots.map((slot) => quotaWindowEntry(slot, epoch));
  const inserted = await client.writeBatch(entries.map((entry) => ({ type: 'INSERT' as const, entry })));
  const existing = entries.filter((_, i) => !inserted[i].ok && inserted[i].code === 'ALREADY_EXISTS');
  const failed = inserted.find((r) => !r.ok && r.code !== 'ALREADY_EXISTS');
  if (failed) throw new Error(`cannot start quota windows: ${failed.code}: ${failed.message}`);
  if (existing.length > 0) await client.write(existing.map((entry) => ({ type: 'MODIFY' as const, entry })));
}

/** The reads and the one write telemetry needs, over the client. */
export function telemetrySource(client: DeviceClient): TelemetrySource {
  return {
    readEntriesWithCounters: (entries) => client.readEntriesWithCounters(entries),
    readCounterCells: (counter, indices) => client.readCounterCells(counter, indices),
    startQuotaWindows: (slots, epoch) => startQuotaWindows(client, slots, epoch),
  };
}
