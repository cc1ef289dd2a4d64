/**
 * Byte-exact leaf encoding of evidence records (specified in docs/evidence-format.md, "Leaf bytes").
 *
 * The leaf is what the Merkle tree commits to, so it must be a pure function of the record: one record,
 * one byte string, on any machine and in any language. A fixed binary header carries what the log itself
 * assigns (format version, kind, sequence number, time); the body is a deliberately small profile of JSON
 * (integers only, sorted keys, no whitespace) so that an auditor can rebuild it with any JSON library.
 */
import { fail } from './errors';
import { DERIVED_FIELDS, RECORD_FIELDS } from './records';

export const LEAF_FORMAT_VERSION = 1;
export const LEAF_HEADER_SIZE = 18;

/** Kind codes are part of the signed format: never renumber, only append. */
export const KIND_CODES = {
  policy_version: 1,
  push: 2,
  counter_sample: 3,
  quota_window: 4,
  denial: 5,
  device_event: 6,
} as const;

export type RecordKind = keyof typeof KIND_CODES;

const KIND_BY_CODE = new Map<number, RecordKind>(
  (Object.entries(KIND_CODES) as [RecordKind, number][]).map(([k, c]) => [c, k]),
);

export function isRecordKind(value: unknown): value is RecordKind {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(KIND_CODES, value);
}

