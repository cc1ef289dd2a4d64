// Desired device state in the contract's own terms: table entries, register cells and meter
// configurations named by P4Info names and valued by bigints. The compiler produces these, the
// planner diffs them, and only the P4Runtime edge turns them into ids and bytestrings, so that
// policy code never touches the wire format.

export type FieldValue =
  | { readonly kind: 'exact'; readonly value: bigint }
  | { readonly kind: 'lpm'; readonly value: bigint; readonly prefixLen: number }
  | { readonly kind: 'ternary'; readonly value: bigint; readonly mask: bigint }
  | { readonly kind: 'range'; readonly low: bigint; readonly high: bigint }
  | { readonly kind: 'optional'; readonly value: bigint };

export interface EntrySpec {
  /** P4Info name of the table. */
  readonly table: string;
  /** Match field name → value. A field that is absent is a don't-care (P4Runtime §9.1.1). */
  readonly match: Readonly<Record<string, FieldValue>>;
  /** Required (> 0) for tables with ternary, range or optional fields; higher wins. */
  readonly priority?: number;
  /** P4Info name of the action. */
  readonly action: string;
  readonly params: Readonly<Record<string, bigint>>;
  /** Provenance carried in TableEntry.metadata (P4Runtime §9.1): opaque to the device. */
  readonly metadata?: Uint8Array;
}

export interface RegisterCellSpec {
  readonly register: string;
  readonly index: number;
  readonly value: bigint;
}

/** Two-rate three-colour meter configuration (P4Runtime §9.6): rates in units/s, bursts in units. */
export interface MeterConfigSpec {
  readonly meter: string;
  readonly index: number;
  readonly cir: bigint;
  readonly cburst: bigint;
  readonly pir: bigint;
  readonly pburst: bigint;
}

/** A match value as text, the same for equal values: the part of an entry key one field gives. */
export function fieldKey(value: FieldValue): string {
  switch (value.kind) {
    case 'exact':
    case 'optional':
      return `${value.kind}:${value.value.toString(16)}`;
    case 'lpm':
      return `lpm:${value.value.toString(16)}/${value.prefixLen}`;
    case 'ternary':
      return `ternary:${value.value.toString(16)}&${value.mask.toString(16)}`;
    case 'range':
      return `range:${value.low.toString(16)}-${value.high.toString(16)}`;
  }
}

/**
 * The identity of an entry on the device: table, match and priority (P4Runtime §9.1: two entries
 * with the same key are the same entry, whatever their action). Field order does not matter.
 */
export function entryKey(entry: Pick<EntrySpec, 'table' | 'match' | 'priority'>): string {
  const fields = Object.keys(entry.match)
    .sort()
    .map((name) => `${name}=${fieldKey(entry.match[name])}`);
  return `${entry.table}|${fields.join(',')}|p${entry.priority ?? 0}`;
}

/** Whether two entries with the same key also carry the same action, parameters and metadata. */
export function sameContent(a: EntrySpec, b: EntrySpec): boolean {
  if (a.action !== b.action) return false;
  const names = Object.keys(a.params);
  if (names.length !== Object.keys(b.params).length) return false;
  for (const name of names) if (b.params[name] !== a.params[name]) return false;
  return bytesEqual(a.metadata, b.metadata);
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return (a?.length ?? 0) === (b?.length ?? 0);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
