// Client arbitration (P4Runtime §5): election ids, and what an arbitration notification from the
// device means for this client.

import { ClientOptionsError } from './errors';
import type { MasterArbitrationUpdate, Uint128 } from './proto';

/** An election id: a uint128 as a bigint, a number, or its {high, low} 64-bit halves. */
export type ElectionIdInput =
  bigint | number | { readonly high: bigint | number | string; readonly low: bigint | number | string };

const U64_MAX = (1n << 64n) - 1n;

function half(v: bigint | number | string, what: string): bigint {
  const n = BigInt(v);
  if (n < 0n || n > U64_MAX) throw new ClientOptionsError(`election id ${what} ${v} is not a uint64`);
  return n;
}

/** The election id as a bigint, checked to be a uint128. */
export function electionIdValue(id: ElectionIdInput): bigint {
  if (typeof id === 'object') return (half(id.high, 'high') << 64n) | half(id.low, 'low');
  if (typeof id === 'number' && !Number.isSafeInteger(id)) {
    throw new ClientOptionsError(`election id ${id} is not a safe integer; use a bigint`);
  }
  const n = BigInt(id);
  if (n < 0n || n >> 128n !== 0n) throw new ClientOptionsError(`election id ${id} is not a uint128`);
  return n;
}

/** p4.v1.Uint128 with both halves as decimal strings (proto.ts convention). */
export function toUint128(id: bigint): Uint128 {
  return { high: (id >> 64n).toString(), low: (id & U64_MAX).toString() };
}

export function fromUint128(u: Uint128 | null | undefined): bigint | undefined {
  if (u === undefined || u === null) return undefined;
  return (BigInt(u.high ?? 0) << 64n) | BigInt(u.low ?? 0);
}

/** This client's standing after an arbitration notification. */
export interface ArbitrationOutcome {
  readonly primary: boolean;
  /**
   * The highest election id the device has seen for (device_id, role): the primary's, if there is
   * one. Undefined when no controller has ever been primary (P4Runtime §5.4).
   */
  readonly primaryElectionId?: bigint;
  /** Canonical code name of the notification's status: OK, ALREADY_EXISTS (backup), NOT_FOUND (no primary). */
  readonly status: string;
}

const RPC_CODE_NAMES: Readonly<Record<number, string>> = { 0: 'OK', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS' };

/**
 * Reads an arbitration notification (P4Runtime §5.4): status OK goes to the primary only;
 * backups get ALREADY_EXISTS when a primary exists and NOT_FOUND when none does.
 */
export function readArbitration(update: MasterArbitrationUpdate): ArbitrationOutcome {
  const code = update.status?.code ?? 0;
  const outcome: { -readonly [K in keyof ArbitrationOutcome]: ArbitrationOutcome[K] } = {
    primary: code === 0,
    status: RPC_CODE_NAMES[code] ?? `CODE_${code}`,
  };
  const id = fromUint128(update.election_id);
  if (id !== undefined) outcome.primaryElectionId = id;
  return outcome;
}

/** Role and standing transitions a notification causes, in the order they are reported. */
export function transitions(
  wasPrimary: boolean | undefined,
  nowPrimary: boolean,
): ('primary' | 'backup' | 'demoted')[] {
  if (nowPrimary) return wasPrimary === true ? [] : ['primary'];
  if (wasPrimary === true) return ['demoted', 'backup'];
  return wasPrimary === false ? [] : ['backup'];
}
