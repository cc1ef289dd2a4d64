// Provenance carried in each entry's TableEntry.metadata, so that an entry read back from a device
// says which part of which policy put it there. Layout (compact, a few dozen bytes):
//
//   byte 0      format version (1)
//   byte 1      kind: 1 rule, 2 agent, 3 uplink, 4 sensitive source
//   bytes 2-5   digest: first 4 bytes of the FNV-1a hash of the canonical form of the owning object
//               (the rule with the destinations and DNS answers it uses; the agent; the uplink port)
//   bytes 6-    UTF-8 name of the owning object (rule or agent name; empty for the uplink); for a
//               rule's entries charged to a named destination's quota, followed by a zero byte and
//               the destination's name, so that the quota slot can be told from the device alone
//
// The digest is of the owning object and not of the whole policy set on purpose: a whole-set
// version would change the metadata of every entry at every edit, and turn a one-rule change into
// a rewrite of the whole device. The policy set's version is part of the compiled output instead.

export const METADATA_FORMAT = 1;

export const ProvenanceKind = { rule: 1, agent: 2, uplink: 3, sensitive: 4 } as const;
export type ProvenanceKindName = keyof typeof ProvenanceKind;

export interface Provenance {
  readonly kind: ProvenanceKindName;
  /** 8 hex digits. */
  readonly digest: string;
  readonly name: string;
  /** The named destination whose quota the entry charges, when it is not the rule's own. */
  readonly quotaDestination?: string;
}

export const FNV1A_OFFSET = 0x811c9dc5;

/** 32-bit FNV-1a over UTF-16 code units: a fast change detector, not a security boundary. */
export function fnv1a(text: string): number {
  return fnv1aUpdate(FNV1A_OFFSET, text);
}

/**
 * Continues an FNV-1a hash over `text` from position `from` up to `to`: hashing a string in pieces
 * gives the hash of the pieces joined, so a shared piece need not be copied into a new string to be
 * hashed.
 */
export function fnv1aUpdate(hash: number, text: string, from = 0, to = text.length): number {
  let h = hash;
  for (let i = from; i < to; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function encodeProvenance(
  kind: ProvenanceKindName,
  digest: number,
  name: string,
  quotaDestination?: string,
): Uint8Array {
  const text = provenanceText(name, quotaDestination);
  const nameBytes = nonAsciiBytes(text);
  const out = new Uint8Array(6 + (nameBytes ? nameBytes.length : text.length));
  writeProvenance(out, kind, digest, text, nameBytes);
  return out;
}

/**
 * Encodes provenance as views into shared blocks, for a compile that labels a hundred thousand
 * rules: a buffer of its own for each twenty-odd bytes costs several times the bytes in buffer
 * objects, and that garbage collection then copies. Blocks start small and double, so that a
 * compile labelling a single changed rule holds on to a small block only. The views are written
 * here once and never changed after, like every other part of a compiled entry.
 */
export class ProvenanceWriter {
  private block = new ArrayBuffer(0);
  private used = 0;
  private nextBlockSize = 256;

  encode(kind: ProvenanceKindName, digest: number, name: string, quotaDestination?: string): Uint8Array {
    const text = provenanceText(name, quotaDestination);
    const nameBytes = nonAsciiBytes(text);
    const length = 6 + (nameBytes ? nameBytes.length : text.length);
    if (this.used + length > this.block.byteLength) {
      this.block = new ArrayBuffer(Math.max(length, this.nextBlockSize));
      this.used = 0;
      this.nextBlockSize = Math.min(this.nextBlockSize * 2, MAX_PROVENANCE_BLOCK);
    }
    const out = new Uint8Array(this.block, this.used, length);
    this.used += length;
    writeProvenance(out, kind, digest, text, nameBytes);
    return out;
  }
}

const MAX_PROVENANCE_BLOCK = 1 << 16;

function provenanceText(name: string, quotaDestination: string | undefined): string {
  return quotaDestination === undefined ? name : `${name}\0${quotaDestination}`;
}

/** The UTF-8 of a text that is not all ASCII; undefined when it is (names are ASCII by the schema). */
function nonAsciiBytes(text: string): Buffer | undefined {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.from(text, 'utf8');
  return undefined;
}

/** Writes the provenance into `out`, which is exactly as long as it takes. */
function writeProvenance(
  out: Uint8Array,
  kind: ProvenanceKindName,
  digest: number,
  text: string,
  nameBytes: Buffer | undefined,
): void {
  if (nameBytes) out.set(nameBytes, 6);
  else for (let i = 0; i < text.length; i++) out[6 + i] = text.charCodeAt(i);
  out[0] = METADATA_FORMAT;
  out[1] = ProvenanceKind[kind];
  out[2] = (digest >>> 24) & 0xff;
  out[3] = (digest >>> 16) & 0xff;
  out[4] = (digest >>> 8) & 0xff;
  out[5] = digest & 0xff;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A 32-bit unsigned number as 8 hex digits, the way digests are written. */
export function hex8(value: number): string {
  return (
    HEX_BYTES[value >>> 24] +
    HEX_BYTES[(value >>> 16) & 0xff] +
    HEX_BYTES[(value >>> 8) & 0xff] +
    HEX_BYTES[value & 0xff]
  );
}

/** The provenance of an entry, or undefined when its metadata was not written by this format. */
export function decodeProvenance(metadata: Uint8Array | undefined): Provenance | undefined {
  if (!metadata || metadata.length < 6 || metadata[0] !== METADATA_FORMAT) return undefined;
  const kind = (Object.keys(ProvenanceKind) as ProvenanceKindName[]).find(
    (k) => ProvenanceKind[k] === metadata[1],
  );
  if (!kind) return undefined;
  const digest = Buffer.from(metadata.subarray(2, 6)).toString('hex');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(metadata.subarray(6));
  } catch {
    return undefined;
  }
  const cut = text.indexOf('\0');
  if (cut < 0) return { kind, digest, name: text };
  return { kind, digest, name: text.slice(0, cut), quotaDestination: text.slice(cut + 1) };
}
