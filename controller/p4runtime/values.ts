// Value codec for P4Runtime bytestrings (P4Runtime §8.3) and table match fields
// (P4Runtime §9.1.1), for unsigned bit<W> values.
//
// Accepted inputs wherever a value is expected (P4ValueInput):
//
//   input                         example                    notes
//   ----------------------------  -------------------------  ---------------------------------------
//   bigint                        42n                        must be >= 0 and fit in W bits
//   number                        42                         safe integer >= 0 and fit in W bits
//   Uint8Array / Buffer           Buffer.from([0, 42])       a bytestring: leading zero bytes allowed
//   string, decimal               "42"                       digits only, no sign, no separators
//   string, hexadecimal           "0x2a"                     0x or 0X prefix, any number of digits
//   string, IPv4                  "10.0.0.1"                 exactly four decimal octets 0..255;
//                                                            "127.1", "1.2.3" and octets with
//                                                            leading zeros ("010.0.0.1") are
//                                                            rejected, since other parsers read
//                                                            them as shorthand or octal
//   string, IPv6                  "2001:db8::1", "::",       eight 1-4 digit hex groups, or fewer
//                                 "::ffff:10.0.0.1"          with one "::"; an IPv4 tail may
//                                                            supply the last 32 bits; no zone ids
//   string, MAC                   "aa:bb:cc:dd:ee:ff"        six two-digit hex groups with ":"
//
// The string form is recognised by shape, never by the field's width: an IPv4
// address is accepted in any field of at least 32 bits. Every parsed value is
// then checked against the field's bitwidth.
//
// Encoded output is always canonical (shortest big-endian string, zero as a
// single 0x00 byte), which is what read-write symmetry needs (P4Runtime §8.2).
// On input, padded strings are accepted as P4Runtime §8.3 requires: any number
// of leading zero bytes, as long as the value itself fits in W bits.

import type { FieldMatch } from './proto';

/** Anything the codec turns into an unsigned integer; see the table above. */
export type P4ValueInput = bigint | number | string | Uint8Array;

export type P4ValueErrorCode =
  | 'BAD_BITWIDTH'
  | 'BAD_FORMAT'
  | 'OUT_OF_RANGE'
  | 'EMPTY_BYTESTRING'
  | 'BAD_PREFIX'
  | 'NONZERO_BEYOND_PREFIX'
  | 'NONZERO_OUTSIDE_MASK'
  | 'BAD_RANGE'
  | 'DONT_CARE_NOT_OMITTED'
  | 'MISSING_MATCH'
  | 'MATCH_KIND_MISMATCH'
  | 'UNSUPPORTED_MATCH_KIND'
  | 'FIELD_ID_MISMATCH';

/** gRPC status a server should answer with when it rejects the value. */
export type P4ValueStatus = 'INVALID_ARGUMENT' | 'OUT_OF_RANGE';

export class P4ValueError extends Error {
  override readonly name = 'P4ValueError';
  constructor(
    readonly code: P4ValueErrorCode,
    message: string,
    // Bare bytestrings are rejected with OUT_OF_RANGE (P4Runtime §8.3); inside a
    // table match any violation is INVALID_ARGUMENT (P4Runtime §9.1.1).
    readonly status: P4ValueStatus = 'INVALID_ARGUMENT',
  ) {
    super(message);
  }
}

/** What the codec needs to know about an action parameter, packet metadata field, etc. */
export interface ValueSpec {
  name: string;
  bitwidth: number;
}

export type MatchKind = 'EXACT' | 'LPM' | 'TERNARY' | 'RANGE' | 'OPTIONAL';

/** A table key field as described by P4Info (p4info.ts MatchFieldInfo satisfies this). */
export interface MatchFieldSpec extends ValueSpec {
  id: number;
  matchType: MatchKind | (string & {});
}

/**
 * A match in numeric form. For RANGE, `value` is the low bound. Don't-care matches
 * have no normalized form: they are absent from the entry (P4Runtime §9.1.1).
 */
export type NormalizedFieldMatch =
  | { kind: 'EXACT'; fieldId: number; value: bigint }
  | { kind: 'LPM'; fieldId: number; value: bigint; prefixLen: number }
  | { kind: 'TERNARY'; fieldId: number; value: bigint; mask: bigint }
  | { kind: 'RANGE'; fieldId: number; value: bigint; high: bigint }
  | { kind: 'OPTIONAL'; fieldId: number; value: bigint };

// ---------------------------------------------------------------- helpers

