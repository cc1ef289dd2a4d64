// How scenario results read at a terminal and in --json: one line per step, pass or fail, and under
// a failure what was expected and what happened.

import type { ScenarioResult } from './runner';

export function formatResults(results: readonly ScenarioResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    if (r.skipped !== undefined) {
      out.push(`SKIP  ${r.file} — ${r.name}`);
      out.push(`      ${r.skipped}`);
      continue;
    }
    out.push(
      `${r.ok ? 'PASS' : 'FAIL'}  ${r.file} — ${r.name} (${r.target}, ${(r.durationMs / 1000).toFixed(1)} s)`,
    );
    if (r.setupError) out.push(`      could not start (${r.setupError.kind}): ${r.setupError.message}`);
    for (const s of r.steps) {
      const mark = s.ok ? 'ok  ' : s.skipped !== undefined ? 'SKIP' : 'FAIL';
      out.push(`  ${mark}  step ${s.index + 1} (line ${s.line}): ${s.name}`);
      out.push(`          ${s.summary}`);
      for (const p of s.problems) out.push(`          ✗ ${p}`);
    }
  }
  const steps = results.flatMap((r) => r.steps);
  const stepsSkipped = steps.filter((s) => s.skipped !== undefined).length;
  const failed = steps.filter((s) => !s.ok && s.skipped === undefined).length;
  const broken = results.filter((r) => r.setupError).length;
  const skipped = results.filter((r) => r.skipped !== undefined).length;
  out.push('');
  out.push(
    `${results.length} scenario(s), ${steps.length} step(s): ${steps.length - failed - stepsSkipped} passed, ${failed} failed` +
      (stepsSkipped > 0 ? `, ${stepsSkipped} step(s) skipped as not applicable on this target` : '') +
      (broken > 0 ? `, ${broken} scenario(s) could not start` : '') +
      (skipped > 0 ? `, ${skipped} scenario(s) skipped as not applicable` : ''),
  );
  return out.join('\n');
}

export function resultsJson(results: readonly ScenarioResult[]): unknown {
  return {
    ok: results.every((r) => r.ok),
    scenarios: results.map((r) => ({
      file: r.file,
      name: r.name,
      target: r.target,
      ok: r.ok,
      durationMs: r.durationMs,
      ...(r.setupError ? { setupError: r.setupError } : {}),
      ...(r.skipped !== undefined ? { skipped: r.skipped } : {}),
      steps: r.steps.map((s) => ({
        step: s.index + 1,
        name: s.name,
        kind: s.kind,
        line: s.line,
        ok: s.ok,
        summary: s.summary,
        problems: s.problems,
        durationMs: s.durationMs,
        ...(s.observation ? { observation: s.observation } : {}),
        ...(s.quotas ? { quotas: s.quotas } : {}),
        ...(s.skipped !== undefined ? { skipped: s.skipped } : {}),
      })),
    })),
  };
}
