// `npm run bench`: every benchmark suite, one after the other in one process, printing figures and
// the ratios measured side by side in the same run. Speed goals are checked here, never in tests.
//
//   node dist/scripts/bench.js [--only suite,suite] [--json]

import type { BenchRow } from '../controller/bench';
import { benchClient } from '../controller/p4runtime/bench';
import { benchCompiler } from '../controller/compiler/bench';
import { benchEvidence } from '../controller/evidence/bench';
import { benchModel } from '../controller/softnic/model-bench';
import { benchQuotaOvershoot } from '../controller/telemetry/quota-bench';

const SUITES: Record<string, () => Promise<readonly BenchRow[]>> = {
  client: benchClient,
  model: benchModel,
  compiler: benchCompiler,
  evidence: benchEvidence,
  quota: benchQuotaOvershoot,
};

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const onlyIndex = args.indexOf('--only');
  const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? '').split(',') : Object.keys(SUITES);
  const unknown = only.filter((s) => !SUITES[s]);
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown suite ${unknown.join(', ')}; expected ${Object.keys(SUITES).join(', ')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  const results: { suite: string; rows: readonly BenchRow[]; seconds: number }[] = [];
  for (const suite of only) {
    if (!json) process.stderr.write(`bench: running ${suite}…\n`);
    const started = process.hrtime.bigint();
    const rows = await SUITES[suite]();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    results.push({ suite, rows, seconds });
    if (!json) {
      process.stdout.write(`\n${suite} (${seconds.toFixed(1)} s)\n`);
      const name = Math.max(...rows.map((r) => r.name.length), 4);
      for (const row of rows) {
        const ratio = row.ratio === undefined ? '' : `  ratio ${row.ratio.toFixed(2)}`;
        const goal = row.goal ? `  goal ${row.goal}` : '';
        process.stdout.write(
          `  ${row.name.padEnd(name)}  ${formatValue(row.value).padStart(12)} ${row.unit}${ratio}${goal}\n`,
        );
      }
    }
  }
  if (json) process.stdout.write(JSON.stringify({ node: process.version, results }, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