const maxCache: bigint[] = [];

/** 2^bitwidth - 1, memoised because every width check needs it. */
export function maxValue(bitwidth: number): bigint {
  let max = maxCache[bitwidth];
  if (max === undefined) {
    max = (1n << BigInt(bitwidth)) - 1n;
    maxCache[bitwidth] = max;
  }
  return max;
}

function checkBitwidth(bitwidth: number, label: string): void {
  if (!Number.isInteger(bitwidth) || bitwidth < 1 || bitwidth > 65536) {
    throw new P4ValueError('BAD_BITWIDTH', `${label}: bitwidth ${bitwidth} is not a positive integer`);
  }
}

function describe(spec: ValueSpec): string {
  return `'${spec.name}' (bit<${spec.bitwidth}>)`;
}

/** Hex rendering used in error messages. */
export function formatHex(value: bigint): string {
  return '0x' + value.toString(16);
}

function bytesHex(bytes: Uint8Array): string {
  return '0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const TWO_POW_32 = 0x100000000;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

// ---------------------------------------------------------------- bytestrings

/**
 * Canonical bytestring for `value` in a bit<bitwidth> field (P4Runtime §8.3).
 * Throws OUT_OF_RANGE when the value needs more than `bitwidth` bits.
 */
export function encodeUnsigned(value: P4ValueInput, bitwidth: number, label = 'value'): Buffer {
  checkBitwidth(bitwidth, label);
  if (typeof value === 'number') return encodeNumber(value, bitwidth, label);
  if (typeof value === 'bigint') {
    if (value >= 0n && value <= MAX_SAFE_BIG) return encodeNumber(Number(value), bitwidth, label);
    return encodeBig(value, bitwidth, label);
  }
  if (typeof value === 'string') return encodeBig(parseValue(value, bitwidth, label), bitwidth, label);
  return canonicalBytes(value, bitwidth, label);
}

function encodeNumber(value: number, bitwidth: number, label: string): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new P4ValueError(
      'BAD_FORMAT',
      `${label}: ${value} is not a non-negative safe integer; use a bigint`,
    );
  }
  if (bitwidth < 53 && value >= 2 ** bitwidth) {
    throw new P4ValueError(
      'OUT_OF_RANGE',
      `${label}: ${value} does not fit in ${bitwidth} bits (max ${2 ** bitwidth - 1})`,
      'OUT_OF_RANGE',
    );
  }
  let len = 1;
  for (let rest = value; rest > 0xff; rest = Math.floor(rest / 256)) len++;
  const out = Buffer.allocUnsafe(len);
  let rest = value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return out;
}

function encodeBig(value: bigint, bitwidth: number, label: string): Buffer {
  if (value < 0n) {
    throw new P4ValueError(
      'OUT_OF_RANGE',
      `${label}: ${value} is negative; bit<${bitwidth}> is unsigned`,
      'OUT_OF_RANGE',
    );
  }
  if (value > maxValue(bitwidth)) {
    throw new P4ValueError(
      'OUT_OF_RANGE',
      `${label}: ${formatHex(value)} does not fit in ${bitwidth} bits (max ${formatHex(maxValue(bitwidth))})`,
      'OUT_OF_RANGE',
    );
  }
  if (value <= MAX_SAFE_BIG) return encodeNumber(Number(value), bitwidth, label);
  // Whole 32-bit words from the low end, then the 1..4 bytes of the top word.
  let words = 0;
  let top = value;
  while (top >= 0x100000000n) {
    top >>= 32n;
    words++;
  }
  let topNum = Number(top);
  const topLen = topNum > 0xffffff ? 4 : topNum > 0xffff ? 3 : topNum > 0xff ? 2 : 1;
  const out = Buffer.allocUnsafe(topLen + 4 * words);
  let rest = value;
  for (let pos = out.length - 4; pos >= topLen; pos -= 4) {
    out.writeUInt32BE(Number(BigInt.asUintN(32, rest)), pos);
    rest >>= 32n;
  }
  for (let i = topLen - 1; i >= 0; i--) {
    out[i] = topNum & 0xff;
    topNum >>>= 8;
  }
  return out;
}

/**
 * Validates a received bytestring for a bit<bitwidth> field and returns it without
 * its leading zero bytes (a view, not a copy). Rejections follow P4Runtime §8.3:
 * empty strings and values wider than `bitwidth` bits.
 */
