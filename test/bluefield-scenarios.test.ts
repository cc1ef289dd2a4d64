// The example scenarios on the bluefield-dpl profile, as a user runs them: `nicguard scenario run
// --profile bluefield-dpl` in its own process, the softnic answering as the DPL runtime service and
// the controller cutting the LLM quota from counters mid-flow. What is checked is what the design
// promises: the quota is cut, what got past its budget stays within the overshoot meter's rate ×
// poll interval + one burst, and a wrong expectation still fails.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePolicy } from '../controller/compiler/compile';
import { PROFILES } from '../controller/pipeline/profiles';
import { loadPolicySet } from '../controller/policy/load';

const REPO = path.join(__dirname, '..', '..');
const CLI = path.join(REPO, 'dist', 'cli', 'nicguard.js');
const EXAMPLES = fs
  .readdirSync(path.join(REPO, 'examples'))
  .filter((f) => f.endsWith('.scenario.yaml'))
  .map((f) => path.join('examples', f));
const SUPPORT = path.join('examples', 'support-agent.scenario.yaml');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function nicguard(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

interface QuotaJson {
  enforcement: string;
  budgetBytes: number;
  windowBytes: number;
  overshootBytes: number;
  boundBytes?: number;
  withdrawn: boolean;
}

interface ResultsJson {
  ok: boolean;
  scenarios: {
    file: string;
    ok: boolean;
    target: string;
    skipped?: string;
    steps: { step: number; ok: boolean; problems: string[]; quotas?: QuotaJson[]; observation?: unknown }[];
  }[];
}

/** meter rate × poll interval + one burst of the support agent's LLM quota, from the compiler. */
function llmBound(pollSeconds: number): { bound: number; budget: number } {
  const { policySet } = loadPolicySet(path.join(REPO, 'examples', 'support-agent.policy.yaml'));
  const compiled = compilePolicy(policySet!, PROFILES['bluefield-dpl'], { counterPollSeconds: pollSeconds });
  const slot = compiled.quotaSlots.find((q) => q.enforcement === 'controller')!;
  const meter = compiled.meters.find((m) => m.index === slot.overshootMeter)!;
  return { bound: Number(meter.cir) * pollSeconds + Number(meter.cburst), budget: slot.budgetBytes };
}

/** The support scenario's measurements of its controller-enforced quota, step by step. */
function quotaSteps(doc: ResultsJson): { step: number; quota: QuotaJson }[] {
  const support = doc.scenarios.find((s) => s.file === SUPPORT);
  assert.ok(support, `no result for ${SUPPORT}`);
  return support.steps.flatMap((s) =>
    (s.quotas ?? []).filter((q) => q.enforcement === 'controller').map((quota) => ({ step: s.step, quota })),
  );
}

describe('scenario run --profile bluefield-dpl (CLI)', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bluefield-scenarios-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes the examples, skipping the exfiltration one as not applicable, and says so', async () => {
    assert.ok(EXAMPLES.length >= 4, `examples: ${EXAMPLES.join(', ')}`);
    const r = await nicguard(['scenario', 'run', '--profile', 'bluefield-dpl', ...EXAMPLES]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /FAIL/);
    assert.match(r.stdout, /SKIP {2}examples\/no-export\.scenario\.yaml/);
    assert.match(r.stdout, /not applicable on bluefield-dpl: .*exfiltration/);
    assert.match(r.stdout, /as bluefield-dpl/);
    assert.match(r.stdout, /1 scenario\(s\) skipped as not applicable/);
  });

  for (const pollSeconds of [1, 0.5]) {
    it(`cuts the LLM quota mid-flow within meter rate × ${pollSeconds}s poll + one burst`, async () => {
      const r = await nicguard([
        '--json',
        'scenario',
        'run',
        '--profile',
        'bluefield-dpl',
        '--counter-poll',
        String(pollSeconds),
        ...EXAMPLES,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout) as ResultsJson;
      assert.equal(doc.ok, true);
      assert.ok(doc.scenarios.find((s) => s.file.endsWith('no-export.scenario.yaml'))?.skipped);
      const { bound, budget } = llmBound(pollSeconds);
      const measured = quotaSteps(doc);
      assert.ok(measured.length > 0, 'the quota steps report measurements');
      for (const { step, quota } of measured) {
        assert.equal(quota.boundBytes, bound, `step ${step}: the bound is the compiled meter's`);
        assert.equal(quota.budgetBytes, budget);
        assert.ok(
          quota.overshootBytes <= bound,
          `step ${step}: overshoot ${quota.overshootBytes} B exceeds the bound ${bound} B`,
        );
        assert.equal(quota.overshootBytes, Math.max(0, quota.windowBytes - quota.budgetBytes));
      }
      // The controller did cut it, and only once the whole budget had gone out.
      const cut = measured.find((m) => m.quota.withdrawn);
      assert.ok(cut, 'some step ended with the quota withdrawn by the controller');
      assert.ok(cut.quota.windowBytes >= budget, `cut at ${cut.quota.windowBytes} B, before the budget`);
    });
  }

  it('still fails a quota step whose figure is off by more than the overshoot bound', async () => {
    const text = fs
      .readFileSync(path.join(REPO, SUPPORT), 'utf8')
      .replace(`forwardedBytes: '~29MiB'`, `forwardedBytes: '~20MiB'`)
      .replace(
        'policy: support-agent.policy.yaml',
        `policy: ${path.join(REPO, 'examples', 'support-agent.policy.yaml')}`,
      );
    assert.match(text, /~20MiB/);
    const file = path.join(dir, 'wrong-quota.scenario.yaml');
    fs.writeFileSync(file, text);
    const r = await nicguard(['scenario', 'run', '--profile', 'bluefield-dpl', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAIL {2}step 4 \(line \d+\): keep calling until the 50 MiB hourly quota bites/);
    assert.match(r.stdout, /expected forwardedBytes ~20MiB \(\+ up to [\d.]+ MiB: overshoot bound/);
  });

  it('refuses a profile the in-process softnic cannot stand in for', async () => {
    const r = await nicguard(['scenario', 'run', '--profile', 'bmv2', SUPPORT]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr + r.stdout, /cannot run as profile "bmv2"/);
  });
});
