// JUnit XML for CI systems: one <testsuite> per scenario file, one <testcase> per step, a <failure>
// with what was expected and what happened. The de-facto schema (as read by Jenkins, GitLab and
// GitHub reporters): testsuites > testsuite[name, tests, failures, errors, time] > testcase[name,
// classname, time] > failure[message] | error[message].

import type { ScenarioResult } from './runner';

/** Escapes text for XML content and attribute values; drops characters XML 1.0 cannot carry. */
export function xmlEscape(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    // XML 1.0 Char: tab, newline, carriage return, and everything from space up but the surrogates
    // and U+FFFE/U+FFFF.
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) continue;
    if (c === 0xfffe || c === 0xffff) continue;
    out += ESCAPES[ch] ?? ch;
  }
  return out;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export function junitXml(results: readonly ScenarioResult[], suiteName = 'nicguard scenarios'): string {
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const count = (r: ScenarioResult) =>
    Math.max(r.steps.length, r.setupError || r.skipped !== undefined ? 1 : 0);
  const skips = (r: ScenarioResult) =>
    (r.skipped !== undefined ? 1 : 0) + r.steps.filter((s) => s.skipped !== undefined).length;
  const failures = (r: ScenarioResult) => r.steps.filter((s) => !s.ok && s.skipped === undefined).length;
  const errors = (r: ScenarioResult) => (r.setupError ? 1 : 0);
  const total = (f: (r: ScenarioResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const time = seconds(results.reduce((n, r) => n + r.durationMs, 0));
  lines.push(
    `<testsuites name="${xmlEscape(suiteName)}" tests="${total(count)}" failures="${total(failures)}" errors="${total(errors)}" skipped="${total(skips)}" time="${time}">`,
  );
  for (const r of results) {
    lines.push(
      `  <testsuite name="${xmlEscape(r.file)}" tests="${count(r)}" failures="${failures(r)}" errors="${errors(r)}" skipped="${skips(r)}" time="${seconds(r.durationMs)}">`,
    );
    lines.push(
      `    <properties><property name="scenario" value="${xmlEscape(r.name)}"/><property name="target" value="${xmlEscape(r.target)}"/></properties>`,
    );
    if (r.skipped !== undefined) {
      lines.push(`    <testcase name="not applicable" classname="${xmlEscape(r.name)}" time="0.000">`);
      lines.push(`      <skipped message="${xmlEscape(r.skipped)}"/>`);
      lines.push('    </testcase>');
    }
    if (r.setupError) {
      lines.push(`    <testcase name="set up" classname="${xmlEscape(r.name)}" time="0.000">`);
      lines.push(
        `      <error message="${xmlEscape(r.setupError.message)}" type="${r.setupError.kind}">${xmlEscape(r.setupError.message)}</error>`,
      );
      lines.push('    </testcase>');
    }
    for (const s of r.steps) {
      const name = xmlEscape(`step ${s.index + 1}: ${s.name}`);
      const open = `    <testcase name="${name}" classname="${xmlEscape(r.name)}" file="${xmlEscape(r.file)}" line="${s.line}" time="${seconds(s.durationMs)}"`;
      if (s.ok) {
        lines.push(`${open}/>`);
        continue;
      }
      if (s.skipped !== undefined) {
        lines.push(`${open}>`, `      <skipped message="${xmlEscape(s.skipped)}"/>`, '    </testcase>');
        continue;
      }
      const message = s.problems.join('; ');
      lines.push(`${open}>`);
      lines.push(
        `      <failure message="${xmlEscape(message)}" type="expectation">${xmlEscape([...s.problems, `observed: ${s.summary}`].join('\n'))}</failure>`,
      );
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
