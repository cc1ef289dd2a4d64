// `nicguard scenario run`: "does this policy do what I think?" Scenario files describe traffic and
// the verdicts it should get; each runs against a device the policy is applied to over P4Runtime.

import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { DeviceConfig } from '../../controller/config/config';
import { profileByName, type ProfileName } from '../../controller/pipeline/profiles';
import { bmv2Availability, connectBmv2Device, startBmv2Device } from '../../controller/scenario/bmv2';
import { junitXml } from '../../controller/scenario/junit';
import { prepareScenario, type PreparedScenario } from '../../controller/scenario/prepare';
import { formatResults, resultsJson } from '../../controller/scenario/report';
import {
  connectProbeDevice,
  runScenario,
  startInProcessDevice,
  type DeviceFactory,
  type ScenarioResult,
} from '../../controller/scenario/runner';
import type { ScenarioError } from '../../controller/scenario/errors';
import { CliError, ExitCode, run, type CommandResult } from '../kit';

const TARGETS = ['softnic', 'softnic-remote', 'bmv2'] as const;
type TargetName = (typeof TARGETS)[number];

interface RunOptions {
  target: string;
  address?: string;
  deviceId: string;
  electionId: string;
  profile: string;
  counterPoll: string;
  junit?: string;
}

/** Profiles the in-process softnic can stand in for (softnic/dpl-mode.ts for bluefield-dpl). */
const IN_PROCESS_PROFILES = ['softnic', 'bluefield-dpl'] as const;

function deviceFactory(opts: RunOptions): { factory: DeviceFactory; profile: ProfileName } {
  if (!(TARGETS as readonly string[]).includes(opts.target)) {
    throw new CliError(
      `unknown target "${opts.target}"`,
      ExitCode.BAD_INPUT,
      `use one of ${TARGETS.join(', ')}`,
    );
  }
  const target = opts.target as TargetName;
  if (target === 'softnic') {
    if (opts.address) {
      throw new CliError(
        '--address is for a remote target',
        ExitCode.BAD_INPUT,
        'add --target softnic-remote',
      );
    }
    const profile = IN_PROCESS_PROFILES.find((p) => p === opts.profile);
    if (profile === undefined) {
      throw new CliError(
        `the in-process softnic cannot run as profile "${opts.profile}"`,
        ExitCode.BAD_INPUT,
        `use one of ${IN_PROCESS_PROFILES.join(', ')}, or reach such a device with --target softnic-remote or bmv2`,
      );
    }
    return { factory: () => startInProcessDevice({ profile }), profile };
  }
  if (target === 'bmv2' && !['softnic', 'bmv2'].includes(opts.profile)) {
    throw new CliError(`--target bmv2 runs as profile bmv2, not "${opts.profile}"`, ExitCode.BAD_INPUT);
  }
  if (target === 'bmv2' && !opts.address) return startedBmv2(opts);
  if (!opts.address) {
    throw new CliError('--target softnic-remote needs --address host:port', ExitCode.BAD_INPUT);
  }
  let profile: ProfileName;
  let deviceId: bigint;
  let electionId: bigint;
  try {
    profile = target === 'bmv2' ? 'bmv2' : profileByName(opts.profile).name;
    deviceId = BigInt(opts.deviceId);
    electionId = BigInt(opts.electionId);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.BAD_INPUT);
  }
  const config: DeviceConfig = {
    name: 'scenario-target',
    address: opts.address,
    deviceId,
    electionId,
    profile,
    insecure: true,
  };
  if (target === 'bmv2') return { factory: () => connectBmv2Device(config), profile };
  return { factory: () => connectProbeDevice(config), profile };
}

/** `--target bmv2` without an address: a simple_switch_grpc of our own for each scenario file. */
function startedBmv2(opts: RunOptions): { factory: DeviceFactory; profile: ProfileName } {
  const available = bmv2Availability();
  if (!available.ok) {
    throw new CliError(
      `--target bmv2: ${available.missing}`,
      ExitCode.DEVICE_UNREACHABLE,
      'install bmv2 (docs/bmv2.md), or give --address of a running simple_switch_grpc',
    );
  }
  let deviceId: bigint;
  let electionId: bigint;
  try {
    deviceId = BigInt(opts.deviceId);
    electionId = BigInt(opts.electionId);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.BAD_INPUT);
  }
  return { factory: () => startBmv2Device({ deviceId, electionId }), profile: 'bmv2' };
}

