/**
 * Byte-exact leaf encoding of evidence records (specified in docs/evidence-format.md, "Leaf bytes").
 *
 * The leaf is what the Merkle tree commits to, so it must be a pure function of the record: one record,
 * one byte string, on any machine and in any language. A fixed binary header carries what the log itself
 * assigns (format version, kind, sequence number, time); the body is a deliberately small profile of JSON
 * (integers only, sorted keys, no whitespace) so that an auditor can rebuild it with any JSON library.
 */
import { fail } from './errors';

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

function encode(value: unknown, where: string, depth: number): string {
  switch (typeof value) {
    case 'string':
      assertWellFormed(value, where);
      return JSON.stringify(value);
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
  return encodeObject(value as Record<string, unknown>, undefined, where, depth);
}

/**
 * Members of `obj` (minus header fields when `extra` is given) merged with the members of `extra`, as one
 * canonical object. Doing the merge here spares building a throwaway body object for every record.
 */
function encodeObject(
  obj: Record<string, unknown>,
  extra: Record<string, unknown> | undefined,
  where: string,
  depth: number,
): string {
  const own = Object.keys(obj);
  const shape = objectShape(extra === undefined ? own : [...own, ...Object.keys(extra)], extra !== undefined);
  let out = '{';
  let first = true;
  for (let i = 0; i < shape.keys.length; i++) {
    const k = shape.keys[i] as string;
    const v = extra !== undefined && k in extra ? extra[k] : obj[k];
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

// Records of one kind share a handful of key sets; remembering their sorted, quoted form saves a sort and
// a stringify per key on every append. Bounded so arbitrary detail objects cannot grow it without limit.
const shapes = new Map<string, Shape>();
const MAX_SHAPES = 256;

function objectShape(keys: string[], dropHeader: boolean): Shape {
  const id = (dropHeader ? 'H\u0000' : 'B\u0000') + keys.join('\u0000');
  const hit = shapes.get(id);
  if (hit) return hit;
  for (const k of keys) assertWellFormed(k, 'key');
  const kept = dropHeader ? keys.filter((k) => k !== 'kind' && k !== 'time') : keys;
  const sorted = sortKeys([...new Set(kept)]);
  const shape = { keys: sorted, quoted: sorted.map((k) => `${JSON.stringify(k)}:`) };
  if (shapes.size < MAX_SHAPES) shapes.set(id, shape);
  return shape;
}

/** Spec "Body": the canonical JSON text of a value. Throws BAD_RECORD for anything outside the profile. */
export function canonicalJson(value: unknown): string {
  return encode(value, 'record', 0);
}

function checkHeaderNumber(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) fail('BAD_RECORD', `${name} must be a non-negative safe integer`);
}

/**
 * Spec "Leaf bytes" written after one spare byte, so the RFC 9162 leaf hash input (0x00 || leaf) exists
 * without a second copy. Returns the whole buffer; the leaf is everything after byte 0.
 */
export function encodeLeafWithHashPrefix(
  kind: RecordKind,
  seq: number,
  timeMs: number,
  body: object,
  extra?: object,
): Buffer {
  checkHeaderNumber('seq', seq);
  checkHeaderNumber('time', timeMs);
  const text =
    extra === undefined
      ? canonicalJson(body)
      : encodeObject(body as Record<string, unknown>, extra as Record<string, unknown>, 'record', 0);
  const bodyLength = Buffer.byteLength(text, 'utf8');
  const buf = Buffer.allocUnsafe(1 + LEAF_HEADER_SIZE + bodyLength);
  buf[0] = 0x00;
  buf[1] = LEAF_FORMAT_VERSION;
  buf[2] = KIND_CODES[kind];
  buf.writeUIntBE(Math.floor(seq / 2 ** 32), 3, 4);
  buf.writeUIntBE(seq % 2 ** 32, 7, 4);
  buf.writeUIntBE(Math.floor(timeMs / 2 ** 32), 11, 4);
  buf.writeUIntBE(timeMs % 2 ** 32, 15, 4);
  buf.write(text, 1 + LEAF_HEADER_SIZE, 'utf8');
  return buf;
}

/** Spec "Leaf bytes": 18-byte header followed by the canonical body. */
export function encodeLeaf(kind: RecordKind, seq: number, timeMs: number, body: object): Buffer {
  return encodeLeafWithHashPrefix(kind, seq, timeMs, body).subarray(1);
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
    again = canonicalJson(body);
  } catch {
    fail('BAD_LEAF', 'body holds values outside the canonical profile');
  }
  if (!Buffer.from(again, 'utf8').equals(text)) fail('BAD_LEAF', 'body is not in canonical form');
  return { kind, seq, timeMs, body: body as Record<string, unknown> };
}