/** Values the canonical body can hold; undefined object members are treated as absent. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue | undefined };

const MAX_DEPTH = 32;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const SURROGATE_OR_ABOVE = /[\uD800-\uFFFF]/;

function assertWellFormed(s: string, where: string): void {
  // JSON.stringify would escape a lone surrogate, but its UTF-8 form does not exist; refuse it instead of
  // letting two different strings map to the same bytes.
  if (!SURROGATE_OR_ABOVE.test(s)) return;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      fail('BAD_RECORD', `${where}: lone surrogate in string`);
    }
    if (c >= 0xdc00 && c <= 0xdfff) fail('BAD_RECORD', `${where}: lone surrogate in string`);
  }
}

/** Spec "Body": members ordered by the UTF-8 bytes of their names, which is Unicode code point order. */
function sortKeys(keys: string[]): string[] {
  if (!keys.some((k) => SURROGATE_OR_ABOVE.test(k))) return keys.sort();
  // UTF-16 order differs from code point order only around surrogates, so fall back to byte comparison.
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** Spec "Integers": safe integers as JSON numbers, anything wider as a decimal string. */
function encodeInteger(v: number | bigint, where: string): string {
  if (typeof v === 'bigint') {
    if (v <= MAX_SAFE && v >= -MAX_SAFE) return v.toString();
    return `"${v.toString()}"`;
  }
  if (!Number.isInteger(v)) fail('BAD_RECORD', `${where}: only integers are allowed, got ${v}`);
  if (!Number.isSafeInteger(v))
    fail('BAD_RECORD', `${where}: integer beyond 2^53 must be passed as a bigint`);
  return v === 0 ? '0' : String(v);
}

// Nearly every string the log sees needs no escaping and holds no surrogates; one regex test lets those
// skip JSON.stringify and the surrogate scan, and anything else takes the general path below.
// eslint-disable-next-line no-control-regex -- control characters are exactly the ones needing escapes
const PLAIN_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** Spec "Strings": JSON.stringify's escaping, which is exactly the set of escapes the spec allows. */
function encodeString(s: string, where: string): string {
  if (PLAIN_STRING.test(s)) return `"${s}"`;
  assertWellFormed(s, where);
  return JSON.stringify(s);
}

function encode(value: unknown, where: string, depth: number): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value, where);
    case 'number':
    case 'bigint':
      return encodeInteger(value, where);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      fail('BAD_RECORD', `${where}: ${typeof value} cannot be canonicalised`);
  }
  if (value === null) return 'null';
  if (depth >= MAX_DEPTH) fail('BAD_RECORD', `${where}: nested deeper than ${MAX_DEPTH}`);
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) fail('BAD_RECORD', `${where}[${i}]: undefined in array`);
      parts.push(encode(value[i], `${where}[${i}]`, depth + 1));
    }
    return `[${parts.join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null)
    fail('BAD_RECORD', `${where}: only plain objects allowed`);
  return encodeObject(value as Record<string, unknown>, where, depth);
}

function encodeObject(obj: Record<string, unknown>, where: string, depth: number): string {
  const shape = objectShape(Object.keys(obj));
  let out = '{';
  let first = true;
  for (let i = 0; i < shape.keys.length; i++) {
    const v = obj[shape.keys[i] as string];
    if (v === undefined) continue;
    out += (first ? '' : ',') + (shape.quoted[i] as string) + encode(v, where, depth + 1);
    first = false;
  }
  return out + '}';
}

interface Shape {
  keys: string[];
  /** Each key already JSON-quoted and followed by ':'. */
  quoted: string[];
}

// Nested objects (push phases, event details) repeat a handful of key sets; remembering their sorted,
// quoted form saves a sort and a stringify per key. Bounded so arbitrary details cannot grow it without limit.
const shapes = new Map<string, Shape>();
const MAX_SHAPES = 256;

function objectShape(keys: string[]): Shape {
  const id = keys.join('\u0000');
  const hit = shapes.get(id);
  if (hit) return hit;
  for (const k of keys) assertWellFormed(k, 'key');
  const sorted = sortKeys([...keys]);
  const shape = { keys: sorted, quoted: sorted.map((k) => `${JSON.stringify(k)}:`) };
  if (shapes.size < MAX_SHAPES) shapes.set(id, shape);
  return shape;
}

/**
 * The members a leaf body of one kind may hold (spec "Record kinds"), already in canonical order and
 * quoted. Encoding a record then needs no key collection, sort or shape lookup: one pass over a fixed list.
 */
interface BodyPlan {
  keys: readonly string[];
  quoted: readonly string[];
  /** Members the log derives (counter deltas), read from the derived object rather than the record. */
  derived: readonly boolean[];
  members: ReadonlySet<string>;
}

const PLANS = new Map<string, BodyPlan>(
  (Object.keys(KIND_CODES) as RecordKind[]).map((kind) => {
    const derived = DERIVED_FIELDS[kind] ?? [];
    const keys = sortKeys([...RECORD_FIELDS[kind], ...derived]);
    const plan: BodyPlan = {
      keys,
      quoted: keys.map((k) => `${JSON.stringify(k)}:`),
      derived: keys.map((k) => derived.includes(k)),
      members: new Set(keys),
    };
    return [kind, plan];
  }),
);

/** Canonical object text of the plan's members; absent (undefined) members are left out as the spec says. */
function encodeWithPlan(
  plan: BodyPlan,
  obj: Record<string, unknown>,
  derived: Record<string, unknown>,
): string {
  let out = '{';
  const { keys, quoted } = plan;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = plan.derived[i] ? derived[k] : obj[k];
    if (v === undefined) continue;
    const text = typeof v === 'string' ? encodeString(v, 'record') : encode(v, 'record', 1);
    out += out.length === 1 ? (quoted[i] as string) + text : `,${quoted[i] as string}${text}`;
  }
  return `${out}}`;
}

/**
 * Canonical text of a parsed leaf body. Bodies holding only their kind's members take the planned path;
 * anything else (which verification will reject for its stray member anyway) takes the general one. Both
 * produce canonicalJson(body).
 */
function canonicalBodyText(kind: RecordKind, body: Record<string, unknown>): string {
  const plan = PLANS.get(kind) as BodyPlan;
  for (const k in body) {
    if (!plan.members.has(k) || !Object.prototype.hasOwnProperty.call(body, k)) return canonicalJson(body);
  }
  return encodeWithPlan(plan, body, body);
}

/** Spec "Body": the canonical JSON text of a value. Throws BAD_RECORD for anything outside the profile. */
export function canonicalJson(value: unknown): string {
  return encode(value, 'record', 0);
}

function checkHeaderNumber(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) fail('BAD_RECORD', `${name} must be a non-negative safe integer`);
}

/** The 0x00 hash prefix and the spec "Leaf bytes" header, at the start of `buf`. */
function writeHeader(buf: Buffer, kind: RecordKind, seq: number, timeMs: number): void {
  checkHeaderNumber('seq', seq);
  checkHeaderNumber('time', timeMs);
  buf[0] = 0x00;
  buf[1] = LEAF_FORMAT_VERSION;
  buf[2] = KIND_CODES[kind];
  writeU64(buf, 3, seq);
  writeU64(buf, 11, timeMs);
}

/** A safe non-negative integer as 8 big-endian bytes, byte by byte: cheaper than writeUInt32BE's checks. */
function writeU64(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / 2 ** 32);
  const lo = v % 2 ** 32;
  buf[at] = hi >>> 24;
  buf[at + 1] = (hi >>> 16) & 0xff;
  buf[at + 2] = (hi >>> 8) & 0xff;
  buf[at + 3] = hi & 0xff;
  buf[at + 4] = lo >>> 24;
  buf[at + 5] = (lo >>> 16) & 0xff;
  buf[at + 6] = (lo >>> 8) & 0xff;
  buf[at + 7] = lo & 0xff;
}

function writeLeaf(kind: RecordKind, seq: number, timeMs: number, text: string): Buffer {
  checkHeaderNumber('seq', seq);
  checkHeaderNumber('time', timeMs);
  const buf = Buffer.allocUnsafe(1 + LEAF_HEADER_SIZE + Buffer.byteLength(text, 'utf8'));
  writeHeader(buf, kind, seq, timeMs);
  buf.write(text, 1 + LEAF_HEADER_SIZE, 'utf8');
  return buf;
}

/**
 * Spec "Leaf bytes" of a record that passed validateRecord (so it holds no member its kind lacks), with
 * the fields the log derives merged into the body. Written after one spare 0x00 byte, so the RFC 9162 leaf
 * hash input (0x00 || leaf) exists without a second copy; the leaf is everything after byte 0.
 */
export function encodeRecordLeafWithHashPrefix(
  record: { kind: RecordKind; time: number },
  seq: number,
  derived: object,
): Buffer {
  const plan = PLANS.get(record.kind);
  if (plan === undefined) fail('BAD_RECORD', `unknown record kind ${String(record.kind)}`);
  const text = encodeWithPlan(
    plan,
    record as unknown as Record<string, unknown>,
    derived as Record<string, unknown>,
  );
  return writeLeaf(record.kind, seq, record.time, text);
}

/**
 * A record kind's body plan with some members' values fixed in advance, for records that share them (the
 * counter samples of one series share six of their twelve members). The fixed members are encoded once;
 * encoding a record then costs only its own members. Output is the same as the plan's.
 */
export interface FixedBodyPlan {
  kind: RecordKind;
  /** In canonical member order: encoded text of fixed members, each with a leading comma, or the index
   * of a member that each record supplies. */
  parts: readonly (string | number)[];
  /** The same, with the fixed text as UTF-8 bytes. */
  byteParts: readonly (Buffer | number)[];
}

export function fixBodyMembers(kind: RecordKind, fixed: Record<string, unknown>): FixedBodyPlan {
  const plan = PLANS.get(kind);
  if (plan === undefined) fail('BAD_RECORD', `unknown record kind ${String(kind)}`);
  const parts: (string | number)[] = [];
  plan.keys.forEach((k, i) => {
    if (!Object.prototype.hasOwnProperty.call(fixed, k)) {
      parts.push(i);
      return;
    }
    const v = fixed[k];
    if (v === undefined) return;
    const text = `,${plan.quoted[i] as string}${encode(v, 'record', 1)}`;
    if (typeof parts[parts.length - 1] === 'string') parts[parts.length - 1] += text;
    else parts.push(text);
  });
  const byteParts = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  return { kind, parts, byteParts };
}

/** `,"name":` of each member of each kind's plan, as UTF-8 bytes. */
const MEMBER_PREFIXES = new Map<string, readonly Buffer[]>(
  [...PLANS].map(([kind, plan]) => [kind, plan.quoted.map((q) => Buffer.from(`,${q}`, 'utf8'))]),
);
const TRUE_BYTES = Buffer.from('true');
const FALSE_BYTES = Buffer.from('false');
const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const DIGIT_ZERO = 0x30;
/** Room a scalar member value needs at most when written as bytes: a safe integer has 16 digits. */
const SCALAR_ROOM = 16;

/** Decimal digits of a non-negative safe integer at `at`; returns the offset after them. */
function writeDigits(buf: Buffer, at: number, v: number): number {
  let n = 1;
  // Powers of ten up to 10^16 are exact doubles, and a safe integer has at most 16 digits.
  for (let power = 10; power <= v; power *= 10) n++;
  let x = v;
  let p = at + n - 1;
  // Division of doubles only while the value is above 2^31; below, int32 division is exact and cheaper.
  for (; x >= 0x80000000; p--) {
    buf[p] = DIGIT_ZERO + (x % 10);
    x = Math.floor(x / 10);
  }
  for (let i = x | 0; p >= at; p--) {
    const q = (i / 10) | 0;
    buf[p] = DIGIT_ZERO + i - q * 10;
    i = q;
  }
  return at + n;
}

/**
 * The body of encodeRecordLeafWithFixedPlan written straight into `buf` at `at`, without building a
 * string: fixed parts are copied; non-negative safe integers, booleans and strings needing no escapes are
 * written in place. Returns the end offset, or -1 when `buf` runs out of room or a value needs the general
 * encoder (which then also refuses values outside the profile). Every member is written with a leading
 * comma, and the first of those bytes then becomes the opening brace.
 */
function writeFixedBody(
  fixedPlan: FixedBodyPlan,
  values: readonly unknown[],
  buf: Buffer,
  at: number,
): number {
  const prefixes = MEMBER_PREFIXES.get(fixedPlan.kind) as readonly Buffer[];
  const end = buf.length - 2; // room for the braces of an empty body
  let o = at;
  for (const part of fixedPlan.byteParts) {
    if (typeof part !== 'number') {
      if (o + part.length > end) return -1;
      buf.set(part, o);
      o += part.length;
      continue;
    }
    const v = values[part];
    if (v === undefined) continue;
    const prefix = prefixes[part] as Buffer;
    if (o + prefix.length + SCALAR_ROOM > end) return -1;
    buf.set(prefix, o);
    o += prefix.length;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) return -1;
      o = writeDigits(buf, o, v);
    } else if (typeof v === 'boolean') {
      const word = v ? TRUE_BYTES : FALSE_BYTES;
      buf.set(word, o);
      o += word.length;
    } else if (typeof v === 'string' && PLAIN_STRING.test(v)) {
      // A UTF-16 unit never takes more than 3 UTF-8 bytes.
      if (o + 2 + 3 * v.length > end) return -1;
      buf[o++] = QUOTE;
      o += buf.write(v, o, 'utf8');
      buf[o++] = QUOTE;
    } else {
      return -1;
    }
  }
  if (o === at) buf[o++] = OPEN_BRACE;
  else buf[at] = OPEN_BRACE;
  buf[o++] = CLOSE_BRACE;
  return o;
}

/**
 * The first step of encodeRecordLeafWithFixedPlan: writes 0x00 || leaf at the start of `into` and returns
 * where it ends, or returns -1 when `into` is too small or a value needs the general encoder, which
 * encodeRecordLeafWithFixedPlan then uses. A caller that hashes the leaf in place thus needs no view of
 * `into` made per leaf.
 */
export function writeLeafWithFixedPlan(
  fixedPlan: FixedBodyPlan,
  record: { kind: RecordKind; time: number },
  seq: number,
  derived: object,
  into: Buffer,
): number {
  if (record.kind !== fixedPlan.kind)
    fail('BAD_RECORD', `${record.kind} record with a ${fixedPlan.kind} plan`);
  const plan = PLANS.get(fixedPlan.kind) as BodyPlan;
  const obj = record as unknown as Record<string, unknown>;
  const extra = derived as Record<string, unknown>;
  const values = new Array<unknown>(plan.keys.length);
  for (const part of fixedPlan.byteParts) {
    if (typeof part !== 'number') continue;
    const k = plan.keys[part] as string;
    values[part] = plan.derived[part] ? extra[k] : obj[k];
  }
  return writeLeafWithFixedValues(fixedPlan, seq, record.time, values, into);
}

/** The members a body of `kind` may hold, in canonical order: the indices writeLeafWithFixedValues reads. */
export function bodyMembers(kind: RecordKind): readonly string[] {
  const plan = PLANS.get(kind);
  if (plan === undefined) fail('BAD_RECORD', `unknown record kind ${String(kind)}`);
  return plan.keys;
}

/**
 * writeLeafWithFixedPlan with the value of each member the plan leaves open taken from `values` at the
 * member's index in bodyMembers (undefined when absent), for a caller that has the values at hand: looking
 * each up by name on the record was a generic property lookup per member.
 */
export function writeLeafWithFixedValues(
  fixedPlan: FixedBodyPlan,
  seq: number,
  timeMs: number,
  values: readonly unknown[],
  into: Buffer,
): number {
  if (into.length <= 1 + LEAF_HEADER_SIZE) return -1;
  writeHeader(into, fixedPlan.kind, seq, timeMs);
  return writeFixedBody(fixedPlan, values, into, 1 + LEAF_HEADER_SIZE);
}

/**
 * encodeRecordLeafWithHashPrefix for a record whose fixed members equal the plan's (the caller's promise),
 * written into `into` when it is large enough, else into a new Buffer. The result is a view of `into` in
 * the first case, so it is only good until `into` is written again.
 */
export function encodeRecordLeafWithFixedPlan(
  fixedPlan: FixedBodyPlan,
  record: { kind: RecordKind; time: number },
  seq: number,
  derived: object,
  into?: Buffer,
): Buffer {
  const plan = PLANS.get(fixedPlan.kind) as BodyPlan;
  if (record.kind !== fixedPlan.kind)
    fail('BAD_RECORD', `${record.kind} record with a ${fixedPlan.kind} plan`);
  const obj = record as unknown as Record<string, unknown>;
  const extra = derived as Record<string, unknown>;
  if (into !== undefined) {
    const end = writeLeafWithFixedPlan(fixedPlan, record, seq, derived, into);
    if (end >= 0) return into.subarray(0, end);
  }
  let out = '';
  for (const part of fixedPlan.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const k = plan.keys[part] as string;
    const v = plan.derived[part] ? extra[k] : obj[k];
    if (v === undefined) continue;
    const text = typeof v === 'string' ? encodeString(v, 'record') : encode(v, 'record', 1);
    out += `,${plan.quoted[part] as string}${text}`;
  }
  return writeLeaf(record.kind, seq, record.time, `{${out.slice(1)}}`);
}

/** Spec "Leaf bytes": 18-byte header followed by the canonical body. */
export function encodeLeaf(kind: RecordKind, seq: number, timeMs: number, body: object): Buffer {
  return writeLeaf(kind, seq, timeMs, canonicalJson(body)).subarray(1);
}

export interface DecodedLeaf {
  kind: RecordKind;
  seq: number;
  timeMs: number;
  /** The body exactly as parsed; integers wider than 2^53 appear as decimal strings. */
  body: Record<string, unknown>;
}

function readU64(bytes: Uint8Array, at: number, name: string): number {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hi = view.readUInt32BE(at);
  const lo = view.readUInt32BE(at + 4);
  if (hi >= 2 ** 21) fail('BAD_LEAF', `${name} exceeds 2^53`);
  return hi * 2 ** 32 + lo;
}

/**
 * Parses leaf bytes and insists they are canonical: a leaf that decodes but would not re-encode to the
 * same bytes is rejected, because two encodings of one record would let its hash be swapped.
 */
export function decodeLeaf(bytes: Uint8Array): DecodedLeaf {
  if (bytes.length < LEAF_HEADER_SIZE + 2) fail('BAD_LEAF', 'leaf shorter than header and body');
  if (bytes[0] !== LEAF_FORMAT_VERSION) fail('BAD_LEAF', `unknown leaf format version ${bytes[0]}`);
  const kind = KIND_BY_CODE.get(bytes[1] as number);
  if (kind === undefined) fail('BAD_LEAF', `unknown record kind code ${bytes[1]}`);
  const seq = readU64(bytes, 2, 'seq');
  const timeMs = readU64(bytes, 10, 'time');
  const text = Buffer.from(
    bytes.buffer,
    bytes.byteOffset + LEAF_HEADER_SIZE,
    bytes.length - LEAF_HEADER_SIZE,
  );
  let body: unknown;
  try {
    body = JSON.parse(text.toString('utf8'));
  } catch {
    fail('BAD_LEAF', 'body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    fail('BAD_LEAF', 'body is not an object');
  let again: string;
  try {
    again = canonicalBodyText(kind, body as Record<string, unknown>);
  } catch {
    fail('BAD_LEAF', 'body holds values outside the canonical profile');
  }
  if (!Buffer.from(again, 'utf8').equals(text)) fail('BAD_LEAF', 'body is not in canonical form');
  return { kind, seq, timeMs, body: body as Record<string, unknown> };
}
