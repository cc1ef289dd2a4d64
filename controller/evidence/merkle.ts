/**
 * Merkle tree primitives of RFC 9162 (Certificate Transparency 2.0), which keeps the RFC 6962 hashing.
 *
 * Only the standard algorithms are implemented here, on purpose: home-made proof schemes have shipped
 * with forgery flaws, and an auditor must be able to check our proofs with any RFC 9162 verifier.
 *
 * Sizes and indices are plain numbers; every function rejects values that are not safe integers, and the
 * bit manipulations the RFC describes are done arithmetically so they stay exact above 2^31.
 */
import { hash as oneShotHash } from 'node:crypto';
import { fail } from './errors';

export const HASH_SIZE = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/**
 * Asking for the digest as a 'binary' (latin1) string and copying it into a pooled Buffer costs about
 * half of asking for a Buffer, whose fresh backing store dominates the cost of hashing a leaf or a node.
 * Each character of that string is one digest byte, so the bytes are the same.
 */
function sha256(data: Uint8Array): Buffer {
  return Buffer.from(oneShotHash('sha256', data, 'binary'), 'binary');
}

/** RFC 9162 §2.1.1: the hash of a leaf is SHA-256(0x00 || data), separating leaves from interior nodes. */
export function hashLeaf(data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(data.length + 1);
  buf[0] = LEAF_PREFIX;
  buf.set(data, 1);
  return sha256(buf);
}

// Hashing is synchronous, so one preallocated buffer serves every 32+32-byte node without allocation.
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeScratch[0] = NODE_PREFIX;

/** RFC 9162 §2.1.1 leaf hash when the caller already holds 0x00 || data in one buffer. */
export function hashPrefixedLeaf(prefixed: Uint8Array): Buffer {
  if (prefixed[0] !== LEAF_PREFIX) fail('BAD_ARGUMENT', 'leaf hash input must start with 0x00');
  return sha256(prefixed);
}

/** RFC 9162 §2.1.1: an interior node is SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeScratch.set(left, 1);
    nodeScratch.set(right, 1 + HASH_SIZE);
    return sha256(nodeScratch);
  }
  const buf = Buffer.allocUnsafe(1 + left.length + right.length);
  buf[0] = NODE_PREFIX;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/** RFC 9162 §2.1.1: the root of the empty tree is the hash of the empty string. */
export function emptyRoot(): Buffer {
  return sha256(new Uint8Array(0));
}

/**
 * Source of hashes of perfect subtrees: node(level, index) is the root of the complete subtree holding
 * leaves [index * 2^level, (index + 1) * 2^level). Level 0 is the leaf hash itself. A persistent store
 * implements this from precomputed nodes so proofs never rehash the whole log.
 */
export interface NodeReader {
  node(level: number, index: number): Uint8Array;
}

export type LeafSource = readonly Uint8Array[] | NodeReader;

function checkSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    fail('BAD_ARGUMENT', `${name} must be a non-negative integer`);
}

function half(x: number): number {
  return Math.floor(x / 2);
}

