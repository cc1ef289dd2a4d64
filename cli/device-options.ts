// How a command names the device it talks to: a device of nicguard.yaml by name, or an address
// given on the command line with the transport flags beside it. Connection failures become exit
// code 3 with what to check next.

import type { Command } from 'commander';
import type { DeviceConfig, NicguardConfig } from '../controller/config/config';
import { openDevice, type OpenedDevice } from '../controller/device/device';
import { loadNicguardPipeline } from '../controller/pipeline/artifacts';
import { profileByName } from '../controller/pipeline/profiles';
import { ConnectionError } from '../controller/p4runtime/errors';
import { CliError, configOrFail, ExitCode } from './kit';

export interface DeviceFlags {
  config?: string;
  device?: string;
  deviceId?: string;
  electionId?: string;
  profile?: string;
  insecure?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export function addDeviceOptions(command: Command): Command {
  return command
    .option('--config <file>', 'nicguard.yaml to read (default ./nicguard.yaml, or built-in defaults)')
    .option('-d, --device <name|host:port>', 'a device of the configuration by name, or an address')
    .option('--device-id <n>', 'P4Runtime device id (with an address)')
    .option('--election-id <n>', 'election id for arbitration (with an address)')
    .option('--profile <name>', 'target profile with an address: bmv2, softnic, bluefield-dpl')
    .option('--insecure', 'plaintext gRPC to the address (never a fallback)')
    .option('--ca <pem>', 'CA bundle for TLS to the address')
    .option('--cert <pem>', 'client certificate for mutual TLS')
    .option('--key <pem>', 'client key for mutual TLS');
}

function badInput(message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.BAD_INPUT, hint);
}

/** Resolves the flags to one device configuration (and the configuration it came from). */
export function resolveDevice(flags: DeviceFlags): { config: NicguardConfig; device: DeviceConfig } {
  const config = configOrFail(flags.config);
  const wanted = flags.device;
  if (!wanted || !/:\d+$/.test(wanted)) {
    const device = wanted ? config.devices.find((d) => d.name === wanted) : config.devices[0];
    if (!device) {
      throw badInput(
        wanted ? `no device named "${wanted}" in the configuration` : 'no device is configured',
        `configured: ${config.devices.map((d) => d.name).join(', ') || 'none'}; or pass --device host:port`,
      );
    }
    return { config, device };
  }
  const integer = (text: string | undefined, what: string, fallback: bigint): bigint => {
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text) || BigInt(text) === 0n)
      throw badInput(`${what} must be a positive integer, got "${text}"`);
    return BigInt(text);
  };
  let profile;
  try {
    profile = profileByName(flags.profile ?? 'bmv2').name;
  } catch (err) {
    throw badInput((err as Error).message);
  }
  if (!flags.insecure && !flags.ca) {
    throw badInput(`say how to reach ${wanted}`, 'pass --ca <pem> for TLS, or --insecure for plaintext');
  }
  return {
    config,
    device: {
      name: wanted,
      address: wanted,
      deviceId: integer(flags.deviceId, '--device-id', 1n),
      electionId: integer(flags.electionId, '--election-id', 1n),
      profile,
      insecure: Boolean(flags.insecure),
      tls: flags.ca ? { ca: flags.ca, cert: flags.cert, key: flags.key } : undefined,
    },
  };
}

/** Opens the device with the nicguard pipeline on it, mapping connection failures to exit code 3. */
export async function connectDevice(device: DeviceConfig): Promise<OpenedDevice> {
  try {
    return await openDevice(device, loadNicguardPipeline(), { reconnect: false, connectTimeoutMs: 5_000 });
  } catch (err) {
    if (err instanceof ConnectionError) {
      throw new CliError(
        `cannot reach device ${device.name} at ${device.address}: ${err.message}`,
        ExitCode.DEVICE_UNREACHABLE,
        err.code === 'TLS_FAILED'
          ? 'check the CA, client certificate and server name of the device configuration'
          : 'check that the device (or `nicguard softnic`) is running and listening there',
      );
    }
    throw err;
  }
}
