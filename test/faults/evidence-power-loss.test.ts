// Fault class 5: evidence under power loss and tampering. While a writer appends and signs
// checkpoints, the database and its WAL are copied at random moments (a copy taken mid-write is
// what a machine that loses power leaves behind), with the WAL's unsynced tail torn at random
// lengths. Every copy either opens and verifies, or fails in a way that names the problem: a typed
// error, a verification problem with its code (and record, where there is one). No signed
// checkpoint may claim more records than survived a power loss. Storage that loses writes it had
// acknowledged (WAL frames cut before the last commit, a main file cut short) is beyond what
// SQLite itself survives; there the promise is only that verification notices. Then each
// surviving copy is tampered with in one place, and verification must notice every time.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EvidenceError, EvidenceLog, generateSigningKeyPair } from '../../controller/evidence';
import { FULL, ROOT, report, scaled, sleep } from './support';

const WRITER = join(ROOT, 'dist', 'controller', 'evidence', 'crash-child.js');

type Outcome = 'verified' | 'verify-failed' | 'open-failed';

/**
 * Where the WAL's last commit ends: the byte after the last frame with a non-zero "database size
 * after commit" that still carries the header's salts (frames of an older generation, left behind a
 * WAL restart, do not). The SQLite file format, sections on the WAL header and frame header.
 */
function lastCommitEnd(wal: Buffer): number {
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let lastCommit = 32;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) lastCommit = at + 24 + pageSize;
  }
  return lastCommit;
}