function isOdd(x: number): boolean {
  return x % 2 === 1;
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** RFC 9162 §2.1.1: k is the largest power of two strictly smaller than n (n > 1). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2Exact(n: number): number {
  let level = 0;
  while (n > 1) {
    n /= 2;
    level++;
  }
  return level;
}

function hasBadLength(h: Uint8Array): boolean {
  return h.length !== HASH_SIZE;
}

/**
 * Reader over an in-memory list of leaf hashes. Interior nodes are computed on first use and memoised per
 * level, so repeated proofs over the same list cost O(log n) each after warm-up.
 */
export function leafArrayReader(leafHashes: readonly Uint8Array[]): NodeReader {
  const levels: Uint8Array[][] = [];
  const node = (level: number, index: number): Uint8Array => {
    if (level === 0) {
      const leaf = leafHashes[index];
      if (leaf === undefined) fail('BAD_ARGUMENT', `leaf ${index} is outside the tree`);
      return leaf;
    }
    const row = (levels[level] ??= []);
    const hit = row[index];
    if (hit !== undefined) return hit;
    const made = hashChildren(node(level - 1, 2 * index), node(level - 1, 2 * index + 1));
    row[index] = made;
    return made;
  };
  return { node };
}

function asReader(source: LeafSource): NodeReader {
  return Array.isArray(source) ? leafArrayReader(source) : (source as NodeReader);
}

/**
 * RFC 9162 §2.1.1 MTH(D[lo:hi]), built from perfect subtrees: an aligned power-of-two range is one node
 * read, anything else splits at k exactly as the definition does. Proof generation only asks for ranges
 * whose left part is aligned, so this costs O(log n) node reads.
 */
export function rangeRoot(reader: NodeReader, lo: number, hi: number): Buffer {
  const n = hi - lo;
  if (n <= 0) fail('BAD_ARGUMENT', 'empty range has no subtree hash');
  if (isPowerOfTwo(n) && lo % n === 0) return Buffer.from(reader.node(log2Exact(n), lo / n));
  const k = splitPoint(n);
  return hashChildren(rangeRoot(reader, lo, lo + k), rangeRoot(reader, lo + k, hi));
}

/**
 * A subtree hash held by MerkleFrontier: a Buffer, or the 'binary' (latin1) string hashing returns, where each
 * character is one digest byte. Nodes that are only hashed again stay strings: turning each into a Buffer
 * cost over half as much as hashing it.
 */
type Digest = Buffer | string;

function asBuffer(d: Digest): Buffer {
  return typeof d === 'string' ? Buffer.from(d, 'latin1') : d;
}

function putDigest(d: Digest, at: number): void {
  if (typeof d === 'string') nodeScratch.write(d, at, HASH_SIZE, 'latin1');
  else nodeScratch.set(d, at);
}

/** hashChildren for digests as MerkleFrontier holds them; the result is a string when both are 32 bytes. */
function combine(left: Digest, right: Digest): Digest {
  if (
    (typeof left === 'string' || left.length === HASH_SIZE) &&
    (typeof right === 'string' || right.length === HASH_SIZE)
  ) {
    putDigest(left, 1);
    putDigest(right, 1 + HASH_SIZE);
    return oneShotHash('sha256', nodeScratch, 'binary');
  }
  return hashChildren(asBuffer(left), asBuffer(right));
}

/**
 * Incremental MTH: keeps the roots of the perfect subtrees that make up the current tree (one per set bit
 * of the size). Appending a leaf merges equal-sized subtrees, reporting each newly completed node so a
 * store can persist it in the same transaction as the leaf.
 */
export class MerkleFrontier {
  private peaks: (Digest | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Rebuild the frontier of a tree of `size` leaves from stored perfect subtrees. */
  static fromReader(reader: NodeReader, size: number): MerkleFrontier {
    checkSize('size', size);
    const f = new MerkleFrontier();
    let width = 1;
    let level = 0;
    while (width * 2 <= size) {
      width *= 2;
      level++;
    }
    let start = 0;
    for (; level >= 0; level--, width /= 2) {
      if (start + width <= size) {
        f.peaks[level] = Buffer.from(reader.node(level, start / width));
        start += width;
      }
    }
    f.count = size;
    return f;
  }

  clone(): MerkleFrontier {
    const f = new MerkleFrontier();
    f.peaks = this.peaks.slice();
    f.count = this.count;
    return f;
  }

  /** `onNode` hears of the completed nodes on levels that are multiples of `every` (default: all). */
  append(leafHash: Buffer, onNode?: (level: number, index: number, hash: Buffer) => void, every = 1): void {
    let current: Digest = leafHash;
    let level = 0;
    let index = this.count;
    while (isOdd(index)) {
      current = combine(this.peaks[level] as Digest, current);
      this.peaks[level] = undefined;
      level++;
      index = half(index);
      if (onNode && level % every === 0) {
        const node = asBuffer(current);
        current = node;
        onNode(level, index, node);
      }
    }
    this.peaks[level] = current;
    this.count++;
  }

  /** RFC 9162 §2.1.1: the right-most, smallest subtree is folded in first, matching the recursive MTH. */
  root(): Buffer {
    let root: Digest | undefined;
    for (const peak of this.peaks) {
      if (peak === undefined) continue;
      root = root === undefined ? peak : combine(peak, root);
    }
    return root === undefined ? emptyRoot() : asBuffer(root);
  }
}

/** RFC 9162 §2.1.1 MTH over a list of leaf hashes. */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Buffer {
  const f = new MerkleFrontier();
  for (const h of leafHashes) f.append(Buffer.from(h));
  return f.root();
}

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]): the siblings met walking from the root down to leaf m, returned
 * deepest first as the RFC orders them.
 */
export function inclusionProof(source: LeafSource, index: number, size: number): Buffer[] {
  checkSize('index', index);
  checkSize('size', size);
  if (index >= size) fail('BAD_ARGUMENT', `leaf ${index} is not in a tree of size ${size}`);
  const reader = asReader(source);
  const topDown: Buffer[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      topDown.push(rangeRoot(reader, lo + k, hi));
      hi = lo + k;
    } else {
      topDown.push(rangeRoot(reader, lo, lo + k));
      lo += k;
    }
  }
  return topDown.reverse();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]) via SUBPROOF(m, D[n], true). Empty when m is 0 or m equals n, since
 * every tree is consistent with the empty tree and with itself.
 */
