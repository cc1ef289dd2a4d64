// `nicguard policy validate|compile`: check policy files and show the table entries they become,
// without touching a device.

import type { Command } from 'commander';
import {
  compilePolicy,
  compiledToJson,
  CompileError,
  type CompiledPolicy,
} from '../../controller/compiler/compile';
import { loadPolicySet } from '../../controller/policy/load';
import type { PolicySet } from '../../controller/policy/model';
import { formatDiagnostics, type PolicyError } from '../../controller/policy/errors';
import { profileByName, type TargetProfile } from '../../controller/pipeline/profiles';
import { signPolicy, signaturePathFor } from '../../controller/policy/signature';
import { readFileSync, writeFileSync } from 'node:fs';
import { CliError, configOrFail, ExitCode, run, table, type CommandResult } from '../kit';

function diagnosticJson(d: PolicyError): Record<string, unknown> {
  return {
    severity: d.severity,
    code: d.code,
    file: d.file,
    line: d.line,
    column: d.column,
    field: d.path,
    message: d.message,
    expected: d.expected,
    related: d.related,
  };
}

/** Policy paths from the arguments, else the configured policy directory. */
export function policyPaths(args: readonly string[], configPath?: string): string[] {
  return args.length > 0 ? [...args] : [configOrFail(configPath).policyDir];
}

/**
 * Loads and checks a policy set; bad policy is a CliError with exit code 2 that lists every
 * diagnostic. Warnings are returned for the caller to show.
 */
export function loadPolicyOrFail(paths: readonly string[]): {
  policySet: PolicySet;
  warnings: PolicyError[];
} {
  const { policySet, diagnostics } = loadPolicySet(paths);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (!policySet || errors.length > 0) {
    throw new CliError(
      `policy has ${errors.length} error(s):\n${formatDiagnostics(diagnostics)}`,
      ExitCode.BAD_INPUT,
      'fix the files at the positions shown, then run `nicguard policy validate` again',
      { diagnostics: diagnostics.map(diagnosticJson) },
    );
  }
  return { policySet, warnings: diagnostics.filter((d) => d.severity === 'warning') };
}

/** Compiles for a profile; a policy that does not fit is a CliError naming the table and limit. */
export function compileOrFail(policySet: PolicySet, profile: TargetProfile): CompiledPolicy {
  try {
    return compilePolicy(policySet, profile);
  } catch (err) {
    if (err instanceof CompileError) {
      throw new CliError(err.message, ExitCode.BAD_INPUT, 'reduce the policy or target a larger device', {
        code: err.code,
      });
    }
    throw err;
  }
}

export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .description('check policy files and compile them to table entries');

  policy
    .command('validate')
    .description('parse and check policy files; report every error with file, line and column')
    .argument('[paths...]', 'policy files or directories (default: the configured policy directory)')
    .option('--config <file>', 'nicguard.yaml to read')
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard policy validate examples/\n  nicguard policy validate policies/ --json',
    )
    .action(
      run((paths: string[], opts: { config?: string }): CommandResult => {
        const { policySet, warnings } = loadPolicyOrFail(policyPaths(paths, opts.config));
        const agents = policySet.agents.length;
        const rules = policySet.rules.length;
        const lines = [`policy is valid: ${agents} agent(s), ${rules} egress rule(s)`];
        if (warnings.length > 0) lines.push(formatDiagnostics(warnings));
        return {
          human: lines.join('\n'),
          json: { valid: true, agents, rules, warnings: warnings.map(diagnosticJson) },
        };
      }),
    );

  policy
    .command('sign')
    .description(
      'sign the policy set (its canonical form) with an Ed25519 key; apply and serve can require it',
    )
    .argument(
      '<paths...>',
      'policy files or directories; the signature goes to <dir>/policy.sig or <file>.sig',
    )
    .requiredOption('--key <pem>', 'Ed25519 private key (PEM)')
    .addHelpText('after', '\nExamples:\n  nicguard policy sign policies/ --key keys/policy-signing.pem')
    .action(
      run((paths: string[], opts: { key: string }): CommandResult => {
        const { policySet } = loadPolicyOrFail(paths);
        let signature;
        try {
          signature = signPolicy(policySet, readFileSync(opts.key, 'utf8'));
        } catch (err) {
          throw new CliError(
            (err as Error).message,
            ExitCode.BAD_INPUT,
            'give an Ed25519 private key in PEM',
          );
        }
        const file = signaturePathFor(paths);
        writeFileSync(file, JSON.stringify(signature, null, 2) + '\n');
        return {
          human: `signed policy ${signature.policyVersion.slice(0, 16)} with key ${signature.keyId}: ${file}`,
          json: { file, ...signature },
        };
      }),
    );

  policy
    .command('compile')
    .description('compile policy files into the exact table entries a device would receive')
    .argument('[paths...]', 'policy files or directories (default: the configured policy directory)')
    .option('--profile <name>', 'target profile: bmv2, softnic or bluefield-dpl', 'softnic')
    .option('--config <file>', 'nicguard.yaml to read')
    .addHelpText(
      'after',
      '\nExamples:\n  nicguard policy compile examples/support-agent.policy.yaml\n  nicguard policy compile policies/ --profile bluefield-dpl --json > entries.json',
    )
    .action(
      run((paths: string[], opts: { profile: string; config?: string }): CommandResult => {
        let profile: TargetProfile;
        try {
          profile = profileByName(opts.profile);
        } catch (err) {
          throw new CliError((err as Error).message, ExitCode.BAD_INPUT);
        }
        const { policySet, warnings } = loadPolicyOrFail(policyPaths(paths, opts.config));
        const compiled = compileOrFail(policySet, profile);
        const perTable = new Map<string, number>();
        for (const e of compiled.entries) perTable.set(e.table, (perTable.get(e.table) ?? 0) + 1);
        const human = [
          `policy version ${compiled.version.slice(0, 16)} for profile ${profile.name}`,
          `${compiled.entries.length} table entries, ${compiled.meters.length} meter configs, ${compiled.quotaSlots.length} quota slots`,
          '',
          table(
            ['table', 'entries'],
            [...perTable].sort().map(([t, n]) => [t, n]),
          ),
          '',
          table(
            ['agent', 'rule', 'rule id', 'priority', 'entries'],
            compiled.rules.map((r) => [r.agent, r.rule, r.ruleId, r.priority, r.entries]),
          ),
          ...(warnings.length > 0 ? ['', formatDiagnostics(warnings)] : []),
          ...compiled.warnings.map((w) => `warning[${w.code}] ${w.message}`),
        ].join('\n');
        return { human, json: compiledToJson(compiled) };
      }),
    );
}