describe('fault: evidence under power loss', function () {
  const snapshots = scaled(300, 60);
  this.timeout(snapshots * 2_000 + 60_000);
  const keys = generateSigningKeyPair();
  let dir: string;
  let writer: ChildProcess;
  const survivors: string[] = [];
  const failures: string[] = [];
  const outcomes: Record<Outcome, number> = { verified: 0, 'verify-failed': 0, 'open-failed': 0 };
  // Power-loss copies (modes 0-2) that did not verify, and those whose torn tail lost frames.
  let walOnlyFailed = 0;
  let tornTails = 0;
  const problemCodes = new Set<string>();
  let tamperTrials = 0;
  let tamperDetected = 0;
  let maxRecords = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nicguard-power-loss-'));
    writer = spawn(process.execPath, [WRITER, join(dir, 'live.db')], {
      env: { ...process.env, EVIDENCE_CRASH_KEY: keys.privateKeyPem },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    writer.stderr!.resume();
    for (let i = 0; i < 200 && !existsSync(join(dir, 'live.db-wal')); i++) await sleep(20);
  });

  after(() => {
    writer?.kill('SIGKILL');
    report({
      fault: '5 evidence power loss + tamper',
      trials: snapshots + tamperTrials,
      failures: failures.length,
      figures: `${snapshots} torn copies (${outcomes.verified} verified, ${outcomes['verify-failed']} named problem, ${outcomes['open-failed']} refused to open; ${walOnlyFailed} of them power-loss copies, of which ${tornTails} had a torn tail; problems named: ${[...problemCodes].join(', ') || 'none'}; up to ${maxRecords} records); tampering ${tamperDetected}/${tamperTrials} detected`,
    });
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a copy and classifies it; anything unclear is a failure. */
  function examine(path: string, label: string, powerLoss: boolean): Outcome {
    let log: EvidenceLog;
    try {
      log = EvidenceLog.open(path);
    } catch (err) {
      const clear =
        err instanceof EvidenceError ||
        /malformed|not a database|corrupt|disk image/i.test((err as Error).message);
      if (!clear) failures.push(`${label}: open failed unclearly: ${(err as Error).message}`);
      return 'open-failed';
    }
    try {
      const size = log.size;
      maxRecords = Math.max(maxRecords, size);
      const outrun = log.checkpoints().find((cp) => cp.treeSize > size);
      if (outrun && powerLoss)
        failures.push(`${label}: checkpoint claims ${outrun.treeSize} of ${size} records`);
      const result = log.verify({ publicKey: keys.publicKeyPem });
      if (result.ok && outrun)
        failures.push(`${label}: verified with checkpoint ${outrun.treeSize} beyond ${size} records`);
      if (result.ok) return 'verified';
      problemCodes.add(result.problem?.code ?? '?');
      if (!result.problem?.code || !result.problem.detail)
        failures.push(`${label}: verification failed without naming a problem: ${JSON.stringify(result)}`);
      return 'verify-failed';
    } catch (err) {
      if (!(err instanceof EvidenceError) && !/malformed|corrupt/i.test((err as Error).message))
        failures.push(`${label}: ${(err as Error).message}`);
      problemCodes.add(err instanceof EvidenceError ? err.code : 'SQLITE_CORRUPT');
      return 'verify-failed';
    } finally {
      log.close();
    }
  }

  it('every torn copy opens and verifies, or names what is wrong; no checkpoint outruns the records', async () => {
    for (let i = 0; i < snapshots; i++) {
      // The writer runs only between copies, so the log grows by what a few milliseconds append and
      // each copy stays quick to verify.
      writer.kill('SIGCONT');
      await sleep(Math.random() * 40);
      // The writer is frozen while both files are read: what the copy holds is what the disk would
      // hold had the power gone at that instant (every write issued, none after). Reading the two
      // files while it runs would splice two moments together, which no crash can produce.
      writer.kill('SIGSTOP');
      const db = readFileSync(join(dir, 'live.db'));
      const wal = existsSync(join(dir, 'live.db-wal'))
        ? readFileSync(join(dir, 'live.db-wal'))
        : Buffer.alloc(0);
      const copy = join(dir, `copy-${i}.db`);
      // 0: as copied; 1: WAL torn anywhere after its last commit; 2: the same on a 4 KiB boundary
      // (a power loss under synchronous=FULL loses at most what was not yet synced);
      // 3: acknowledged WAL frames lost too (cut anywhere); 4 (full suite): main file cut as well.
      const mode = i % (FULL ? 5 : 4);
      const synced = lastCommitEnd(wal);
      const tail = wal.length - synced;
      const walLength =
        mode === 0
          ? wal.length
          : mode === 1
            ? synced + Math.floor(Math.random() * (tail + 1))
            : mode === 2
              ? Math.max(synced, Math.floor((synced + Math.random() * (tail + 1)) / 4096) * 4096)
              : Math.floor(Math.random() * wal.length);
      writeFileSync(
        copy,
        mode === 4 ? db.subarray(0, Math.floor(db.length * (0.5 + Math.random() / 2))) : db,
      );
      writeFileSync(`${copy}-wal`, wal.subarray(0, walLength));
      const outcome = examine(copy, `copy ${i} (mode ${mode})`, mode < 3);
      outcomes[outcome]++;
      if (mode < 3 && outcome !== 'verified') walOnlyFailed++;
      if (mode > 0 && mode < 3 && walLength < wal.length) tornTails++;
      if (outcome === 'verified') survivors.push(copy);
    }
    assert.ok(outcomes.verified > 0, 'some copies survive whole');
    assert.deepEqual(failures.slice(0, 5), []);
  });

  it('any single change to a surviving copy is detected', () => {
    const tampers: [string, (db: Database.Database, seq: number) => number][] = [
      [
        'flip a leaf bit, or a bit a counter sample leaf is rebuilt from',
        (db, seq) => {
          const bit = 1 << Math.floor(Math.random() * 8);
          const leaf = db.prepare('SELECT leaf FROM records WHERE seq = ?').pluck().get(seq) as
            Buffer | undefined;
          if (leaf === undefined) {
            // A counter sample is stored as its counter_samples row alone; its leaf is rebuilt from it.
            const columns = ['time_ms', 'packets', 'bytes', 'delta_packets', 'delta_bytes'];
            const column = columns[Math.floor(Math.random() * columns.length)];
            return db
              .prepare(
                `UPDATE counter_samples SET ${column} = (${column} | ?) - (${column} & ?) WHERE seq = ?`,
              )
              .run(bit, bit, seq).changes;
          }
          const changed = Buffer.from(leaf);
          changed[Math.floor(Math.random() * changed.length)] ^= bit;
          return db.prepare('UPDATE records SET leaf = ? WHERE seq = ?').run(changed, seq).changes;
        },
      ],
      [
        'change a counter projection',
        (db, seq) =>
          db
            .prepare(
              'UPDATE counter_samples SET packets = packets + 1 WHERE seq = (SELECT MIN(seq) FROM counter_samples WHERE seq >= ?)',
            )
            .run(seq).changes,
      ],
      [
        'delete a record',
        (db, seq) =>
          db.prepare('DELETE FROM records WHERE seq = ?').run(seq).changes ||
          db.prepare('DELETE FROM counter_samples WHERE seq = ?').run(seq).changes,
      ],
      [
        'change a record time',
        (db, seq) =>
          db.prepare('UPDATE records SET time_ms = time_ms + 1 WHERE seq = ?').run(seq).changes ||
          db.prepare('UPDATE counter_samples SET time_ms = time_ms + 1 WHERE seq = ?').run(seq).changes,
      ],
      [
        'rewrite a checkpoint root',
        (db) =>
          db
            .prepare(
              'UPDATE checkpoints SET root = zeroblob(32) WHERE tree_size = (SELECT MAX(tree_size) FROM checkpoints)',
            )
            .run().changes,
      ],
      [
        'append a record without its tree',
        (db) =>
          db
            .prepare(
              'INSERT INTO records (seq, kind, time_ms, leaf, leaf_hash) SELECT seq + 1000000, kind, time_ms, leaf, leaf_hash FROM records ORDER BY seq DESC LIMIT 1',
            )
            .run().changes,
      ],
    ];
    const picks = survivors.filter((_, i) => i % 2 === 0).slice(0, scaled(150, 30));
    for (const [n, source] of picks.entries()) {
      const [name, tamper] = tampers[n % tampers.length];
      const copy = `${source}-tampered.db`;
      const probe = new Database(source, { readonly: true });
      const size = probe
        .prepare(
          `SELECT (SELECT COUNT(*) FROM records)
                + (SELECT COUNT(*) FROM counter_samples WHERE leaf_hash IS NOT NULL)`,
        )
        .pluck()
        .get() as number;
      probe.close();
      if (size === 0) continue;
      // A tampered database must be self-contained: fold the WAL in before changing it.
      const src = new Database(source);
      src.pragma('wal_checkpoint(TRUNCATE)');
      src.close();
      writeFileSync(copy, readFileSync(source));
      const db = new Database(copy);
      const changed = tamper(db, Math.floor(Math.random() * size));
      db.close();
      if (changed === 0) continue;
      tamperTrials++;
      let log: EvidenceLog | undefined;
      try {
        log = EvidenceLog.open(copy);
        const result = log.verify({ publicKey: keys.publicKeyPem });
        if (result.ok) failures.push(`tamper "${name}" on ${source} not detected`);
        else tamperDetected++;
      } catch (err) {
        // Refusing to read a tampered log is detection too, if it says why.
        if (err instanceof EvidenceError) tamperDetected++;
        else failures.push(`tamper "${name}": ${(err as Error).message}`);
      } finally {
        log?.close();
      }
    }
    assert.ok(tamperTrials >= Math.min(10, picks.length / 2), `${tamperTrials} tamper trials`);
    assert.deepEqual(failures.slice(0, 5), []);
  });
});
