import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { counterSampleRecord } from './arbitraries';
import { encodeLeaf } from './canonical';
import { generateSigningKeyPair, loadPrivateKey, signCheckpoint } from './checkpoint';
import { EvidenceError } from './errors';
import { hashLeaf, verifyConsistency } from './merkle';
import { EvidenceRecord } from './records';
import { EvidenceLog, VerifyResult, checkProof } from './store';

const ORIGIN = 'test.nicguard/evidence';
const POLICY_TEXT = 'allow agent-a -> api.example.com:443';
const POLICY = createHash('sha256').update(POLICY_TEXT).digest('hex');

function records(count: number): EvidenceRecord[] {
  const out: EvidenceRecord[] = [
    {
      kind: 'policy_version',
      time: 1000,
      policyHash: POLICY,
      text: POLICY_TEXT,
      author: 'ops@example',
      signature: 'sig',
    },
    {
      kind: 'push',
      time: 1001,
      device: 'dpu-0',
      pipelineCookie: 2n ** 64n - 1n,
      policyVersion: POLICY,
      entriesWritten: 12,
      outcome: 'ok',
      durationUs: 5400,
      phasesUs: { write: 5000, read_back: 400 },
    },
    {
      kind: 'device_event',
      time: 1002,
      device: 'dpu-0',
      event: 'connected',
      detail: { addr: '10.0.0.2:9559' },
    },
  ];
  for (let i = 0; out.length < count; i++) {
    const t = 1003 + i;
    if (i % 5 === 3) {
      out.push({
        kind: 'denial',
        time: t,
        device: 'dpu-0',
        agent: `agent-${i % 2}`,
        srcIp: '10.1.0.7',
        dstIp: '198.51.100.3',
        srcPort: 40000 + i,
        dstPort: 443,
        protocol: 6,
        reason: 'no allow rule',
        audit: i % 3 === 0,
      });
    } else if (i % 7 === 6) {
      out.push({
        kind: 'quota_window',
        time: t,
        device: 'dpu-0',
        slot: 3,
        ruleId: 'r1',
        agent: 'agent-1',
        policyVersion: POLICY,
        windowStart: t - 1000,
        windowEnd: t,
        bytesUsed: 10_000 + i,
        quotaBytes: 10_000,
        drops: i,
        exhausted: true,
      });
    } else {
      out.push({
        kind: 'counter_sample',
        time: t,
        device: 'dpu-0',
        table: 'egress',
        ruleId: `r${i % 3}`,
        agent: `agent-${i % 3 === 0 ? 0 : 1}`,
        policyVersion: POLICY,
        packets: i * 10,
        bytes: i * 1500,
      });
    }
  }
  return out;
}

function expectProblem(result: VerifyResult, seq: number | undefined, code?: string): void {
  assert.equal(result.ok, false, `tampering at ${seq} went unnoticed`);
  if (result.ok) return;
  if (code) assert.equal(result.problem.code, code, result.problem.detail);
  assert.equal(result.problem.seq, seq, `${result.problem.code}: ${result.problem.detail}`);
}

/**
 * Swaps the stored columns of rows `a` and `b` (read by `get`, written back by `put` with the seq
 * last), expects verification to name `a` with `code`, and swaps them back.
 */
function expectSwapNamed(
  log: EvidenceLog,
  get: Database.Statement,
  put: Database.Statement,
  [a, b]: [number, number],
  code: string,
): void {
  const ra = get.get(a) as unknown[];
  const rb = get.get(b) as unknown[];
  put.run(...rb, a);
  put.run(...ra, b);
  expectProblem(log.verify(), a, code);
  put.run(...ra, a);
  put.run(...rb, b);
}

/** Edits to one column of a counter sample row, each of which verification must notice. */
const COUNTER_ROW_EDITS = [
  'time_ms = time_ms + 1',
  'packets = packets + 1',
  'bytes = bytes + 1',
  'delta_packets = delta_packets + 1',
  'delta_bytes = delta_bytes - 1',
  'reset = 2',
  'reset = 1 - reset',
  "epoch = 'boot-9'",
  "packets = CAST(packets AS TEXT) || 'x'",
  'series_id = series_id + 1000',
];

