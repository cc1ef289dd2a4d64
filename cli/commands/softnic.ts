// `nicguard softnic`: the built-in software target as a standalone P4Runtime server, so that any
// P4Runtime client (nicguard's own, or another) can drive the nicguard pipeline with no hardware.

import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { SoftnicDataplane } from '../../controller/softnic/dataplane';
import { SOFTNIC_MODES, type SoftnicMode } from '../../controller/softnic/dpl-mode';
import { Softnic } from '../../controller/softnic/server';
import { CliError, ExitCode, run, type CommandResult } from '../kit';

interface SoftnicFlags {
  listen: string;
  deviceId: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  mode: string;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${(err as Error).message}`, ExitCode.BAD_INPUT);
  }
}

export function registerSoftnic(program: Command): void {
  program
    .command('softnic')
    .description(
      'run the built-in software target: a P4Runtime server with a packet model of the nicguard pipeline',
    )
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:9559')
    .option('--device-id <n>', 'the device id clients must use', '1')
    .option('--tls-cert <pem>', 'serve TLS with this certificate')
    .option('--tls-key <pem>', 'and this key')
    .option('--client-ca <pem>', 'require client certificates issued by this CA (mutual TLS)')
    .option('--mode <mode>', `whose P4Runtime server to behave as: ${SOFTNIC_MODES.join(' or ')}`, 'bmv2')
    .addHelpText(
      'after',
      '\nIt runs until interrupted (SIGINT/SIGTERM). Frames can be probed through P4Runtime with a\n' +
        'PacketOut whose packet_out.report is 1: the verdict comes back as a PacketIn.\n' +
        'Examples:\n  nicguard softnic --listen 127.0.0.1:9559 --device-id 1\n  nicguard softnic --tls-cert server.pem --tls-key server.key --client-ca ca.pem',
    )
    .action(
      run(async (flags: SoftnicFlags): Promise<CommandResult> => {
        if (!/^\d+$/.test(flags.deviceId) || flags.deviceId === '0') {
          throw new CliError(
            `--device-id must be a positive integer, got "${flags.deviceId}"`,
            ExitCode.BAD_INPUT,
          );
        }
        if (!(SOFTNIC_MODES as readonly string[]).includes(flags.mode)) {
          throw new CliError(
            `--mode must be one of ${SOFTNIC_MODES.join(', ')}, got "${flags.mode}"`,
            ExitCode.BAD_INPUT,
          );
        }
        if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) {
          throw new CliError('--tls-cert and --tls-key go together', ExitCode.BAD_INPUT);
        }
        const tls = flags.tlsCert
          ? {
              cert: readPem(flags.tlsCert, 'certificate'),
              key: readPem(flags.tlsKey!, 'key'),
              ...(flags.clientCa
                ? { ca: readPem(flags.clientCa, 'client CA'), requireClientCert: true }
                : {}),
            }
          : undefined;
        let nic: Softnic;
        try {
          nic = await Softnic.start({
            address: flags.listen,
            deviceId: BigInt(flags.deviceId),
            tls,
            mode: flags.mode as SoftnicMode,
          });
        } catch (err) {
          throw new CliError(
            `cannot listen on ${flags.listen}: ${(err as Error).message}`,
            ExitCode.FAILURE,
            'pick another --listen address',
          );
        }
        const dataplane = SoftnicDataplane.attachTo(nic);
        const where = `${flags.listen.replace(/:\d+$/, '')}:${nic.port}`;
        process.stderr.write(
          `softnic: P4Runtime on ${where} (${tls ? (flags.clientCa ? 'mutual TLS' : 'TLS') : 'plaintext'}), device id ${flags.deviceId}; Ctrl-C stops it\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        dataplane.detach();
        await nic.stop();
        return { human: 'softnic: stopped', json: { stopped: true, address: where } };
      }),
    );
}