export function consistencyProof(source: LeafSource, size1: number, size2: number): Buffer[] {
  checkSize('size1', size1);
  checkSize('size2', size2);
  if (size1 > size2) fail('BAD_ARGUMENT', `size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === 0 || size1 === size2) return [];
  const reader = asReader(source);
  const topDown: Buffer[] = [];
  let lo = 0;
  let hi = size2;
  let m = size1;
  let startsAtOldRoot = true;
  for (;;) {
    const n = hi - lo;
    if (m === n) {
      // The old tree's subtree itself is only needed when the verifier cannot know it already.
      if (!startsAtOldRoot) topDown.push(rangeRoot(reader, lo, hi));
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      topDown.push(rangeRoot(reader, lo + k, hi));
      hi = lo + k;
    } else {
      topDown.push(rangeRoot(reader, lo, lo + k));
      lo += k;
      m -= k;
      startsAtOldRoot = false;
    }
  }
  return topDown.reverse();
}

function badSize(value: number): boolean {
  return !Number.isSafeInteger(value) || value < 0;
}

/**
 * RFC 9162 §2.1.3.2 steps 1-5 without the final comparison: the root the proof leads to, or the reason
 * it leads nowhere. Returning the reason instead of throwing keeps bulk verification cheap.
 */
function walkInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Buffer | string {
  if (badSize(index) || badSize(size)) return 'index and size must be non-negative integers';
  if (index >= size) return `leaf index ${index} is not below tree size ${size}`;
  if (hasBadLength(leafHash)) return 'leaf hash is not 32 bytes';
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (hasBadLength(p)) return 'proof element is not 32 bytes';
    if (sn === 0) return 'proof is longer than the path to the root';
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return 'proof is shorter than the path to the root';
  return r;
}

/** RFC 9162 §2.1.3.2 steps 1-5: the root an inclusion proof leads to; throws BAD_PROOF if it cannot. */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Buffer {
  const walked = walkInclusion(leafHash, index, size, proof);
  if (typeof walked === 'string') fail('BAD_PROOF', walked);
  return walked;
}

/** RFC 9162 §2.1.3.2 including step 5's comparison: undefined when valid, otherwise why not. */
export function inclusionProblem(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): string | undefined {
  if (hasBadLength(root)) return 'root is not 32 bytes';
  const walked = walkInclusion(leafHash, index, size, proof);
  if (typeof walked === 'string') return walked;
  return walked.equals(root) ? undefined : `inclusion proof for leaf ${index} does not reach the root`;
}

/** RFC 9162 §2.1.3.2: accepts only if the proof leads from the leaf hash to exactly this root. */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): true {
  const problem = inclusionProblem(leafHash, index, size, proof, root);
  if (problem !== undefined) fail('BAD_PROOF', problem);
  return true;
}

/** RFC 9162 §2.1.4.2: undefined when the proof shows size2/root2 extends size1/root1, else why not. */
export function consistencyProblem(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): string | undefined {
  if (badSize(size1) || badSize(size2)) return 'sizes must be non-negative integers';
  if (hasBadLength(root1) || hasBadLength(root2)) return 'root is not 32 bytes';
  if (proof.some(hasBadLength)) return 'proof element is not 32 bytes';
  if (size2 < size1) return `size2 ${size2} is smaller than size1 ${size1}`;
  if (size1 === size2) {
    if (proof.length !== 0) return 'proof between equal sizes must be empty';
    return Buffer.from(root1).equals(root2) ? undefined : 'equal sizes with different roots';
  }
  if (size1 === 0) return proof.length === 0 ? undefined : 'proof from the empty tree must be empty';
  if (proof.length === 0) return 'empty proof between different sizes';
  // Step 1: when the old tree is a perfect subtree, the RFC omits its root from the proof.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return 'consistency proof is too long';
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return 'consistency proof is too short';
  if (!fr.equals(root1)) return 'consistency proof does not reproduce the old root';
  if (!sr.equals(root2)) return 'consistency proof does not reproduce the new root';
  return undefined;
}

/** RFC 9162 §2.1.4.2, throwing BAD_PROOF with the reason when the proof does not hold. */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): true {
  const problem = consistencyProblem(size1, size2, proof, root1, root2);
  if (problem !== undefined) fail('BAD_PROOF', problem);
  return true;
}
