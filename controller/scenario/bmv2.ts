// bmv2 (simple_switch_grpc) as a scenario target: find it, start one on free local ports with the
// compiled nicguard program and the CPU port, and probe it over P4Runtime like any remote device.
// bmv2 is not part of nicguard: where it is not installed, callers get one line saying what is
// missing, never a stand-in.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import type { DeviceConfig } from '../config/config';
import { openDevice } from '../device/device';
import { buildDir, loadNicguardPipeline } from '../pipeline/artifacts';
import { CPU_PORT } from '../pipeline/contract';
import type { ScenarioDevice } from './runner';
import { PacketOutProbeTarget } from './target';

export const BMV2_BINARY = 'simple_switch_grpc';

export const BMV2_JSON = 'nicguard.bmv2.json';

export type Bmv2ErrorCode = 'BMV2_MISSING' | 'BMV2_START_FAILED';

export class Bmv2Error extends Error {
  override readonly name = 'Bmv2Error';
  constructor(
    readonly code: Bmv2ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The absolute path of an executable on PATH, if there is one. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export type Bmv2Availability =
  | { readonly ok: true; readonly binary: string; readonly json: string }
  | { readonly ok: false; readonly missing: string };

/**
 * Whether bmv2 can be started here: the binary on PATH and the compiled program present, plus any
 * further tools the caller needs (e.g. p4c). `missing` names the first thing that is not there, in
 * one line.
 */
export function bmv2Availability(alsoNeeded: readonly string[] = []): Bmv2Availability {
  for (const tool of [BMV2_BINARY, ...alsoNeeded]) {
    if (findOnPath(tool) === undefined) return { ok: false, missing: `${tool} is not on PATH` };
  }
  const json = join(buildDir(), BMV2_JSON);
  if (!existsSync(json)) {
    return { ok: false, missing: `p4/build/${BMV2_JSON} is absent (compile it with scripts/build-p4)` };
  }
  return { ok: true, binary: findOnPath(BMV2_BINARY)!, json };
}

/** A local TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Bmv2StartOptions {
  /** Must equal the controller's device id: bmv2 exits when a controller names another. */
  readonly deviceId?: bigint;
  readonly startTimeoutMs?: number;
}

/** One simple_switch_grpc process with no data-plane ports: the CPU port only, for probes. */
export class Bmv2Process {
  private exited = false;
  private readonly output: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    /** host:port of its P4Runtime server. */
    readonly address: string,
    readonly deviceId: bigint,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString('utf8'));
      if (this.output.length > 50) this.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => {
      this.exited = true;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(options: Bmv2StartOptions = {}): Promise<Bmv2Process> {
    const available = bmv2Availability();
    if (!available.ok) throw new Bmv2Error('BMV2_MISSING', `bmv2: ${available.missing}`);
    const deviceId = options.deviceId ?? 1n;
    const [grpcPort, thriftPort] = [await freePort(), await freePort()];
    const address = `127.0.0.1:${grpcPort}`;
    const child = spawn(
      available.binary,
      [
        '--device-id',
        deviceId.toString(),
        '--thrift-port',
        String(thriftPort),
        available.json,
        '--',
        '--grpc-server-addr',
        address,
        '--cpu-port',
        String(CPU_PORT),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const started = new Bmv2Process(child, address, deviceId);
    const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
    const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
    for (;;) {
      const failed = await Promise.race([spawnFailed, delay(100).then(() => undefined)]);
      if (failed !== undefined) {
        throw new Bmv2Error('BMV2_START_FAILED', `bmv2: cannot run ${available.binary}: ${failed.message}`);
      }
      if (started.exited) {
        throw new Bmv2Error('BMV2_START_FAILED', `bmv2 exited while starting:\n${started.log()}`);
      }
      if (await accepts(grpcPort)) return started;
      if (Date.now() > deadline) {
        await started.stop();
        throw new Bmv2Error(
          'BMV2_START_FAILED',
          `bmv2 did not listen on ${address} in time:\n${started.log()}`,
        );
      }
    }
  }

  /** The last lines it printed, for error messages. */
  log(): string {
    return this.output.join('').trim().split('\n').slice(-20).join('\n');
  }

  /** SIGTERM, then SIGKILL if it has not gone within two seconds. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * A bmv2 started for one scenario, the pipeline pushed over P4Runtime (§14) and probed by
 * report-mode PacketOuts; closing the device stops the process.
 */
export async function startBmv2Device(
  options: { deviceId?: bigint; electionId?: bigint } = {},
): Promise<ScenarioDevice> {
  const bmv2 = await Bmv2Process.start({ deviceId: options.deviceId ?? 1n });
  const config: DeviceConfig = {
    name: 'scenario-bmv2',
    address: bmv2.address,
    deviceId: bmv2.deviceId,
    electionId: options.electionId ?? 1n,
    profile: 'bmv2',
    insecure: true,
  };
  let device: ScenarioDevice;
  try {
    device = await connectBmv2Device(config, `bmv2 ${BMV2_BINARY} (pid ${bmv2.pid}) at ${bmv2.address}`);
  } catch (err) {
    await bmv2.stop();
    throw err;
  }
  return {
    ...device,
    close: async () => {
      try {
        await device.close();
      } finally {
        await bmv2.stop();
      }
    },
  };
}

/** A running bmv2 reached over P4Runtime as profile bmv2, probed by report-mode PacketOuts. */
export async function connectBmv2Device(
  config: DeviceConfig,
  name = config.address,
): Promise<ScenarioDevice> {
  const opened = await openDevice(config, loadNicguardPipeline(), {
    reconnect: false,
    connectTimeoutMs: 10_000,
  });
  const target = new PacketOutProbeTarget(opened.client, 5_000, `${name}, report-mode PacketOut probes`);
  return {
    client: opened.client,
    target,
    profile: opened.profile,
    description: target.description,
    close: async () => {
      await target.close();
      opened.client.close();
    },
  };
}
