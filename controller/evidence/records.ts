/**
 * The plain, typed records the evidence log accepts. The log knows nothing about where they come from;
 * callers translate their own events into these shapes. Field names are part of the signed leaf format
 * (docs/evidence-format.md, "Record kinds"), so renaming one is a format change.
 */
import { CanonicalValue } from './canonical';
import { fail } from './errors';

/** A non-negative counter; pass a bigint when it may exceed 2^53 - 1. Stored values must fit in int64. */
export type Counter = number | bigint;

/** Milliseconds since the Unix epoch (UTC), an integer. */
export type TimeMs = number;

/** A policy version as authorised: `policyHash` must be the lowercase hex SHA-256 of the UTF-8 `text`. */
export interface PolicyVersionRecord {
  kind: 'policy_version';
  time: TimeMs;
  policyHash: string;
  text: string;
  author: string;
  signature?: string;
  comment?: string;
}

export type PushOutcome = 'ok' | 'partial' | 'failed';

/** One attempt to program a device with a policy version. */
export interface PushRecord {
  kind: 'push';
  time: TimeMs;
  device: string;
  /** P4Runtime pipeline cookie, a full uint64 (stored as decimal text in the projection). */
  pipelineCookie: Counter;
  policyVersion: string;
  entriesWritten: number;
  outcome: PushOutcome;
  error?: string;
  durationUs: number;
  /** Optional breakdown of durationUs by phase name, in microseconds. */
  phasesUs?: Record<string, number>;
}

/**
 * An absolute counter reading for one rule. The log adds deltaPackets/deltaBytes/reset itself (see
 * CounterDelta). `epoch` identifies the counter's lifetime (e.g. device boot id or pipeline cookie): when
 * it changes, the reading starts a new lifetime even if it did not go down.
 */
export interface CounterSampleRecord {
  kind: 'counter_sample';
  time: TimeMs;
  device: string;
  table: string;
  ruleId: string;
  ruleName?: string;
  agent?: string;
  policyVersion: string;
  packets: Counter;
  bytes: Counter;
  epoch?: string;
}

/** Accounting for one quota window of one rule/slot. */
export interface QuotaWindowRecord {
  kind: 'quota_window';
  time: TimeMs;
  device: string;
  slot: number;
  ruleId: string;
  agent?: string;
  policyVersion: string;
  windowStart: TimeMs;
  windowEnd: TimeMs;
  bytesUsed: Counter;
  quotaBytes?: Counter;
  drops: Counter;
  exhausted: boolean;
}

/**
 * A blocked attempt reported by a device digest. Digests may be dropped under load, so denials are
 * best-effort evidence: present ones are proven, absent ones prove nothing.
 */
export interface DenialRecord {
  kind: 'denial';
  time: TimeMs;
  device: string;
  agent: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  ruleId?: string;
  reason: string;
  audit: boolean;
  policyVersion?: string;
}

export const DEVICE_EVENTS = [
  'connected',
  'lost',
  'pipeline_pushed',
  'drift_found',
  'quota_enforcement_on',
  'quota_enforcement_off',
  'note',
] as const;
export type DeviceEventType = (typeof DEVICE_EVENTS)[number];

export interface DeviceEventRecord {
  kind: 'device_event';
  time: TimeMs;
  device: string;
  event: DeviceEventType;
  detail?: CanonicalValue;
}

export type EvidenceRecord =
  | PolicyVersionRecord
  | PushRecord
  | CounterSampleRecord
  | QuotaWindowRecord
  | DenialRecord
  | DeviceEventRecord;

/** What the log adds to a counter sample before it is hashed. */
export interface CounterDelta {
  deltaPackets: Counter;
  deltaBytes: Counter;
  /** True when the reading went down or its epoch changed, so the delta is the reading itself. */
  reset: boolean;
}

const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

type Fields = Record<string, unknown>;

function need(r: Fields, key: string, ok: boolean, what: string): void {
  if (!ok) fail('BAD_RECORD', `${String(r['kind'])}.${key} must be ${what}`);
}