export function canonicalBytes(
  bytes: Uint8Array,
  bitwidth: number,
  label = 'value',
  status: P4ValueStatus = 'OUT_OF_RANGE',
): Buffer {
  checkBitwidth(bitwidth, label);
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = significantStart(buf, bitwidth, label, status);
  return start === 0 ? buf : buf.subarray(start);
}

// Index of the first byte of the canonical form, after the width checks.
function significantStart(buf: Uint8Array, bitwidth: number, label: string, status: P4ValueStatus): number {
  const len = buf.length;
  if (len === 0) {
    throw new P4ValueError('EMPTY_BYTESTRING', `${label}: empty bytestring; zero is encoded as 0x00`, status);
  }
  let i = 0;
  while (i < len - 1 && buf[i] === 0) i++;
  const bits = (len - i - 1) * 8 + (32 - Math.clz32(buf[i]));
  if (bits > bitwidth) {
    throw new P4ValueError(
      'OUT_OF_RANGE',
      `${label}: bytestring ${bytesHex(buf)} holds a ${bits}-bit value; at most ${bitwidth} bits expected`,
      status,
    );
  }
  return i;
}

/** Integer value of a received bytestring, canonical or zero-padded (P4Runtime §8.3). */
export function decodeUnsigned(
  bytes: Uint8Array,
  bitwidth: number,
  label = 'value',
  status: P4ValueStatus = 'OUT_OF_RANGE',
): bigint {
  checkBitwidth(bitwidth, label);
  const start = significantStart(bytes, bitwidth, label, status);
  const len = bytes.length;
  if (len - start <= 6) {
    let n = 0;
    for (let i = start; i < len; i++) n = n * 256 + bytes[i];
    return BigInt(n);
  }
  // Leading partial word first, so the loop below consumes whole 32-bit words.
  let i = start;
  let head = 0;
  for (const headEnd = start + ((len - start) % 4); i < headEnd; i++) head = head * 256 + bytes[i];
  let value = BigInt(head);
  for (; i < len; i += 4) {
    const word = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
    value = (value << 32n) | BigInt(word);
  }
  return value;
}

// ---------------------------------------------------------------- text forms

function badFormat(label: string, text: string, expected: string): P4ValueError {
  return new P4ValueError('BAD_FORMAT', `${label}: cannot read ${JSON.stringify(text)} as ${expected}`);
}

const DECIMAL = /^[0-9]+$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const MAC = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Decimal ("42") or 0x-prefixed hexadecimal ("0x2a") unsigned integer. */
export function parseInteger(text: string, label = 'value'): bigint {
  // BigInt() alone is too lenient: it accepts "", whitespace, 0o and 0b forms.
  if (!DECIMAL.test(text) && !HEX.test(text)) throw badFormat(label, text, 'a decimal or 0x-hex integer');
  return BigInt(text);
}

/** Strict dotted-quad IPv4 address as a 32-bit integer; see the table at the top. */
export function parseIPv4(text: string, label = 'value'): bigint {
  return BigInt(parseIPv4Number(text, label));
}

function parseIPv4Number(text: string, label: string): number {
  let value = 0;
  let octets = 0;
  let i = 0;
  const len = text.length;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    while (i < len) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && text.charCodeAt(start) === 48)) break;
    value = value * 256 + octet;
    octets++;
    if (octets === 4) {
      if (i === len) return value;
      break;
    }
    if (text.charCodeAt(i) !== 46) break;
    i++;
  }
  throw badFormat(
    label,
    text,
    'an IPv4 address (four dot-separated decimal octets 0-255, no leading zeros, no shorthand)',
  );
}

