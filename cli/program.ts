// Builds the command tree. Each command lives in its own module under cli/commands and registers
// itself here, so `nicguard --help` is always the complete map of what the tool can do.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerAssess } from './commands/assess';
import { registerDemo } from './commands/demo';
import { registerDevice } from './commands/device';
import { registerEvidence } from './commands/evidence';
import { registerInit } from './commands/init';
import { registerPolicy } from './commands/policy';
import { registerScenario } from './commands/scenario';
import { registerPush } from './commands/push';
import { registerServe } from './commands/serve';
import { registerSoftnic } from './commands/softnic';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('nicguard')
    .description('Per-agent egress policy for AI agents, enforced on the SmartNIC/DPU through P4Runtime.')
    .version(packageVersion(), '-V, --version', 'print the nicguard version')
    .option('--json', 'print results as one JSON document (for machines)')
    .showHelpAfterError();
  registerInit(program);
  registerPolicy(program);
  registerPush(program);
  registerDevice(program);
  registerEvidence(program);
  registerSoftnic(program);
  registerServe(program);
  registerAssess(program);
  registerScenario(program);
  registerDemo(program);
  return program;
}