/**
 * Makes each edit to the counter sample row `seq` in turn, expects verification to name that
 * record, and puts the row back; returns the row as it was.
 */
function expectEachEditNamed(
  raw: Database.Database,
  log: EvidenceLog,
  seq: number,
  edits: readonly string[],
): Record<string, unknown> {
  const row = raw.prepare('SELECT * FROM counter_samples WHERE seq = ?').get(seq) as Record<string, unknown>;
  const columns = Object.keys(row).filter((column) => column !== 'seq');
  const restore = raw.prepare(
    `UPDATE counter_samples SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE seq = @seq`,
  );
  for (const edit of edits) {
    raw.prepare(`UPDATE counter_samples SET ${edit} WHERE seq = ?`).run(seq);
    expectProblem(log.verify(), seq, 'PROJECTION_MISMATCH');
    restore.run(row);
  }
  assert.ok(log.verify().ok);
  return row;
}

/** Turns counter samples stored as their rows into the form version 1 wrote: a records row with the leaf. */
function storeCounterLeaves(raw: Database.Database, log: EvidenceLog): number {
  const seqs = raw
    .prepare('SELECT seq FROM counter_samples WHERE leaf_hash IS NOT NULL')
    .pluck()
    .all() as number[];
  const insert = raw.prepare(
    `INSERT INTO records (seq, kind, time_ms, leaf, leaf_hash)
     SELECT seq, 'counter_sample', time_ms, ?, leaf_hash FROM counter_samples WHERE seq = ?`,
  );
  const clear = raw.prepare('UPDATE counter_samples SET leaf_hash = NULL WHERE seq = ?');
  for (const seq of seqs) {
    insert.run(log.leaf(seq), seq);
    clear.run(seq);
  }
  return seqs.length;
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EvidenceError, String(e));
    return e.code;
  }
  return 'none';
}

