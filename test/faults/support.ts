// Shared by the fault-injection tests: the figures table printed at the end of the run, waiting
// for a condition, generated policies large enough that applying them takes a while, and the CLI
// as a child process with its JSON log lines collected.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'nicguard.js');

/**
 * `npm run test:faults` runs every fault class at its full count; inside `npm test` each runs a
 * subset sized so the whole suite stays within a few minutes on a 2-core machine.
 */
export const FULL =
  process.env.npm_lifecycle_event === 'test:faults' || process.env.NICGUARD_FAULTS === 'full';

export function scaled(full: number, subset: number): number {
  return FULL ? full : subset;
}

export interface FaultRow {
  readonly fault: string;
  readonly trials: number;
  readonly failures: number;
  readonly figures: string;
}

const rows: FaultRow[] = [];

/** Adds a fault class's counts to the table printed when the run ends. */
export function report(row: FaultRow): void {
  rows.push(row);
}

export function figure(values: readonly number[], unit: string): string {
  if (values.length === 0) return `n/a ${unit}`;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `median ${at(0.5).toFixed(0)} ${unit}, max ${sorted[sorted.length - 1].toFixed(0)} ${unit}`;
}

// A root-level hook: runs once after every suite of the run, whichever fault files were loaded.
after(function printFaultTable() {
  if (rows.length === 0) return;
  const header = ['fault class', 'trials', 'failures', 'figures'];
  const table = rows.map((r) => [r.fault, String(r.trials), String(r.failures), r.figures]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  const out = [
    '',
    `Fault injection (${FULL ? 'full counts' : 'npm test subset; npm run test:faults for full counts'})`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...table.map(line),
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
});

export async function until<T>(
  what: string,
  probe: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  timeoutMs = 15_000,
  stepMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function agentMac(i: number): string {
  return `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
}

export function agentIp(i: number): string {
  return `10.200.${(i >> 8) & 0xff}.${i & 0xff}`;
}

/** The agents' port: 1.. upward, skipping the CPU port. */
export function agentPort(i: number): number {
  return i + 1 >= 255 ? i + 2 : i + 1;
}

/**
 * A policy with `agents` agents and `rules` rules each: a deny of 192.0.2.0/24 first (in every
 * variant), then allows whose destinations depend on `variant`, so going from one variant to
 * another replaces almost every ACL entry while the agents stay.
 */
export function bigPolicyYaml(agents: number, rules: number, variant: number): string {
  const out = ['apiVersion: nicguard/v1', 'uplink: { port: 0 }', 'agents:'];
  for (let i = 0; i < agents; i++)
    out.push(`  - { name: a${i}, port: ${agentPort(i)}, mac: '${agentMac(i)}', ipv4: [${agentIp(i)}] }`);
  out.push('egress:');
  for (let i = 0; i < agents; i++) {
    out.push(`  - { name: a${i}-deny, agents: [a${i}], toCIDR: [192.0.2.0/24], action: deny }`);
    for (let r = 1; r < rules; r++) {
      const net = `10.${(variant * 16 + r) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}/32`;
      out.push(
        `  - { name: a${i}-r${r}, agents: [a${i}], toCIDR: [${net}], toPorts: [{ ports: [{ port: ${400 + r}, protocol: TCP }] }] }`,
      );
    }
  }
  return out.join('\n') + '\n';
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: readonly string[],
  options: { cwd: string; timeoutMs?: number },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A long-running CLI child (serve) whose stderr JSON lines are collected as they come. */
export class CliDaemon {
  readonly logs: Record<string, unknown>[] = [];
  readonly child: ChildProcess;
  private buffer = '';

  constructor(args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.resume();
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        try {
          this.logs.push({ ...(JSON.parse(line) as Record<string, unknown>), seenAt: Date.now() });
        } catch {
          this.logs.push({ raw: line, seenAt: Date.now() });
        }
      }
    });
  }

  events(name: string): Record<string, unknown>[] {
    return this.logs.filter((l) => l.event === name);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}
