// `nicguard plan` and `nicguard apply`: what a policy change would do to a device, and doing it.

import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { EvidenceLog } from '../../controller/evidence';
import type { PolicySet } from '../../controller/policy/model';
import { requireSignedPolicy } from '../../controller/policy/signature';
import { planToJson, renderPlan } from '../../controller/compiler/plan';
import { openEvidence } from '../../controller/ops/evidence';
import { pushPolicy } from '../../controller/ops/push';
import { addDeviceOptions, connectDevice, resolveDevice, type DeviceFlags } from '../device-options';
import { CliError, ExitCode, run, type CommandResult, type GlobalOptions } from '../kit';
import { progressBar } from '../progress';
import { loadPolicyOrFail, policyPaths } from './policy';

function author(explicit?: string): string {
  if (explicit) return explicit;
  try {
    return process.env.NICGUARD_AUTHOR ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * With --require-signature, a policy without a valid signature by that key is refused before
 * anything reaches the device, and the refusal is itself evidence.
 */
function checkSignature(
  policySet: PolicySet,
  paths: readonly string[],
  publicKeyFile: string | undefined,
  device: string,
  log: EvidenceLog | undefined,
): void {
  if (!publicKeyFile) return;
  try {
    requireSignedPolicy(policySet, paths, readFileSync(publicKeyFile, 'utf8'));
  } catch (err) {
    const message = (err as Error).message;
    log?.append({
      kind: 'device_event',
      time: Date.now(),
      device,
      event: 'note',
      detail: {
        refused: 'policy signature',
        error: message,
        code: (err as { code?: string }).code ?? 'UNKNOWN',
      },
    });
    log?.flush();
    throw new CliError(
      `policy refused: ${message}`,
      ExitCode.BAD_INPUT,
      'sign the policy with `nicguard policy sign` using the key whose public half you require',
    );
  }
}

export function registerPush(program: Command): void {
  addDeviceOptions(
    program
      .command('plan')
      .description(
        'show what applying the policy would insert, change and remove on a device (writes nothing)',
      )
      .argument('[paths...]', 'policy files or directories (default: the configured policy directory)'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard plan policies/ --device dpu-1\n  nicguard plan examples/support-agent.policy.yaml -d 127.0.0.1:9559 --insecure --profile softnic',
    )
    .action(
      run(async (paths: string[], flags: DeviceFlags): Promise<CommandResult> => {
        const { config, device } = resolveDevice(flags);
        const { policySet } = loadPolicyOrFail(policyPaths(paths, flags.config ?? config.file));
        const opened = await connectDevice(device);
        try {
          const { plan } = await pushPolicy({
            client: opened.client,
            device: device.name,
            cookie: opened.cookie,
            policySet,
            author: author(),
            dryRun: true,
          });
          return { human: renderPlan(plan), json: planToJson(plan) };
        } finally {
          opened.client.close();
        }
      }),
    );

  addDeviceOptions(
    program
      .command('apply')
      .description('carry out the minimal, make-before-break change that makes a device enforce the policy')
      .argument('[paths...]', 'policy files or directories (default: the configured policy directory)'),
  )
    .option('--author <name>', 'who authorizes this policy version (recorded as evidence)')
    .option('--no-evidence', 'do not record the push in the evidence log')
    .option('--require-signature <pubkey.pem>', 'refuse a policy not signed by this Ed25519 public key')
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard apply policies/ --device dpu-1 --author alice\n  nicguard apply --json',
    )
    .action(
      run(
        async (
          paths: string[],
          flags: DeviceFlags & { author?: string; evidence: boolean; requireSignature?: string },
          command: Command,
        ): Promise<CommandResult> => {
          const { config, device } = resolveDevice(flags);
          const sources = policyPaths(paths, flags.config ?? config.file);
          const { policySet } = loadPolicyOrFail(sources);
          const evidence = flags.evidence ? openEvidence(config) : undefined;
          try {
            checkSignature(policySet, sources, flags.requireSignature, device.name, evidence?.log);
          } catch (err) {
            evidence?.log.close();
            throw err;
          }
          const opened = await connectDevice(device);
          const progress = progressBar(command.optsWithGlobals() as GlobalOptions, 'applying');
          try {
            const { plan, result, compiled, durationUs } = await pushPolicy({
              client: opened.client,
              device: device.name,
              cookie: opened.cookie,
              policySet,
              author: author(flags.author),
              evidence: evidence?.log,
              checkpoint: evidence?.signing,
              onProgress: (p) => progress.update(p.updatesDone, p.updatesTotal, p.phaseName),
            });
            progress.done();
            const ok = result?.ok ?? false;
            const { insert, modify, delete: removed } = plan.summary;
            const json = {
              ok,
              device: device.name,
              policyVersion: compiled.version,
              pipelinePushed: opened.pipelinePushed,
              updatesDone: result?.updatesDone ?? 0,
              summary: plan.summary,
              durationMs: durationUs / 1000,
              evidence: evidence ? { database: config.evidence.database, signed: evidence.signing } : null,
              error: result?.error
                ? { message: result.error.message, phase: result.error.phaseName }
                : undefined,
            };
            if (!ok) {
              throw new CliError(
                `apply stopped in phase "${result?.error?.phaseName}": ${result?.error?.message}`,
                ExitCode.FAILURE,
                'the device is in a safe intermediate state; fix the cause and run apply again to complete it',
                json,
              );
            }
            const human = [
              `applied policy ${compiled.version.slice(0, 12)} to ${device.name}: +${insert} ~${modify} -${removed} entries in ${(durationUs / 1000).toFixed(1)} ms`,
              opened.pipelinePushed
                ? 'pipeline installed (its cookie differed)'
                : 'pipeline already installed',
              evidence
                ? `recorded in ${config.evidence.database}${evidence.signing ? ' (checkpoint signed)' : ' (unsigned: no signing key — run `nicguard init`)'}`
                : 'not recorded (--no-evidence)',
            ].join('\n');
            return { human, json };
          } finally {
            opened.client.close();
            evidence?.log.close();
          }
        },
      ),
    );
}
