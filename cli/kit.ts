// What every command shares: exit codes, the --json twin of human output, and errors that say
// what to do next. Commands return a result; this module decides how it reaches the terminal.

import type { Command } from 'commander';
import { loadConfig, type NicguardConfig } from '../controller/config/config';

/** Documented in the README; scripts depend on them, so they never change meaning. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  BAD_INPUT: 2,
  DEVICE_UNREACHABLE: 3,
  VERIFICATION_FAILED: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the person at the terminal: what went wrong and what to do next. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.FAILURE,
    readonly hint?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface CommandResult {
  /** Lines for people. */
  readonly human: string;
  /** The same result for machines (printed as one JSON document with --json). */
  readonly json: unknown;
  readonly exitCode?: ExitCodeValue;
}

export interface GlobalOptions {
  json?: boolean;
}

/** Whether progress bars and colours are welcome: a terminal, and not --json. */
export function interactive(options: GlobalOptions): boolean {
  return !options.json && Boolean(process.stderr.isTTY);
}

function errorJson(err: CliError): unknown {
  return { error: { message: err.message, exitCode: err.exitCode, hint: err.hint, details: err.details } };
}

/** Turns any thrown value into a CliError; errors that carry a stable `code` keep it in the message. */
export function asCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const prefix = typeof code === 'string' && !err.message.includes(code) ? `${code}: ` : '';
    return new CliError(`${prefix}${err.message}`, ExitCode.FAILURE);
  }
  return new CliError(String(err), ExitCode.FAILURE);
}

/**
 * Wraps a command handler: prints the human text or the JSON document, reports errors on stderr
 * (and as JSON on stdout with --json), and sets the exit code.
 */
export function run<A extends unknown[]>(
  handler: (...args: A) => Promise<CommandResult> | CommandResult,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command;
    const options = command.optsWithGlobals() as GlobalOptions;
    try {
      const result = await handler(...args);
      if (options.json) process.stdout.write(JSON.stringify(result.json, jsonReplacer, 2) + '\n');
      else if (result.human)
        process.stdout.write(result.human.endsWith('\n') ? result.human : result.human + '\n');
      process.exitCode = result.exitCode ?? ExitCode.OK;
    } catch (thrown) {
      const err = asCliError(thrown);
      process.stderr.write(`nicguard: ${err.message}\n`);
      if (err.hint) process.stderr.write(`  → ${err.hint}\n`);
      if (options.json) process.stdout.write(JSON.stringify(errorJson(err), jsonReplacer, 2) + '\n');
      process.exitCode = err.exitCode;
    }
  };
}

/** JSON has no bigint: write them as decimal strings, and byte arrays as hex. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number | bigint)[])[],
): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] !== 'string'));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Bytes in the largest binary unit that keeps the number at or above one. */
export function formatBytes(bytes: number | bigint): string {
  let value = Number(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${value} B`
    : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** The configuration, or exit 2 with the file's problems and `hint` (what to do instead). */
export function configOrFail(
  path?: string,
  hint = 'fix nicguard.yaml at the positions shown',
): NicguardConfig {
  try {
    return loadConfig(path);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.BAD_INPUT, hint);
  }
}
