// Quantities written by people: byte sizes (`50MiB`), durations (`1h`), rates (`20Mbit`, `5MB/s`)
// and quotas (`50MiB per 1h`). Each parser returns a value or a reason plus what was expected, so
// that the loader can report the mistake at the field's own position.

export type Parsed<T> = { readonly value: T } | { readonly error: string; readonly expected: string };

const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

// Network rates are conventionally decimal bits; the `bps` spellings are accepted as the same thing.
const BIT_RATE_UNITS: Readonly<Record<string, number>> = {
  bit: 1,
  kbit: 1e3,
  Kbit: 1e3,
  Mbit: 1e6,
  Gbit: 1e9,
  bps: 1,
  kbps: 1e3,
  Kbps: 1e3,
  Mbps: 1e6,
  Gbps: 1e9,
};

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Largest byte count a quota or threshold may hold: exact in a double, and below the 64-bit budget. */
export const MAX_BYTES = Number.MAX_SAFE_INTEGER;

const SIZE_EXPECTED =
  'a byte size such as 1048576, 512KiB, 50MiB or 1GB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)';
const RATE_EXPECTED = 'a rate such as 20Mbit, 100kbit/s, 5MB/s or 2MiB/s';
const DURATION_EXPECTED = 'a duration such as 90s, 30m, 1h, 1h30m or 7d';
const QUOTA_EXPECTED = 'a quota such as "50MiB per 1h", or {bytes: 50MiB, per: 1h}';

function splitNumber(text: string): { num: number; unit: string } | null {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z/]*)\s*$/.exec(text);
  if (!match) return null;
  return { num: Number(match[1]), unit: match[2] };
}

export function parseSize(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 1) {
      return { error: `${input} is not a positive whole number of bytes`, expected: SIZE_EXPECTED };
    }
    return { value: input };
  }
  if (typeof input !== 'string') return { error: 'not a size', expected: SIZE_EXPECTED };
  const parts = splitNumber(input);
  const factor = parts ? SIZE_UNITS[parts.unit === '' ? 'B' : parts.unit] : undefined;
  if (!parts || factor === undefined) {
    return { error: `"${input}" is not a byte size`, expected: SIZE_EXPECTED };
  }
  const value = parts.num * factor;
  if (!Number.isInteger(value) || value < 1 || value > MAX_BYTES) {
    return {
      error: `"${input}" is not a whole number of bytes between 1 and 2^53-1`,
      expected: SIZE_EXPECTED,
    };
  }
  return { value };
}

export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input !== 'string') return { error: 'not a duration', expected: DURATION_EXPECTED };
  const match = /^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(input.trim());
  if (!match || input.trim() === '')
    return { error: `"${input}" is not a duration`, expected: DURATION_EXPECTED };
  const [d, h, m, s] = match.slice(1).map((part) => Number(part ?? 0));
  const seconds = d * DURATION_UNITS.d + h * DURATION_UNITS.h + m * DURATION_UNITS.m + s;
  if (seconds < 1) return { error: `"${input}" is shorter than one second`, expected: DURATION_EXPECTED };
  return { value: seconds };
}

/** A rate in bytes per second. Bit rates are rounded down to whole bytes; below 1 B/s is refused. */
export function parseRate(input: unknown): Parsed<number> {
  if (typeof input !== 'string') return { error: 'not a rate', expected: RATE_EXPECTED };
  const parts = splitNumber(input);
  if (!parts) return { error: `"${input}" is not a rate`, expected: RATE_EXPECTED };
  let bytesPerSecond: number | undefined;
  const unit = parts.unit;
  if (BIT_RATE_UNITS[unit.replace(/\/s$/, '')] !== undefined) {
    bytesPerSecond = Math.floor((parts.num * BIT_RATE_UNITS[unit.replace(/\/s$/, '')]) / 8);
  } else if (unit.endsWith('/s') && SIZE_UNITS[unit.slice(0, -2)] !== undefined) {
    bytesPerSecond = Math.floor(parts.num * SIZE_UNITS[unit.slice(0, -2)]);
  } else if (SIZE_UNITS[unit] !== undefined) {
    // `5MB` alone is a size, not a rate: say what is missing rather than guess a time base.
    return { error: `"${input}" is a size, not a rate (missing "/s")`, expected: RATE_EXPECTED };
  }
  if (bytesPerSecond === undefined)
    return { error: `"${input}" has an unknown rate unit`, expected: RATE_EXPECTED };
  if (bytesPerSecond < 1 || bytesPerSecond > MAX_BYTES) {
    return { error: `"${input}" is outside 1 B/s to 2^53-1 B/s`, expected: RATE_EXPECTED };
  }
  return { value: bytesPerSecond };
}

export interface QuotaValue {
  readonly bytes: number;
  readonly windowSeconds: number;
}

export function parseQuota(input: unknown): Parsed<QuotaValue> {
  let sizeInput: unknown;
  let windowInput: unknown;
  if (typeof input === 'string') {
    const match = /^\s*(\S+)\s+per\s+(\S+)\s*$/.exec(input);
    if (!match) return { error: `"${input}" is not a quota`, expected: QUOTA_EXPECTED };
    [sizeInput, windowInput] = [match[1], match[2]];
  } else if (input && typeof input === 'object') {
    const obj = input as { bytes?: unknown; per?: unknown };
    [sizeInput, windowInput] = [obj.bytes, obj.per];
  } else {
    return { error: 'not a quota', expected: QUOTA_EXPECTED };
  }
  const size = parseSize(sizeInput);
  if ('error' in size) return size;
  const window = parseDuration(windowInput);
  if ('error' in window) return window;
  return { value: { bytes: size.value, windowSeconds: window.value } };
}