describe('EvidenceLog', function () {
  this.timeout(30000);
  let dir: string;
  const keys = generateSigningKeyPair();
  const signer = { origin: ORIGIN, privateKey: keys.privateKeyPem };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nicguard-evidence-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends, checkpoints and proves inclusion to a verifier holding only the public key', () => {
    const log = EvidenceLog.open(join(dir, 'e.db'), { signer });
    const appended = log.appendBatch(records(30));
    assert.deepEqual(
      appended.map((a) => a.seq),
      [...Array(30).keys()],
    );
    const cp = log.checkpoint();
    assert.equal(cp.treeSize, 30);
    for (let seq = 0; seq < 30; seq++) {
      const bundle = JSON.stringify(log.inclusionProof(seq));
      const checked = checkProof(bundle, keys.publicKeyPem, ORIGIN);
      assert.equal(checked.leafIndex, seq);
      assert.equal(checked.record?.seq, seq);
    }
    const push = checkProof(log.inclusionProof(1), keys.publicKeyPem, ORIGIN).record;
    assert.equal(push?.body['pipelineCookie'], '18446744073709551615');
    log.close();
  });

  it('rejects proof bundles that were altered, are for another key, or exceed the checkpoint', () => {
    const log = EvidenceLog.open(join(dir, 'e.db'), { signer });
    log.appendBatch(records(20));
    log.checkpoint();
    const bundle = log.inclusionProof(7);
    const other = generateSigningKeyPair();
    assert.equal(
      errorCode(() => checkProof(bundle, other.publicKeyPem, ORIGIN)),
      'BAD_SIGNATURE',
    );
    const flipped = { ...bundle, proof: bundle.proof.map((p, i) => (i === 1 ? `0${p.slice(1)}` : p)) };
    if (flipped.proof[1] === bundle.proof[1]) flipped.proof[1] = `1${bundle.proof[1]?.slice(1)}`;
    assert.equal(
      errorCode(() => checkProof(flipped, keys.publicKeyPem, ORIGIN)),
      'BAD_PROOF',
    );
    const otherLeaf = { ...bundle, leaf: log.inclusionProof(8).leaf };
    assert.equal(
      errorCode(() => checkProof(otherLeaf, keys.publicKeyPem, ORIGIN)),
      'BAD_PROOF',
    );
    assert.equal(
      errorCode(() => checkProof({ ...bundle, leafIndex: 8 }, keys.publicKeyPem, ORIGIN)),
      'BAD_PROOF',
    );
    assert.equal(
      errorCode(() => checkProof({ ...bundle, treeSize: 21 }, keys.publicKeyPem, ORIGIN)),
      'BAD_PROOF',
    );
    log.append(records(21)[20] as EvidenceRecord);
    assert.equal(
      errorCode(() => log.inclusionProof(20)),
      'NOT_COVERED',
    );
    log.close();
  });

  it('proves consistency between checkpoints and across reopen', () => {
    const path = join(dir, 'e.db');
    let log = EvidenceLog.open(path, { signer });
    const all = records(40);
    log.appendBatch(all.slice(0, 13));
    const a = log.checkpoint();
    log.close();
    log = EvidenceLog.open(path, { signer });
    log.appendBatch(all.slice(13));
    const b = log.checkpoint();
    const c = log.consistencyProof(a.treeSize, b.treeSize);
    assert.equal(c.root1, a.rootHash);
    assert.equal(c.root2, b.rootHash);
    const hex = (s: string): Buffer => Buffer.from(s, 'hex');
    assert.equal(verifyConsistency(13, 40, c.proof.map(hex), hex(a.rootHash), hex(b.rootHash)), true);
    const v = log.verify();
    assert.ok(v.ok && v.checkpoints === 2 && v.records === 40 && v.signaturesChecked);
    log.close();
  });

  it('sets synchronous=FULL on every open, although a reopened WAL database defaults to NORMAL', () => {
    const path = join(dir, 'e.db');
    EvidenceLog.open(path).close();
    const raw = new Database(path);
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(raw.pragma('synchronous', { simple: true }), 1);
    raw.close();
    const log = EvidenceLog.open(path);
    assert.deepEqual(log.durability(), { journalMode: 'wal', synchronous: 2 });
    log.close();
    assert.equal(
      errorCode(() => EvidenceLog.open(':memory:')),
      'DURABILITY',
      'a database that cannot use WAL must be refused',
    );
  });

  it('refuses a database that is not an evidence log', () => {
    const path = join(dir, 'other.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE t (x)');
    raw.close();
    assert.equal(
      errorCode(() => EvidenceLog.open(path)),
      'SCHEMA',
    );
  });

  it('opens a version 1 log, whose counter sample leaves are stored, and goes on verifying it', () => {
    const path = join(dir, 'v1.db');
    let log = EvidenceLog.open(path, { signer });
    log.appendBatch(records(24));
    log.checkpoint();
    const leaves = Array.from({ length: 24 }, (_, seq) => log.leaf(seq) as Buffer);
    const before = log.root().toString('hex');
    // What version 1 wrote: every record in records with its leaf, and no leaf_hash column.
    const raw = new Database(path);
    const restored = storeCounterLeaves(raw, log);
    raw.exec('ALTER TABLE counter_samples DROP COLUMN leaf_hash');
    raw.pragma('user_version = 1');
    raw.close();
    log.close();
    assert.ok(restored > 10, `${restored} counter samples given stored leaves`);

    log = EvidenceLog.open(path, { signer });
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), 2);
    assert.equal(log.root().toString('hex'), before);
    assert.ok(log.verify().ok);
    log.appendBatch(records(24).slice(3));
    log.checkpoint();
    const result = log.verify();
    assert.ok(result.ok, JSON.stringify(result));
    const stored = check.prepare("SELECT count(*) FROM records WHERE kind = 'counter_sample'").pluck().get();
    const asRows = check
      .prepare('SELECT count(*) FROM counter_samples WHERE leaf_hash IS NOT NULL')
      .pluck()
      .get();
    assert.equal(stored, restored, 'leaves stored by version 1 stay stored');
    assert.equal(asRows, restored, 'new counter samples are stored as their rows');
    for (let seq = 0; seq < log.size; seq++) {
      const bundle = log.inclusionProof(seq);
      assert.equal(checkProof(bundle, keys.publicKeyPem, ORIGIN).record?.seq, seq);
    }
    leaves.forEach((leaf, seq) => assert.deepEqual(log.leaf(seq), leaf));
    // A stored counter sample leaf is still checked byte for byte.
    const raw2 = new Database(path);
    const bad = Buffer.from(leaves[5] as Buffer);
    bad[bad.length - 2] = (bad[bad.length - 2] as number) ^ 1;
    raw2.prepare('UPDATE records SET leaf = ? WHERE seq = 5').run(bad);
    raw2.close();
    expectProblem(log.verify(), 5);
    check.close();
    log.close();
  });

  it('rebuilds every counter sample leaf as appended, whatever its strings and counters', () => {
    const log = EvidenceLog.open(join(dir, 'rebuild.db'));
    let appended = 0;
    fc.assert(
      fc.property(fc.array(counterSampleRecord, { minLength: 1, maxLength: 8 }), (batch) => {
        for (const record of batch) {
          let result;
          try {
            result = log.append(record);
          } catch (e) {
            // Strings with lone surrogates have no UTF-8 form and are refused at append.
            assert.equal(
              errorCode(() => {
                throw e;
              }),
              'BAD_RECORD',
            );
            continue;
          }
          appended++;
          assert.deepEqual(hashLeaf(log.leaf(result.seq) as Buffer), result.leafHash);
          assert.equal(log.getRecord(result.seq)?.body['device'], record.device);
        }
      }),
      { numRuns: 150 },
    );
    assert.ok(appended > 300, `${appended} samples appended`);
    const result = log.verify();
    assert.ok(result.ok, JSON.stringify(result));
    log.close();
  });

  it('computes counter deltas across resets, epoch changes and reopen', () => {
    const path = join(dir, 'e.db');
    const at = (
      time: number,
      packets: number | bigint,
      bytes: number | bigint,
      epoch?: string,
    ): EvidenceRecord => ({
      kind: 'counter_sample',
      time,
      device: 'dpu-1',
      table: 'egress',
      ruleId: 'r9',
      agent: 'agent-z',
      policyVersion: POLICY,
      packets,
      bytes,
      ...(epoch ? { epoch } : {}),
    });
    let log = EvidenceLog.open(path);
    log.appendBatch([at(1, 7, 700), at(2, 10, 1000), at(3, 25, 2500), at(4, 5, 500), at(5, 12, 1200)]);
    log.close();
    log = EvidenceLog.open(path);
    log.append(at(6, 20, 2000));
    log.append(at(7, 30, 3000, 'boot-2')); // new lifetime although the value went up
    log.append(at(8, 2n ** 60n, 2n ** 62n, 'boot-2'));
    const deltas = log
      .recordsByKind('counter_sample', 0, 100)
      .map((r) => [r.body['deltaPackets'], r.body['deltaBytes'], r.body['reset']]);
    assert.deepEqual(deltas, [
      [7, 700, false],
      [3, 300, false],
      [15, 1500, false],
      [5, 500, true],
      [7, 700, false],
      [8, 800, false],
      [30, 3000, true],
      [String(2n ** 60n - 30n), String(2n ** 62n - 3000n), false],
    ]);
    const [total] = log.counterTotals(0, 100);
    assert.equal(total?.packets, 7n + 3n + 15n + 5n + 7n + 8n + 30n + (2n ** 60n - 30n));
    assert.equal(total?.resets, 2);
    assert.equal(total?.samples, 8);
    assert.ok(log.verify().ok);
    log.close();
  });

  it('writes every row of batches of any size, across whole and partial multi-row inserts', () => {
    const all = records(700);
    const log = EvidenceLog.open(join(dir, 'sizes.db'));
    const reference = EvidenceLog.open(join(dir, 'one-by-one.db'));
    let at = 0;
    for (let size = 1; at + size <= all.length; size += 3) {
      log.appendBatch(all.slice(at, at + size));
      at += size;
    }
    for (let i = 0; i < at; i++) reference.append(all[i] as EvidenceRecord);
    assert.equal(log.size, at);
    assert.ok(log.root().equals(reference.root()));
    assert.ok(log.verify().ok);
    log.close();
    reference.close();
  });

  it('computes deltas from committed readings only after a batch fails part way', () => {
    const at = (time: number, packets: number, device = 'dpu-1'): EvidenceRecord => ({
      kind: 'counter_sample',
      time,
      device,
      table: 'egress',
      ruleId: 'r9',
      policyVersion: POLICY,
      packets,
      bytes: packets * 100,
    });
    const log = EvidenceLog.open(join(dir, 'f.db'));
    // The lone surrogate is refused inside the transaction, after both readings before it were staged.
    const failing = [at(1, 10), at(2, 50), at(3, 60), at(4, 1, 'dpu-\uD800')];
    assert.equal(
      errorCode(() => log.appendBatch(failing)),
      'BAD_RECORD',
    );
    assert.equal(log.size, 0);
    log.appendBatch([at(5, 10), at(6, 14)]);
    assert.equal(
      errorCode(() => log.appendBatch(failing)),
      'BAD_RECORD',
    );
    log.append(at(7, 30));
    log.appendBatch([at(8, 31), at(9, 3), at(10, 8)]);
    const deltas = log
      .recordsByKind('counter_sample', 0, 100)
      .map((r) => [r.body['deltaPackets'], r.body['reset']]);
    assert.deepEqual(deltas, [
      [10, false],
      [4, false],
      [16, false],
      [1, false],
      [3, true],
      [5, false],
    ]);
    assert.ok(log.verify().ok);
    log.close();
  });

  it('answers report queries from the projections', () => {
    const log = EvidenceLog.open(join(dir, 'e.db'));
    const all = records(60);
    log.appendBatch(all);
    const denials = all.filter((r) => r.kind === 'denial');
    const summary = log.denialsPerAgent(0, 10_000);
    assert.equal(
      summary.reduce((n, s) => n + s.denials, 0),
      denials.length,
    );
    assert.ok(summary.every((s) => s.bestEffort));
    assert.equal(log.quotaHits(0, 10_000).length, all.filter((r) => r.kind === 'quota_window').length);
    assert.equal(log.recordsByKind('denial', 0, 10_000).length, denials.length);
    assert.equal(log.recordsByKind('push', 0, 1001).length, 0);
    assert.equal(log.recordsByKind('push', 1001, 1002).length, 1);
    const totals = log.counterTotals(0, 10_000);
    assert.deepEqual(
      totals.map((t) => [t.agent, t.ruleId]),
      [
        ['agent-0', 'r0'],
        ['agent-1', 'r1'],
        ['agent-1', 'r2'],
      ],
    );
    log.close();
  });

  it('group-commits appendDurable calls in order and resolves after commit', async () => {
    const path = join(dir, 'e.db');
    const log = EvidenceLog.open(path, { groupCommit: { maxRecords: 64, maxDelayMs: 2 } });
    const all = records(500);
    const results = await Promise.all(all.map((r) => log.appendDurable(r)));
    assert.deepEqual(
      results.map((r) => r.seq),
      [...Array(500).keys()],
    );
    const raw = new Database(path, { readonly: true });
    const stored = raw
      .prepare(
        `SELECT (SELECT count(*) FROM records)
              + (SELECT count(*) FROM counter_samples WHERE leaf_hash IS NOT NULL)`,
      )
      .pluck()
      .get();
    assert.equal(stored, 500);
    raw.close();
    const bad = { ...all[3], time: 1.5 } as EvidenceRecord;
    await assert.rejects(
      log.appendDurable(bad),
      (e) => e instanceof EvidenceError && e.code === 'BAD_RECORD',
    );
    const late = await log.appendDurable(all[0] as EvidenceRecord);
    assert.equal(late.seq, 500);
    log.close();
  });

  it('exports every record with its leaf hash, then the checkpoints', () => {
    const log = EvidenceLog.open(join(dir, 'e.db'), { signer });
    log.appendBatch(records(25));
    log.checkpoint();
    const lines: string[] = [];
    assert.equal(
      log.exportJsonl((l) => lines.push(l)),
      26,
    );
    for (const line of lines.slice(0, 25)) {
      const r = JSON.parse(line) as { leaf: string; leafHash: string; seq: number; body: unknown };
      assert.equal(hashLeaf(Buffer.from(r.leaf, 'base64')).toString('hex'), r.leafHash);
    }
    assert.equal((JSON.parse(lines[25] as string) as { type: string }).type, 'checkpoint');
    log.close();
  });

  describe('tamper detection, every leaf stored (counter samples as version 1 wrote them)', () => {
    const COUNT = 24;
    let path: string;
    let log: EvidenceLog;
    let raw: Database.Database;

    beforeEach(() => {
      path = join(dir, 'e.db');
      log = EvidenceLog.open(path, { signer });
      log.appendBatch(records(COUNT));
      log.checkpoint();
      assert.ok(log.verify().ok);
      raw = new Database(path);
      assert.ok(storeCounterLeaves(raw, log) > 10);
      assert.ok(log.verify().ok);
    });
    afterEach(() => {
      raw.close();
      log.close();
    });

    const leafOf = (seq: number): Buffer =>
      raw.prepare('SELECT leaf FROM records WHERE seq = ?').pluck().get(seq) as Buffer;
    const setLeaf = (seq: number, leaf: Buffer, hash?: Buffer): void => {
      if (hash) raw.prepare('UPDATE records SET leaf = ?, leaf_hash = ? WHERE seq = ?').run(leaf, hash, seq);
      else raw.prepare('UPDATE records SET leaf = ? WHERE seq = ?').run(leaf, seq);
    };

    it('names the record when any byte of any leaf changes', () => {
      // The first 12 records already cover every kind; all of their bytes are flipped.
      for (let seq = 0; seq < 12; seq++) {
        const original = leafOf(seq);
        for (let i = 0; i < original.length; i++) {
          const bad = Buffer.from(original);
          bad[i] = (bad[i] as number) ^ 0x01;
          setLeaf(seq, bad);
          expectProblem(log.verify(), seq);
        }
        setLeaf(seq, original);
      }
      assert.ok(log.verify().ok);
    });

    it('names the record when a leaf is rewritten with a matching hash', () => {
      for (let seq = 0; seq < COUNT; seq++) {
        const original = leafOf(seq);
        const hash = raw.prepare('SELECT leaf_hash FROM records WHERE seq = ?').pluck().get(seq) as Buffer;
        const body = JSON.parse(original.subarray(18).toString()) as Record<string, unknown>;
        const kind = raw.prepare('SELECT kind FROM records WHERE seq = ?').pluck().get(seq) as 'push';
        const time = original.readUInt32BE(14);
        const field = Object.keys(body).find((k) => typeof body[k] === 'string') as string;
        const edited = encodeLeaf(kind, seq, time, { ...body, [field]: `${String(body[field])}x` });
        setLeaf(seq, edited, hashLeaf(edited));
        expectProblem(log.verify(), seq, 'PROJECTION_MISMATCH');
        const extended = encodeLeaf(kind, seq, time, { ...body, forged: true });
        setLeaf(seq, extended, hashLeaf(extended));
        expectProblem(log.verify(), seq, 'BAD_LEAF');
        setLeaf(seq, original, hash);
      }
      assert.ok(log.verify().ok);
    });

    it('names the record when header columns disagree with the leaf', () => {
      raw.prepare("UPDATE records SET kind = 'push' WHERE seq = 5").run();
      expectProblem(log.verify(), 5, 'KIND_MISMATCH');
      raw.prepare('UPDATE records SET kind = ? WHERE seq = 5').run(log.getRecord(5)?.kind);
      raw.prepare('UPDATE records SET time_ms = time_ms + 1 WHERE seq = 9').run();
      expectProblem(log.verify(), 9, 'TIME_MISMATCH');
    });

    it('names the missing record when any single record is deleted', () => {
      for (let seq = 0; seq < COUNT; seq++) {
        const row = raw.prepare('SELECT * FROM records WHERE seq = ?').get(seq) as Record<string, unknown>;
        raw.prepare('DELETE FROM records WHERE seq = ?').run(seq);
        expectProblem(log.verify(), seq, 'MISSING_RECORD');
        raw.prepare('INSERT INTO records VALUES (@seq, @kind, @time_ms, @leaf, @leaf_hash)').run(row);
      }
      assert.ok(log.verify().ok);
    });

    it('names the first displaced record when two records are swapped', () => {
      for (let a = 0; a < COUNT - 1; a += 3) {
        const b = a + 1 + (a % 4);
        const get = raw.prepare('SELECT kind, time_ms, leaf, leaf_hash FROM records WHERE seq = ?');
        const put = raw.prepare(
          'UPDATE records SET kind = ?, time_ms = ?, leaf = ?, leaf_hash = ? WHERE seq = ?',
        );
        expectSwapNamed(log, get.raw(), put, [a, b], 'SEQ_MISMATCH');
      }
      assert.ok(log.verify().ok);
    });

    it('notices a changed projection row and names its record', () => {
      raw
        .prepare("UPDATE denials SET agent = 'someone-else' WHERE seq = (SELECT min(seq) FROM denials)")
        .run();
      const seq = raw.prepare('SELECT min(seq) FROM denials').pluck().get() as number;
      expectProblem(log.verify(), seq, 'PROJECTION_MISMATCH');
    });

    it('notices each changed counter projection column and names its record', () => {
      const seq = raw.prepare('SELECT max(seq) FROM counter_samples').pluck().get() as number;
      expectEachEditNamed(raw, log, seq, COUNTER_ROW_EDITS);
      raw.prepare("UPDATE counter_series SET agent = 'someone-else'").run();
      const first = raw.prepare('SELECT min(seq) FROM counter_samples').pluck().get() as number;
      expectProblem(log.verify(), first, 'PROJECTION_MISMATCH');
    });

    it('notices a truncated tail that a checkpoint covers', () => {
      raw.prepare('DELETE FROM records WHERE seq = ?').run(COUNT - 1);
      expectProblem(log.verify(), COUNT - 1, 'MISSING_RECORD');
    });

    it('rejects a checkpoint signed by another key', () => {
      const other = loadPrivateKey(generateSigningKeyPair().privateKeyPem);
      const root = log.root(10);
      raw
        .prepare('INSERT INTO checkpoints (tree_size, root, note, created_ms) VALUES (?, ?, ?, 0)')
        .run(10, root, signCheckpoint(ORIGIN, 10, root, other));
      const result = log.verify();
      assert.ok(!result.ok && result.problem.code === 'BAD_SIGNATURE', JSON.stringify(result));
      raw.prepare('DELETE FROM checkpoints WHERE tree_size = 10').run();
      assert.ok(log.verify().ok);
      const foreign = log.verify({ publicKey: generateSigningKeyPair().publicKeyPem });
      assert.ok(!foreign.ok && foreign.problem.code === 'BAD_SIGNATURE');
    });

    it('notices a tampered stored Merkle node', () => {
      raw.prepare('UPDATE nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 0').run();
      expectProblem(log.verify(), 15, 'NODE_MISMATCH');
    });
  });

  describe('tamper detection, counter samples stored as their rows', () => {
    const COUNT = 24;
    let log: EvidenceLog;
    let raw: Database.Database;
    const counterSeqs = (): number[] =>
      raw.prepare('SELECT seq FROM counter_samples ORDER BY seq').pluck().all() as number[];

    beforeEach(() => {
      const path = join(dir, 'e.db');
      log = EvidenceLog.open(path, { signer });
      log.appendBatch(records(COUNT));
      log.checkpoint();
      assert.ok(log.verify().ok);
      raw = new Database(path);
      const inRecords = raw
        .prepare("SELECT count(*) FROM records WHERE kind = 'counter_sample'")
        .pluck()
        .get() as number;
      assert.equal(inRecords, 0, 'a counter sample has no records row');
      assert.ok(counterSeqs().length > 10);
    });
    afterEach(() => {
      raw.close();
      log.close();
    });

    it('notices each changed counter column, leaf hash bit and series name, and names the record', () => {
      const seqs = counterSeqs();
      const seq = seqs[seqs.length - 1] as number;
      const row = expectEachEditNamed(raw, log, seq, [
        ...COUNTER_ROW_EDITS,
        "leaf_hash = CAST(leaf_hash AS TEXT) || 'x'",
      ]);
      const hash = row['leaf_hash'] as Buffer;
      const setHash = raw.prepare('UPDATE counter_samples SET leaf_hash = ? WHERE seq = ?');
      for (let bit = 0; bit < hash.length * 8; bit++) {
        const bad = Buffer.from(hash);
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        setHash.run(bad, seq);
        expectProblem(log.verify(), seq, 'PROJECTION_MISMATCH');
      }
      setHash.run(hash, seq);
      assert.ok(log.verify().ok);
      const series = raw
        .prepare('SELECT * FROM counter_series WHERE series_id = ?')
        .get(row['series_id']) as Record<string, unknown>;
      const first = raw
        .prepare('SELECT min(seq) FROM counter_samples WHERE series_id = ?')
        .pluck()
        .get(row['series_id']) as number;
      for (const column of ['device', 'tbl', 'rule_id', 'rule_name', 'agent', 'policy_version']) {
        const edit = raw.prepare(`UPDATE counter_series SET ${column} = ? WHERE series_id = ?`);
        edit.run(`${String(series[column])}x`, row['series_id']);
        expectProblem(log.verify(), first, 'PROJECTION_MISMATCH');
        edit.run(series[column], row['series_id']);
      }
      assert.ok(log.verify().ok);
    });

    it('names the missing record when any counter sample row is deleted', () => {
      for (const seq of counterSeqs()) {
        const row = raw.prepare('SELECT * FROM counter_samples WHERE seq = ?').get(seq) as Record<
          string,
          unknown
        >;
        raw.prepare('DELETE FROM counter_samples WHERE seq = ?').run(seq);
        expectProblem(log.verify(), seq, 'MISSING_RECORD');
        raw
          .prepare(
            `INSERT INTO counter_samples VALUES (@seq, @time_ms, @series_id, @packets, @bytes, @delta_packets,
             @delta_bytes, @reset, @epoch, @leaf_hash)`,
          )
          .run(row);
      }
      assert.ok(log.verify().ok);
    });

    it('names the first displaced record when two counter sample rows are swapped', () => {
      const seqs = counterSeqs();
      const columns =
        'time_ms, series_id, packets, bytes, delta_packets, delta_bytes, reset, epoch, leaf_hash';
      const get = raw.prepare(`SELECT ${columns} FROM counter_samples WHERE seq = ?`).raw();
      const put = raw.prepare(
        `UPDATE counter_samples SET (${columns}) = (?, ?, ?, ?, ?, ?, ?, ?, ?) WHERE seq = ?`,
      );
      for (let i = 0; i + 1 < seqs.length; i += 3) {
        const a = seqs[i] as number;
        const b = seqs[i + 1 + (i % 2)] ?? (seqs[i + 1] as number);
        // The leaf is rebuilt at the row's own seq, so the moved row no longer hashes to its leaf hash.
        expectSwapNamed(log, get, put, [a, b], 'PROJECTION_MISMATCH');
      }
      assert.ok(log.verify().ok);
    });

    it('names a seq stored both as a record and as a counter sample row', () => {
      const seq = counterSeqs()[2] as number;
      raw
        .prepare(
          `INSERT INTO records (seq, kind, time_ms, leaf, leaf_hash)
           SELECT ?, kind, time_ms, leaf, leaf_hash FROM records WHERE seq = 0`,
        )
        .run(seq);
      expectProblem(log.verify(), seq, 'SEQ_MISMATCH');
    });

    it('notices a truncated tail that a checkpoint covers', () => {
      const seqs = counterSeqs();
      const last = seqs[seqs.length - 1] as number;
      raw.prepare('DELETE FROM records WHERE seq > ?').run(last);
      raw.prepare('DELETE FROM counter_samples WHERE seq = ?').run(last);
      expectProblem(log.verify(), last, 'MISSING_RECORD');
    });

    it('hands out the rebuilt leaf in proofs, exports and report queries', () => {
      const seq = counterSeqs()[0] as number;
      const leaf = log.leaf(seq) as Buffer;
      const bundle = log.inclusionProof(seq);
      assert.equal(bundle.leaf, leaf.toString('base64'));
      assert.equal(checkProof(bundle, keys.publicKeyPem, ORIGIN).record?.kind, 'counter_sample');
      const lines: string[] = [];
      log.exportJsonl((l) => lines.push(l));
      const exported = JSON.parse(lines[seq] as string) as { seq: number; leaf: string; leafHash: string };
      assert.equal(exported.seq, seq);
      assert.equal(exported.leaf, leaf.toString('base64'));
      assert.equal(exported.leafHash, hashLeaf(leaf).toString('hex'));
      const samples = log.recordsByKind('counter_sample', 0, 10_000);
      assert.deepEqual(
        samples.map((r) => r.seq),
        counterSeqs(),
      );
      assert.deepEqual(log.getRecord(seq), samples[0]);
    });
  });
});
