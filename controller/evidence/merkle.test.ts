import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { EvidenceError } from './errors';
import {
  MerkleFrontier,
  consistencyProblem,
  consistencyProof,
  emptyRoot,
  hashChildren,
  hashLeaf,
  inclusionProblem,
  inclusionProof,
  leafArrayReader,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './merkle';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const h = (s: string): Buffer => Buffer.from(s, 'hex');

// Known-answer vectors published with the transparency-dev/merkle test suite (RFC 6962 hashing).
const KAT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const KAT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const KAT_INCLUSION: { index: number; size: number; proof: string[] }[] = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const KAT_CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

/**
 * Reference model written straight from the RFC 9162 §2.1 recursive definitions, over slices of one fixed
 * leaf list. MTH is memoised by range so checking every (index, size) pair up to 256 stays fast.
 */
class Reference {
  private readonly memo = new Map<string, Buffer>();

  constructor(private readonly leaves: Buffer[]) {}

  private sha(...parts: Uint8Array[]): Buffer {
    const c = createHash('sha256');
    for (const p of parts) c.update(p);
    return c.digest();
  }

  leafHash(i: number): Buffer {
    return this.sha(Buffer.from([0]), this.leaves[i] as Buffer);
  }

  k(n: number): number {
    let k = 1;
    while (k < n) k <<= 1;
    return k >> 1;
  }

  mth(lo: number, hi: number): Buffer {
    const key = `${lo}:${hi}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    let out: Buffer;
    if (hi - lo === 0) out = this.sha();
    else if (hi - lo === 1) out = this.leafHash(lo);
    else {
      const k = this.k(hi - lo);
      out = this.sha(Buffer.from([1]), this.mth(lo, lo + k), this.mth(lo + k, hi));
    }
    this.memo.set(key, out);
    return out;
  }

  path(m: number, lo: number, hi: number): Buffer[] {
    if (hi - lo <= 1) return [];
    const k = this.k(hi - lo);
    if (m < k) return [...this.path(m, lo, lo + k), this.mth(lo + k, hi)];
    return [...this.path(m - k, lo + k, hi), this.mth(lo, lo + k)];
  }

  subproof(m: number, lo: number, hi: number, b: boolean): Buffer[] {
    const n = hi - lo;
    if (m === n) return b ? [] : [this.mth(lo, hi)];
    const k = this.k(n);
    if (m <= k) return [...this.subproof(m, lo, lo + k, b), this.mth(lo + k, hi)];
    return [...this.subproof(m - k, lo + k, hi, false), this.mth(lo, lo + k)];
  }
}

const MAX = 256;
const leaves = Array.from({ length: MAX }, (_, i) => Buffer.from(`leaf-${i}-${'x'.repeat(i % 7)}`));
const ref = new Reference(leaves);
const leafHashes = leaves.map((l) => hashLeaf(l));
const leafReader = leafArrayReader(leafHashes);
const someHash = h('abacaba000000000000000000000000000000000000000000060061e00123456');

function flipped(proof: Buffer[], i: number, bit: number): Buffer[] {
  return proof.map((p, j) => {
    if (j !== i) return p;
    const c = Buffer.from(p);
    c[bit >> 3] = (c[bit >> 3] as number) ^ (1 << (bit & 7));
    return c;
  });
}

function assertRejects(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EvidenceError, `${what}: expected EvidenceError, got ${String(e)}`);
    assert.ok(e.code === 'BAD_PROOF' || e.code === 'BAD_ARGUMENT', `${what}: code ${e.code}`);
    return;
  }
  assert.fail(`${what}: corrupted proof verified`);
}

describe('merkle: RFC 9162 hashing', () => {
  it('matches the published known answers for leaf, node and empty hashes', () => {
    assert.equal(hex(emptyRoot()), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.ok(hex(hashLeaf(Buffer.alloc(0))).startsWith('6e340b9c'));
    assert.equal(
      hex(hashLeaf(Buffer.from('L123456'))),
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    assert.equal(
      hex(hashChildren(Buffer.from('N123'), Buffer.from('N456'))),
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
  });

  it('keeps leaves, nodes and child order apart', () => {
    const a = hashLeaf(Buffer.from('Hello'));
    const b = hashLeaf(Buffer.from('World'));
    assert.notEqual(hex(a), hex(b));
    assert.notEqual(hex(hashChildren(a, b)), hex(hashLeaf(Buffer.concat([a, b]))));
    assert.notEqual(hex(hashChildren(a, b)), hex(hashChildren(b, a)));
  });

  it('reproduces the known roots of trees of size 1..8', () => {
    const lh = KAT_LEAVES.map((l) => hashLeaf(h(l)));
    for (let n = 1; n <= 8; n++) assert.equal(hex(rootFromLeafHashes(lh.slice(0, n))), KAT_ROOTS[n - 1]);
    assert.equal(hex(rootFromLeafHashes([])), hex(emptyRoot()));
  });

  it('produces and verifies the known inclusion proofs', () => {
    const lh = KAT_LEAVES.map((l) => hashLeaf(h(l)));
    for (const v of KAT_INCLUSION) {
      const proof = inclusionProof(lh.slice(0, v.size), v.index, v.size);
      assert.deepEqual(proof.map(hex), v.proof, `index ${v.index} size ${v.size}`);
      const root = h(KAT_ROOTS[v.size - 1] as string);
      assert.equal(verifyInclusion(lh[v.index] as Buffer, v.index, v.size, proof, root), true);
    }
    assert.deepEqual(inclusionProof(lh.slice(0, 1), 0, 1), []);
  });

  it('produces and verifies the known consistency proofs', () => {
    const lh = KAT_LEAVES.map((l) => hashLeaf(h(l)));
    for (const v of KAT_CONSISTENCY) {
      const proof = consistencyProof(lh, v.size1, v.size2);
      assert.deepEqual(proof.map(hex), v.proof, `${v.size1} -> ${v.size2}`);
      const r1 = h(KAT_ROOTS[v.size1 - 1] as string);
      const r2 = h(KAT_ROOTS[v.size2 - 1] as string);
      assert.equal(verifyConsistency(v.size1, v.size2, proof, r1, r2), true);
    }
  });

  it('handles the trivial consistency cases the RFC allows and rejects the rest', () => {
    const r1 = hashLeaf(Buffer.from('one'));
    const r2 = hashLeaf(Buffer.from('two'));
    assert.equal(verifyConsistency(0, 0, [], r1, r1), true);
    assert.equal(verifyConsistency(0, 1, [], r1, r2), true);
    assert.equal(verifyConsistency(1, 1, [], r2, r2), true);
    assertRejects(() => verifyConsistency(0, 0, [], r1, r2), 'equal sizes, different roots');
    assertRejects(() => verifyConsistency(1, 0, [], r1, r2), 'shrinking tree');
    assertRejects(() => verifyConsistency(1, 2, [], r1, r2), 'empty proof');
    assertRejects(() => verifyConsistency(0, 1, [emptyRoot()], r1, r1), 'non-empty proof from 0');
    assertRejects(() => verifyConsistency(1, 1, [emptyRoot()], r1, r1), 'non-empty proof, equal sizes');
  });

  it('rejects inclusion of an index outside the tree', () => {
    assertRejects(() => verifyInclusion(someHash, 0, 0, [], emptyRoot()), 'size 0');
    assertRejects(() => verifyInclusion(someHash, 1, 1, [], someHash), 'index = size');
    assertRejects(() => verifyInclusion(Buffer.alloc(0), 0, 1, [], someHash), 'short leaf hash');
    assertRejects(() => verifyInclusion(someHash, 0, 1, [], Buffer.alloc(0)), 'short root');
  });
});

describe('merkle: every tree size 1..256 against the RFC reference', function () {
  this.timeout(60000);

  it('inclusion proofs equal the reference, verify, and every corruption probe fails', () => {
    for (let size = 1; size <= MAX; size++) {
      const root = rootFromLeafHashes(leafHashes.slice(0, size));
      assert.equal(hex(root), hex(ref.mth(0, size)), `root of ${size}`);
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(leafReader, index, size);
        assert.deepEqual(proof.map(hex), ref.path(index, 0, size).map(hex), `path ${index}/${size}`);
        const leaf = leafHashes[index] as Buffer;
        assert.equal(verifyInclusion(leaf, index, size, proof, root), true);
        const probes: [string, string | undefined][] = [
          ['index+1', inclusionProblem(leaf, index + 1, size, proof, root)],
          ['index-1', inclusionProblem(leaf, index - 1, size, proof, root)],
          ['size*2', inclusionProblem(leaf, index, size * 2, proof, root)],
          ['size/2', inclusionProblem(leaf, index, size >> 1, proof, root)],
          ['wrong leaf', inclusionProblem(someHash, index, size, proof, root)],
          ['wrong root', inclusionProblem(leaf, index, size, proof, someHash)],
          ['extra element', inclusionProblem(leaf, index, size, [...proof, root], root)],
          ['preceding element', inclusionProblem(leaf, index, size, [root, ...proof], root)],
        ];
        if (proof.length > 0) {
          probes.push(['truncated', inclusionProblem(leaf, index, size, proof.slice(0, -1), root)]);
        }
        for (let i = 0; i < proof.length; i++) {
          const bit = (index * 31 + i * 7) % 256;
          probes.push([`flip ${i}`, inclusionProblem(leaf, index, size, flipped(proof, i, bit), root)]);
        }
        for (const [what, problem] of probes) assert.ok(problem, `${what} @ ${index}/${size} verified`);
      }
    }
  });

  it('consistency proofs equal the reference, verify, and every corruption probe fails', () => {
    for (let size2 = 1; size2 <= MAX; size2++) {
      const root2 = ref.mth(0, size2);
      for (let size1 = 1; size1 <= size2; size1++) {
        const root1 = ref.mth(0, size1);
        const proof = consistencyProof(leafReader, size1, size2);
        const expected = size1 === size2 ? [] : ref.subproof(size1, 0, size2, true);
        assert.deepEqual(proof.map(hex), expected.map(hex), `proof ${size1}->${size2}`);
        assert.equal(verifyConsistency(size1, size2, proof, root1, root2), true);
        if (proof.length === 0) continue;
        const check = (n1: number, n2: number, p: Buffer[], r1: Buffer, r2: Buffer): string | undefined =>
          consistencyProblem(n1, n2, p, r1, r2);
        const probes: [string, string | undefined][] = [
          ['size1-1', check(size1 - 1, size2, proof, root1, root2)],
          ['size1+1', check(size1 + 1, size2, proof, root1, root2)],
          ['size2*2', check(size1, size2 * 2, proof, root1, root2)],
          ['size2/2', check(size1, size2 >> 1, proof, root1, root2)],
          ['wrong root1', check(size1, size2, proof, someHash, root2)],
          ['wrong root2', check(size1, size2, proof, root1, someHash)],
          ['swapped roots', check(size1, size2, proof, root2, root1)],
          ['empty proof', check(size1, size2, [], root1, root2)],
          ['extra element', check(size1, size2, [...proof, root2], root1, root2)],
          ['preceding element', check(size1, size2, [proof[0] as Buffer, ...proof], root1, root2)],
          ['truncated', check(size1, size2, proof.slice(0, -1), root1, root2)],
        ];
        for (let i = 0; i < proof.length; i++) {
          const bit = (size1 * 13 + size2 + i) % 256;
          probes.push([`flip ${i}`, check(size1, size2, flipped(proof, i, bit), root1, root2)]);
        }
        for (const [what, problem] of probes) assert.ok(problem, `${what} @ ${size1}->${size2} verified`);
      }
    }
  });

  it('random bit flips in any proof element are always caught (fast-check)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: MAX })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.integer({ min: 0, max: size - 1 }),
              fc.nat(),
              fc.integer({ min: 0, max: 255 }),
            ),
          ),
        ([size, index, which, bit]) => {
          const proof = inclusionProof(leafReader, index, size);
          const root = ref.mth(0, size);
          const bad = flipped(proof, which % proof.length, bit);
          assertRejects(() => verifyInclusion(leafHashes[index] as Buffer, index, size, bad, root), 'flip');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('frontier rebuilt from any prefix continues to the same roots', () => {
    const reader = leafArrayReader(leafHashes);
    for (let size = 0; size <= 70; size++) {
      const f = MerkleFrontier.fromReader(reader, size);
      assert.equal(hex(f.root()), hex(ref.mth(0, size)), `rebuilt ${size}`);
      for (let next = size; next < Math.min(size + 5, MAX); next++) f.append(leafHashes[next] as Buffer);
      assert.equal(hex(f.root()), hex(ref.mth(0, Math.min(size + 5, MAX))), `continued ${size}`);
    }
  });

  it('reports each completed perfect subtree exactly once, with its reference hash', () => {
    const f = new MerkleFrontier();
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      f.append(leafHashes[i] as Buffer, (level, index, hash) => {
        const key = `${level}/${index}`;
        assert.ok(!seen.has(key), `node ${key} reported twice`);
        seen.add(key);
        assert.equal(hex(hash), hex(ref.mth(index << level, (index + 1) << level)));
      });
    }
    // 100 leaves complete 50 + 25 + 12 + 6 + 3 + 1 interior nodes.
    assert.equal(seen.size, 97);
  });

  it('reports only the levels asked for, and keeps the same roots and nodes', () => {
    const f = new MerkleFrontier();
    const seen: string[] = [];
    for (let i = 0; i < MAX; i++) {
      f.append(
        leafHashes[i] as Buffer,
        (level, index, hash) => {
          seen.push(`${level}/${index}`);
          assert.equal(hex(hash), hex(ref.mth(index << level, (index + 1) << level)));
        },
        4,
      );
      assert.equal(hex(f.root()), hex(ref.mth(0, i + 1)), `root at ${i + 1}`);
      assert.equal(hex(f.clone().root()), hex(f.root()));
    }
    // 256 leaves complete 16 subtrees of 16 leaves and one of 256.
    assert.equal(seen.length, 17);
    assert.ok(seen.every((key) => Number(key.split('/')[0]) % 4 === 0));
  });
});