/** IPv4 address text for a 32-bit value. */
export function formatIPv4(value: bigint | number): string {
  const n = Number(value);
  if (!(n >= 0 && n < TWO_POW_32) || !Number.isInteger(n)) {
    throw new P4ValueError('OUT_OF_RANGE', `${value} is not a 32-bit value`, 'OUT_OF_RANGE');
  }
  return `${Math.floor(n / 0x1000000)}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** IPv6 address as a 128-bit integer: full form, "::" compression, optional IPv4 tail. */
export function parseIPv6(text: string, label = 'value'): bigint {
  const fail = () => badFormat(label, text, 'an IPv6 address');
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) throw fail();
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  // Only the final group of the whole address may be an embedded IPv4 address.
  const read = (groups: string[], endsAddress: boolean): number[] => {
    const out: number[] = [];
    groups.forEach((g, idx) => {
      if (endsAddress && idx === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4Number(g, label);
        out.push(Math.floor(v4 / 0x10000), v4 & 0xffff);
      } else if (HEX_GROUP.test(g)) {
        out.push(parseInt(g, 16));
      } else {
        throw fail();
      }
    });
    return out;
  };
  const head = read(split(gap < 0 ? text : text.slice(0, gap)), gap < 0);
  const tail = gap < 0 ? [] : read(split(text.slice(gap + 2)), true);
  const present = head.length + tail.length;
  // "::" stands for at least one zero group.
  if (gap < 0 ? present !== 8 : present > 7) throw fail();
  let value = 0n;
  for (const g of head) value = (value << 16n) | BigInt(g);
  value <<= BigInt(16 * (8 - present));
  for (const g of tail) value = (value << 16n) | BigInt(g);
  return value;
}

/** IPv6 text per RFC 5952: lowercase, no leading zeros, longest zero run (2+ groups) as "::". */
export function formatIPv6(value: bigint): string {
  if (value < 0n || value > maxValue(128)) {
    throw new P4ValueError('OUT_OF_RANGE', `${formatHex(value)} is not a 128-bit value`, 'OUT_OF_RANGE');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** MAC address "aa:bb:cc:dd:ee:ff" (either case) as a 48-bit integer. */
export function parseMac(text: string, label = 'value'): bigint {
  if (!MAC.test(text)) throw badFormat(label, text, 'a MAC address (aa:bb:cc:dd:ee:ff)');
  return BigInt('0x' + text.replace(/:/g, ''));
}

/** Lowercase colon-separated MAC text for a 48-bit value. */
export function formatMac(value: bigint | number): string {
  const v = BigInt(value);
  if (v < 0n || v > maxValue(48)) {
    throw new P4ValueError('OUT_OF_RANGE', `${value} is not a 48-bit value`, 'OUT_OF_RANGE');
  }
  return v
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');
}

/** Parses any text form in the table at the top, then checks it fits in `bitwidth` bits. */
export function parseValue(text: string, bitwidth: number, label = 'value'): bigint {
  let value: bigint;
  if (DECIMAL.test(text) || HEX.test(text)) value = BigInt(text);
  else if (MAC.test(text)) value = parseMac(text, label);
  else if (text.includes(':')) value = parseIPv6(text, label);
  else if (text.includes('.')) value = parseIPv4(text, label);
  else throw badFormat(label, text, 'a decimal or 0x-hex integer, IPv4, IPv6 or MAC address');
  checkFits(value, bitwidth, label, text);
  return value;
}

function checkFits(value: bigint, bitwidth: number, label: string, shown?: string): void {
  if (value > maxValue(bitwidth)) {
    throw new P4ValueError(
      'OUT_OF_RANGE',
      `${label}: ${shown ?? formatHex(value)} does not fit in ${bitwidth} bits`,
      'OUT_OF_RANGE',
    );
  }
}

/** Any P4ValueInput as a bigint, checked against `bitwidth`. */
export function toBigInt(input: P4ValueInput, bitwidth: number, label = 'value'): bigint {
  checkBitwidth(bitwidth, label);
  if (typeof input === 'bigint') {
    if (input < 0n) throw new P4ValueError('OUT_OF_RANGE', `${label}: ${input} is negative`, 'OUT_OF_RANGE');
    checkFits(input, bitwidth, label);
    return input;
  }
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw new P4ValueError(
        'BAD_FORMAT',
        `${label}: ${input} is not a non-negative safe integer; use a bigint`,
      );
    }
    const value = BigInt(input);
    checkFits(value, bitwidth, label, String(input));
    return value;
  }
  if (typeof input === 'string') return parseValue(input, bitwidth, label);
  return decodeUnsigned(input, bitwidth, label);
}

// ---------------------------------------------------------------- field-match builders

// Labels are memoised per field so the success path of a 100k-entry write does not
// build a message string per call.
const labels = new WeakMap<MatchFieldSpec, string>();

function fieldLabel(field: MatchFieldSpec): string {
  let label = labels.get(field);
  if (label === undefined) {
    label = `match field ${describe(field)}`;
    labels.set(field, label);
  }
  return label;
}

/** EXACT match; never omitted, as exact fields have no don't-care (P4Runtime §9.1.1). */
export function exactMatch(field: MatchFieldSpec, value: P4ValueInput): FieldMatch {
  return { field_id: field.id, exact: { value: encodeUnsigned(value, field.bitwidth, fieldLabel(field)) } };
}

/** OPTIONAL match; `null` means wildcard, which is expressed by omitting the field (P4Runtime §9.1.1). */
export function optionalMatch(field: MatchFieldSpec, value: P4ValueInput | null): FieldMatch | null {
  if (value === null) return null;
  return {
    field_id: field.id,
    optional: { value: encodeUnsigned(value, field.bitwidth, fieldLabel(field)) },
  };
}

/**
 * LPM match. Prefix 0 is the don't-care match and yields null: the field must be
 * omitted (P4Runtime §9.1.1). Bits past the prefix must be zero in the value.
 */
export function lpmMatch(field: MatchFieldSpec, value: P4ValueInput, prefixLen: number): FieldMatch | null {
  const label = fieldLabel(field);
  const v = toBigInt(value, field.bitwidth, label);
  checkPrefix(v, prefixLen, field.bitwidth, label, 'INVALID_ARGUMENT');
  if (prefixLen === 0) return null;
  return { field_id: field.id, lpm: { value: encodeBig(v, field.bitwidth, label), prefix_len: prefixLen } };
}

/** TERNARY match. A zero mask is the don't-care match and yields null (P4Runtime §9.1.1). */
export function ternaryMatch(
  field: MatchFieldSpec,
  value: P4ValueInput,
  mask: P4ValueInput,
): FieldMatch | null {
  const label = fieldLabel(field);
  const v = toBigInt(value, field.bitwidth, label);
  const m = toBigInt(mask, field.bitwidth, `${label} mask`);
  checkMasked(v, m, label, 'INVALID_ARGUMENT');
  if (m === 0n) return null;
  return {
    field_id: field.id,
    ternary: { value: encodeBig(v, field.bitwidth, label), mask: encodeBig(m, field.bitwidth, label) },
  };
}

/** RANGE match, bounds inclusive. The full range is the don't-care match and yields null (P4Runtime §9.1.1). */
export function rangeMatch(field: MatchFieldSpec, low: P4ValueInput, high: P4ValueInput): FieldMatch | null {
  const label = fieldLabel(field);
  const lo = toBigInt(low, field.bitwidth, `${label} low`);
  const hi = toBigInt(high, field.bitwidth, `${label} high`);
  checkRange(lo, hi, label, 'INVALID_ARGUMENT');
  if (lo === 0n && hi === maxValue(field.bitwidth)) return null;
  return {
    field_id: field.id,
    range: { low: encodeBig(lo, field.bitwidth, label), high: encodeBig(hi, field.bitwidth, label) },
  };
}

/** Inverse of decodeFieldMatch: wire form of a normalized match (null when it is a don't-care). */
export function encodeFieldMatch(field: MatchFieldSpec, match: NormalizedFieldMatch): FieldMatch | null {
  switch (match.kind) {
    case 'EXACT':
      return exactMatch(field, match.value);
    case 'LPM':
      return lpmMatch(field, match.value, match.prefixLen);
    case 'TERNARY':
      return ternaryMatch(field, match.value, match.mask);
    case 'RANGE':
      return rangeMatch(field, match.value, match.high);
    case 'OPTIONAL':
      return optionalMatch(field, match.value);
  }
}

function checkPrefix(
  value: bigint,
  prefixLen: number,
  bitwidth: number,
  label: string,
  status: P4ValueStatus,
) {
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > bitwidth) {
    throw new P4ValueError(
      'BAD_PREFIX',
      `${label}: prefix length ${prefixLen} is outside 0..${bitwidth}`,
      status,
    );
  }
  const hostBits = bitwidth - prefixLen;
  if ((value & maxValue(hostBits)) !== 0n) {
    const expected = value & ~maxValue(hostBits);
    throw new P4ValueError(
      'NONZERO_BEYOND_PREFIX',
      `${label}: value ${formatHex(value)} has bits set beyond the /${prefixLen} prefix; expected ${formatHex(expected)}`,
      status,
    );
  }
}

function checkMasked(value: bigint, mask: bigint, label: string, status: P4ValueStatus) {
  if ((value & ~mask) !== 0n) {
    throw new P4ValueError(
      'NONZERO_OUTSIDE_MASK',
      `${label}: value ${formatHex(value)} has bits set outside mask ${formatHex(mask)}; expected ${formatHex(value & mask)}`,
      status,
    );
  }
}

function checkRange(low: bigint, high: bigint, label: string, status: P4ValueStatus) {
  if (low > high) {
    throw new P4ValueError(
      'BAD_RANGE',
      `${label}: range low ${formatHex(low)} is greater than high ${formatHex(high)}`,
      status,
    );
  }
}

// ---------------------------------------------------------------- field-match decoding

const WIRE_KIND: Record<string, MatchKind | 'OTHER'> = {
  exact: 'EXACT',
  lpm: 'LPM',
  ternary: 'TERNARY',
  range: 'RANGE',
  optional: 'OPTIONAL',
  other: 'OTHER',
};

function wireKind(fm: FieldMatch): MatchKind | 'OTHER' | undefined {
  // Decoded objects carry the oneof marker; hand-built ones may only set the member.
  if (fm.field_match_type !== undefined) return WIRE_KIND[fm.field_match_type];
  if (fm.exact) return 'EXACT';
  if (fm.lpm) return 'LPM';
  if (fm.ternary) return 'TERNARY';
  if (fm.range) return 'RANGE';
  if (fm.optional) return 'OPTIONAL';
  if (fm.other) return 'OTHER';
  return undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * Validates a received FieldMatch against its P4Info field and returns it in numeric
 * form. Implements the per-kind constraints of P4Runtime §9.1.1 (bytestrings per §8.3,
 * don't-care matches must be omitted, LPM trailing bits and ternary masked-out bits
 * must be zero, range low <= high). Every rejection carries status INVALID_ARGUMENT.
 *
 * Padded value/mask strings of different lengths are accepted: the spec's check that
 * the value string is no longer than the mask string only holds for canonical input.
 */
export function decodeFieldMatch(fm: FieldMatch, field: MatchFieldSpec): NormalizedFieldMatch {
  const label = fieldLabel(field);
  const status: P4ValueStatus = 'INVALID_ARGUMENT';
  if ((fm.field_id ?? 0) !== field.id) {
    throw new P4ValueError(
      'FIELD_ID_MISMATCH',
      `${label}: FieldMatch has field_id ${fm.field_id ?? 0}, expected ${field.id}`,
    );
  }
  const kind = wireKind(fm);
  if (kind === undefined) {
    throw new P4ValueError(
      'MISSING_MATCH',
      `${label}: FieldMatch sets none of exact/lpm/ternary/range/optional`,
    );
  }
  if (kind !== field.matchType) {
    const code = kind === 'OTHER' ? 'UNSUPPORTED_MATCH_KIND' : 'MATCH_KIND_MISMATCH';
    throw new P4ValueError(code, `${label}: got a ${kind} match but P4Info declares ${field.matchType}`);
  }
  const w = field.bitwidth;
  const read = (bytes: Buffer | undefined, what: string) =>
    decodeUnsigned(bytes ?? EMPTY, w, `${label} ${what}`, status);
  const fieldId = field.id;
  switch (kind) {
    case 'EXACT':
      return { kind, fieldId, value: read(fm.exact?.value, 'value') };
    case 'OPTIONAL':
      return { kind, fieldId, value: read(fm.optional?.value, 'value') };
    case 'LPM': {
      const value = read(fm.lpm?.value, 'value');
      const prefixLen = fm.lpm?.prefix_len ?? 0;
      if (prefixLen === 0) {
        throw new P4ValueError(
          'DONT_CARE_NOT_OMITTED',
          `${label}: LPM prefix length 0 is a don't-care match; omit the field instead`,
        );
      }
      checkPrefix(value, prefixLen, w, label, status);
      return { kind, fieldId, value, prefixLen };
    }
    case 'TERNARY': {
      const value = read(fm.ternary?.value, 'value');
      const mask = read(fm.ternary?.mask, 'mask');
      if (mask === 0n) {
        throw new P4ValueError(
          'DONT_CARE_NOT_OMITTED',
          `${label}: ternary mask 0 is a don't-care match; omit the field instead`,
        );
      }
      checkMasked(value, mask, label, status);
      return { kind, fieldId, value, mask };
    }
    case 'RANGE': {
      const value = read(fm.range?.low, 'low');
      const high = read(fm.range?.high, 'high');
      checkRange(value, high, label, status);
      if (value === 0n && high === maxValue(w)) {
        throw new P4ValueError(
          'DONT_CARE_NOT_OMITTED',
          `${label}: range ${formatHex(value)}..${formatHex(high)} covers every value; omit the field instead`,
        );
      }
      return { kind, fieldId, value, high };
    }
  }
  // Reached only for 'OTHER' declared as the field's own kind.
  throw new P4ValueError(
    'UNSUPPORTED_MATCH_KIND',
    `${label}: match kind ${field.matchType} is not supported`,
  );
}
