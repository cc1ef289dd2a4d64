// `nicguard assess`: the Agent Governance Readiness Assessment, asked at the terminal, answered by
// flag or JSON, or answered from a live deployment (`--live`, filled in by the live module).

import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import {
  assess,
  AssessError,
  assessLive,
  parseAnswers,
  QUESTIONS,
  type Answers,
  type Assessment,
  type QuestionId,
} from '../../controller/assess/assess';
import { existsSync } from 'node:fs';
import { readLiveFacts } from '../../controller/assess/live';
import { requireSignedPolicy, signaturePathFor } from '../../controller/policy/signature';
import { loadPolicyOrFail } from './policy';
import { CliError, configOrFail, ExitCode, run, type CommandResult } from '../kit';

async function askInteractively(): Promise<Answers> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answers = {} as Record<QuestionId, 0 | 1 | 2>;
  try {
    for (const [n, q] of QUESTIONS.entries()) {
      process.stderr.write(`\n${n + 1}/${QUESTIONS.length}  ${q.text}\n`);
      q.choices.forEach((c, i) => process.stderr.write(`   ${'abc'[i]}) ${c.label}\n`));
      for (;;) {
        const reply = (await rl.question('   your answer (a/b/c): ')).trim().toLowerCase();
        const index = ['a', 'b', 'c'].indexOf(reply);
        if (index >= 0) {
          answers[q.id] = index as 0 | 1 | 2;
          break;
        }
      }
    }
  } finally {
    rl.close();
  }
  return answers;
}

export function renderAssessment(result: Assessment, heading: string): string {
  const lines = [`${heading}: ${result.score}/${result.maxScore} — ${result.level}`, ''];
  for (const item of result.items) {
    const mark = item.score === 2 ? '✓' : item.score === 1 ? '~' : '✗';
    lines.push(`${mark} ${item.question}`, `    ${item.answer}`);
    if (item.basis) lines.push(`    (from: ${item.basis})`);
    if (item.recommendation) lines.push(`    → ${item.recommendation}`);
  }
  return lines.join('\n');
}

async function liveAssessment(configPath?: string, policyKey?: string): Promise<CommandResult> {
  const config = configOrFail(configPath);
  const { policySet } = loadPolicyOrFail([config.policyDir]);
  let policySigned = existsSync(signaturePathFor([config.policyDir]));
  if (policySigned && policyKey) {
    try {
      requireSignedPolicy(policySet, [config.policyDir], readFileSync(policyKey, 'utf8'));
    } catch {
      policySigned = false;
    }
  }
  const { facts, unreachable } = await readLiveFacts(config, policySet, { policySigned });
  const result = assessLive(facts);
  const lines = [renderAssessment(result, 'Readiness (live)')];
  for (const u of unreachable) lines.push(`! device ${u.device} could not be read: ${u.error}`);
  return { human: lines.join('\n'), json: { ...result, facts, unreachable } };
}

export function registerAssess(program: Command): void {
  program
    .command('assess')
    .description('Agent Governance Readiness Assessment: six questions, a score and what to do next')
    .option('--answers <list>', 'answers in question order, e.g. "c,b,c,a,b,c" (or 2,1,2,0,1,2)')
    .option('--answers-file <file>', 'answers as JSON keyed by question id')
    .option(
      '--live',
      'answer from the deployment: the configuration, its policy, its devices and evidence log',
    )
    .option('--config <file>', 'nicguard.yaml to read with --live')
    .option('--policy-key <pem>', 'with --live: the public key the policy signature must verify with')
    .addHelpText(
      'after',
      `\nQuestions (ids for --answers-file): ${QUESTIONS.map((q) => q.id).join(', ')}\n` +
        'Examples:\n  nicguard assess                       # asks at the terminal\n' +
        '  nicguard assess --answers c,b,c,a,b,c --json',
    )
    .action(
      run(
        async (opts: {
          answers?: string;
          answersFile?: string;
          live?: boolean;
          config?: string;
          policyKey?: string;
        }): Promise<CommandResult> => {
          if (opts.live) return liveAssessment(opts.config, opts.policyKey);
          let answers: Answers;
          try {
            if (opts.answers) answers = parseAnswers(opts.answers);
            else if (opts.answersFile) answers = parseAnswers(readFileSync(opts.answersFile, 'utf8'));
            else if (process.stdin.isTTY) answers = await askInteractively();
            else {
              throw new CliError(
                'no answers: standard input is not a terminal',
                ExitCode.BAD_INPUT,
                'pass --answers a,b,c,… or --answers-file answers.json',
              );
            }
          } catch (err) {
            if (err instanceof AssessError) throw new CliError(err.message, ExitCode.BAD_INPUT);
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
              throw new CliError(`cannot read ${opts.answersFile}: no such file`, ExitCode.BAD_INPUT);
            }
            throw err;
          }
          const result = assess(answers);
          return { human: renderAssessment(result, 'Readiness'), json: result };
        },
      ),
    );
}
