// `nicguard demo` (what `npm start` runs): the whole mission, end to end, on the built-in target.

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findUp } from '../../controller/paths';
import { runDemo } from '../../controller/demo/story';
import { CliError, ExitCode, run, type CommandResult, type GlobalOptions } from '../kit';

function defaultPolicyDir(): string {
  return findUp(join('examples', 'demo'), __dirname) ?? join(process.cwd(), 'examples', 'demo');
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole mission on the built-in software target and write an audit report')
    .option('--out <dir>', 'where to write the evidence log, keys and report', 'nicguard-demo')
    .option('--policy <dir>', 'the policy of the story', defaultPolicyDir())
    .addHelpText('after', '\nExamples:\n  nicguard demo\n  nicguard demo --out /tmp/demo --json')
    .action(
      run(async (flags: { out: string; policy: string }, command: Command): Promise<CommandResult> => {
        const json = Boolean((command.optsWithGlobals() as GlobalOptions).json);
        if (!existsSync(flags.policy)) {
          throw new CliError(
            `no policy directory at ${flags.policy}`,
            ExitCode.BAD_INPUT,
            'pass --policy <dir>',
          );
        }
        let n = 0;
        const result = await runDemo({
          policyDir: flags.policy,
          outDir: resolve(flags.out),
          narrate: json
            ? undefined
            : (step) => {
                n++;
                process.stdout.write(
                  `\n${n}. ${step.title}\n${step.lines.map((l) => `   ${l}`).join('\n')}\n`,
                );
              },
        });
        const human = [
          '',
          result.ok
            ? `Done in ${result.seconds.toFixed(1)} s. Open the audit report: ${result.reportPath}`
            : `Finished in ${result.seconds.toFixed(1)} s, but some steps did not go as the policy says (marked UNEXPECTED above).`,
          `Evidence log: ${result.evidencePath} (verify it: nicguard evidence verify --db ${result.evidencePath} --public-key ${result.publicKeyPath})`,
        ].join('\n');
        return { human, json: result, exitCode: result.ok ? ExitCode.OK : ExitCode.FAILURE };
      }),
    );
}