function str(r: Fields, key: string): void {
  need(r, key, typeof r[key] === 'string', 'a string');
}

function optStr(r: Fields, key: string): void {
  need(r, key, r[key] === undefined || typeof r[key] === 'string', 'a string or absent');
}

function int(r: Fields, key: string, max = Number.MAX_SAFE_INTEGER): void {
  const v = r[key];
  need(
    r,
    key,
    typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max,
    `an integer 0..${max}`,
  );
}

function isCounter(v: unknown): boolean {
  if (typeof v === 'bigint') return v >= 0n && v <= INT64_MAX;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function counter(r: Fields, key: string): void {
  need(r, key, isCounter(r[key]), 'a non-negative integer below 2^63');
}

function u64(r: Fields, key: string): void {
  const v = r[key];
  const ok =
    (typeof v === 'bigint' && v >= 0n && v <= UINT64_MAX) ||
    (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  need(r, key, ok, 'an unsigned 64-bit integer');
}

function bool(r: Fields, key: string): void {
  need(r, key, typeof r[key] === 'boolean', 'a boolean');
}

function oneOf(r: Fields, key: string, values: readonly string[]): void {
  need(r, key, values.includes(r[key] as string), `one of ${values.join(', ')}`);
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Every field a record of each kind may carry. Unknown fields are refused at append, and a leaf holding
 * one fails verification: a field no projection shows would be signed evidence nobody reviews.
 */
export const RECORD_FIELDS: Record<EvidenceRecord['kind'], readonly string[]> = {
  policy_version: ['policyHash', 'text', 'author', 'signature', 'comment'],
  push: [
    'device',
    'pipelineCookie',
    'policyVersion',
    'entriesWritten',
    'outcome',
    'error',
    'durationUs',
    'phasesUs',
  ],
  counter_sample: [
    'device',
    'table',
    'ruleId',
    'ruleName',
    'agent',
    'policyVersion',
    'packets',
    'bytes',
    'epoch',
  ],
  quota_window: [
    'device',
    'slot',
    'ruleId',
    'agent',
    'policyVersion',
    'windowStart',
    'windowEnd',
    'bytesUsed',
    'quotaBytes',
    'drops',
    'exhausted',
  ],
  denial: [
    'device',
    'agent',
    'srcIp',
    'dstIp',
    'srcPort',
    'dstPort',
    'protocol',
    'ruleId',
    'reason',
    'audit',
    'policyVersion',
  ],
  device_event: ['device', 'event', 'detail'],
};

/** Fields the log itself adds to the body of a kind (counter deltas). */
export const DERIVED_FIELDS: Partial<Record<EvidenceRecord['kind'], readonly string[]>> = {
  counter_sample: ['deltaPackets', 'deltaBytes', 'reset'],
};

const FIELD_SETS = new Map(
  Object.entries(RECORD_FIELDS).map(([kind, fields]) => [kind, new Set(['kind', 'time', ...fields])]),
);

/** The first field a body or record carries that its kind does not define, if any. */
export function unknownField(
  kind: string,
  fields: Record<string, unknown>,
  allowDerived: boolean,
): string | undefined {
  const known = FIELD_SETS.get(kind);
  if (!known) return undefined;
  const derived = allowDerived ? (DERIVED_FIELDS[kind as EvidenceRecord['kind']] ?? []) : [];
  for (const k in fields) {
    if (!known.has(k) && !derived.includes(k)) return k;
  }
  return undefined;
}

/** Rejects records whose shape is wrong before anything is written; throws BAD_RECORD. */
export function validateRecord(record: EvidenceRecord): void {
  const r = record as unknown as Fields;
  if (typeof r !== 'object' || r === null) fail('BAD_RECORD', 'record must be an object');
  int(r, 'time');
  const extra = unknownField(String(r['kind']), r, false);
  if (extra !== undefined) fail('BAD_RECORD', `${String(r['kind'])} has no field ${extra}`);
  switch (record.kind) {
    case 'policy_version':
      str(r, 'text');
      str(r, 'author');
      optStr(r, 'signature');
      optStr(r, 'comment');
      need(r, 'policyHash', SHA256_HEX.test(String(r['policyHash'])), 'lowercase hex SHA-256');
      break;
    case 'push':
      str(r, 'device');
      u64(r, 'pipelineCookie');
      str(r, 'policyVersion');
      int(r, 'entriesWritten');
      oneOf(r, 'outcome', ['ok', 'partial', 'failed']);
      optStr(r, 'error');
      int(r, 'durationUs');
      if (record.phasesUs !== undefined) {
        const phases = record.phasesUs as Fields;
        need(r, 'phasesUs', typeof phases === 'object' && phases !== null, 'an object');
        for (const k of Object.keys(phases)) int(phases, k);
      }
      break;
    case 'counter_sample':
      str(r, 'device');
      str(r, 'table');
      str(r, 'ruleId');
      optStr(r, 'ruleName');
      optStr(r, 'agent');
      str(r, 'policyVersion');
      counter(r, 'packets');
      counter(r, 'bytes');
      optStr(r, 'epoch');
      break;
    case 'quota_window':
      str(r, 'device');
      int(r, 'slot');
      str(r, 'ruleId');
      optStr(r, 'agent');
      str(r, 'policyVersion');
      int(r, 'windowStart');
      int(r, 'windowEnd');
      need(r, 'windowEnd', record.windowEnd >= record.windowStart, 'not before windowStart');
      counter(r, 'bytesUsed');
      if (r['quotaBytes'] !== undefined) counter(r, 'quotaBytes');
      counter(r, 'drops');
      bool(r, 'exhausted');
      break;
    case 'denial':
      str(r, 'device');
      str(r, 'agent');
      str(r, 'srcIp');
      str(r, 'dstIp');
      int(r, 'srcPort', 65535);
      int(r, 'dstPort', 65535);
      int(r, 'protocol', 255);
      optStr(r, 'ruleId');
      str(r, 'reason');
      bool(r, 'audit');
      optStr(r, 'policyVersion');
      break;
    case 'device_event':
      str(r, 'device');
      oneOf(r, 'event', DEVICE_EVENTS);
      break;
    default:
      fail('BAD_RECORD', `unknown record kind ${String(r['kind'])}`);
  }
}

function normalise(v: bigint): Counter {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Counter subtraction that stays exact beyond 2^53 and returns a plain number when it fits. */
export function counterMinus(a: Counter, b: Counter): Counter {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return normalise(BigInt(a) - BigInt(b));
}

export function counterLess(a: Counter, b: Counter): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  return BigInt(a) < BigInt(b);
}

export interface CounterState {
  packets: Counter;
  bytes: Counter;
  epoch: string | undefined;
}

/**
 * Delta since the previous reading of the same (device, table, rule). A first reading counts from zero,
 * since counters start at zero when the rule is installed. A reading below the previous one, or with a
 * different epoch, means the counter restarted (device reboot, entry rewrite), so the traffic since the
 * restart is the reading itself; the reset is recorded so reports can say so.
 */
export function counterDelta(prev: CounterState | undefined, next: CounterState): CounterDelta {
  if (prev === undefined) return { deltaPackets: next.packets, deltaBytes: next.bytes, reset: false };
  const restarted =
    prev.epoch !== next.epoch ||
    counterLess(next.packets, prev.packets) ||
    counterLess(next.bytes, prev.bytes);
  if (restarted) return { deltaPackets: next.packets, deltaBytes: next.bytes, reset: true };
  return {
    deltaPackets: counterMinus(next.packets, prev.packets),
    deltaBytes: counterMinus(next.bytes, prev.bytes),
    reset: false,
  };
}

export function counterKey(device: string, table: string, ruleId: string): string {
  return `${device}\u0000${table}\u0000${ruleId}`;
}