function pollSeconds(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new CliError(
      `--counter-poll "${text}" is not a number of seconds`,
      ExitCode.BAD_INPUT,
      'e.g. 1 or 0.5',
    );
  }
  return seconds;
}

function prepareAll(
  files: readonly string[],
  profile: ProfileName,
  counterPollSeconds: number,
): PreparedScenario[] {
  const prepared: PreparedScenario[] = [];
  const errors: ScenarioError[] = [];
  for (const file of files) {
    const r = prepareScenario(file, profileByName(profile), { counterPollSeconds });
    if (r.ok) prepared.push(r.prepared);
    else errors.push(...r.errors);
  }
  if (errors.length > 0) {
    throw new CliError(
      `${errors.length} problem(s) in scenario files:\n${errors.map((e) => e.format()).join('\n')}`,
      ExitCode.BAD_INPUT,
      'fix the files at the positions shown; docs/scenarios.md describes every field',
      { errors: errors.map((e) => e.toJSON()) },
    );
  }
  return prepared;
}

function exitCodeFor(results: readonly ScenarioResult[]) {
  if (results.some((r) => r.setupError?.kind === 'device')) return ExitCode.DEVICE_UNREACHABLE;
  return results.every((r) => r.ok) ? ExitCode.OK : ExitCode.FAILURE;
}

export function registerScenario(program: Command): void {
  const scenario = program
    .command('scenario')
    .description('run policy scenarios: traffic with expected verdicts, checked on a device');

  scenario
    .command('run')
    .description("apply each scenario's policy to a target, send its traffic and check every step")
    .argument('<files...>', 'scenario files (*.scenario.yaml)')
    .option(
      '--target <name>',
      'where to run: softnic (in this process), softnic-remote (over P4Runtime), or bmv2 ' +
        '(simple_switch_grpc over P4Runtime: at --address, else started here from PATH)',
      'softnic',
    )
    .option('--address <host:port>', 'P4Runtime address of a remote target (plaintext)')
    .option('--device-id <n>', 'P4Runtime device id of a remote target', '1')
    .option('--election-id <n>', 'election id to become primary on a remote target', '1')
    .option(
      '--profile <name>',
      'target profile: softnic or bluefield-dpl in process (the softnic answers as that device), ' +
        'softnic, bmv2 or bluefield-dpl for a remote target',
      'softnic',
    )
    .option(
      '--counter-poll <seconds>',
      'where the controller enforces quotas (bluefield-dpl): counter poll interval in virtual seconds',
      '1',
    )
    .option('--junit <file>', 'also write JUnit XML: one testsuite per file, one testcase per step')
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard scenario run examples/*.scenario.yaml\n' +
        '  nicguard scenario run tests/*.scenario.yaml --junit scenarios.xml\n' +
        '  nicguard scenario run examples/*.scenario.yaml --profile bluefield-dpl\n' +
        '  nicguard scenario run my.scenario.yaml --target softnic-remote --address 127.0.0.1:9559\n' +
        '  nicguard scenario run examples/*.scenario.yaml --target bmv2 (docs/bmv2.md)',
    )
    .action(
      run(async (files: string[], opts: RunOptions): Promise<CommandResult> => {
        const { factory, profile } = deviceFactory(opts);
        const prepared = prepareAll(files, profile, pollSeconds(opts.counterPoll));
        const results: ScenarioResult[] = [];
        for (const p of prepared) results.push(await runScenario(p, factory));
        if (opts.junit) {
          try {
            writeFileSync(opts.junit, junitXml(results));
          } catch (err) {
            throw new CliError(`cannot write ${opts.junit}: ${(err as Error).message}`, ExitCode.FAILURE);
          }
        }
        return { human: formatResults(results), json: resultsJson(results), exitCode: exitCodeFor(results) };
      }),
    );
}
