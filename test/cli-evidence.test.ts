// `nicguard evidence …` run as an auditor runs it: the built binary in a subprocess, against a log
// written here, checked by exit status, stdout, stderr and the files it writes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseTime } from '../cli/commands/evidence';
import {
  EvidenceLog,
  generateSigningKeyPair,
  loadPublicKey,
  noteKeyId,
  type EvidenceRecord,
} from '../controller/evidence';

const BIN = join(__dirname, '..', 'cli', 'nicguard.js');
const ORIGIN = 'nicguard.local/evidence';
const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 2, 14);
const VERSION = createHash('sha256').update('policy').digest('hex');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function nicguard(cwd: string, args: readonly string[], env: Record<string, string> = {}): Run {
  const base = { ...process.env };
  for (const name of ['NICGUARD_CONFIG', 'NICGUARD_EVIDENCE_DB', 'NICGUARD_SIGNING_KEY']) delete base[name];
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...base, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(r: Run): Record<string, unknown> {
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Twelve records over two hours: counters for one agent, a denial at seq 5, a device event. */
function records(): EvidenceRecord[] {
  const out: EvidenceRecord[] = [
    { kind: 'device_event', time: T0, device: 'dpu-0', event: 'connected', detail: { profile: 'softnic' } },
  ];
  for (let i = 1; i < 12; i++) {
    const time = T0 + i * 10 * 60_000;
    if (i === 5) {
      out.push({
        kind: 'denial',
        time,
        device: 'dpu-0',
        agent: 'research',
        srcIp: '10.1.0.7',
        dstIp: '198.51.100.3',
        srcPort: 40000,
        dstPort: 443,
        protocol: 6,
        reason: 'NO_MATCH',
        audit: false,
      });
    } else {
      out.push({
        kind: 'counter_sample',
        time,
        device: 'dpu-0',
        table: 'ingress.acl_v4',
        ruleId: '3',
        ruleName: 'llm',
        agent: 'research',
        policyVersion: VERSION,
        packets: i * 10,
        bytes: i * 1500,
      });
    }
  }
  return out;
}

describe('nicguard evidence (CLI)', function () {
  this.timeout(60_000);
  let dir: string;
  let db: string;
  let pub: string;
  let priv: string;
  let otherPub: string;
  const keys = generateSigningKeyPair();
  let rootHash: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-evidence-'));
    db = join(dir, 'evidence.db');
    pub = join(dir, 'log.pub.pem');
    priv = join(dir, 'log.pem');
    otherPub = join(dir, 'other.pub.pem');
    writeFileSync(pub, keys.publicKeyPem);
    writeFileSync(priv, keys.privateKeyPem, { mode: 0o600 });
    writeFileSync(otherPub, generateSigningKeyPair().publicKeyPem);
    const log = EvidenceLog.open(db, { signer: { origin: ORIGIN, privateKey: keys.privateKeyPem } });
    log.appendBatch(records());
    log.checkpoint();
    rootHash = log.root().toString('hex');
    log.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of the log whose record `seq` has had its leaf edited in place. */
  function tampered(name: string, seq: number, edit: (body: string) => string): string {
    const copy = join(dir, name);
    copyFileSync(db, copy);
    const log = EvidenceLog.open(copy);
    const leaf = log.leaf(seq) as Buffer;
    log.close();
    const sql = new Database(copy);
    const changed = Buffer.concat([
      leaf.subarray(0, 18),
      Buffer.from(edit(leaf.subarray(18).toString('utf8'))),
    ]);
    assert.notDeepEqual(changed, leaf);
    if (sql.prepare('UPDATE records SET leaf = ? WHERE seq = ?').run(changed, seq).changes === 0) {
      // A counter sample is stored as its counter_samples row alone: the edited leaf goes where version 1
      // stored leaves, a records row, with the sample's leaf hash.
      sql
        .prepare(
          `INSERT INTO records (seq, kind, time_ms, leaf, leaf_hash)
           SELECT seq, 'counter_sample', time_ms, ?, leaf_hash FROM counter_samples WHERE seq = ?`,
        )
        .run(changed, seq);
      sql.prepare('UPDATE counter_samples SET leaf_hash = NULL WHERE seq = ?').run(seq);
    }
    sql.close();
    return copy;
  }

  describe('keygen', () => {
    it('writes a private key only its owner can read and prints the public key path and key id', () => {
      const r = nicguard(dir, ['evidence', 'keygen', '--out-dir', 'keys']);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      const publicPath = join(dir, 'keys', 'evidence-signing.pub.pem');
      const privatePath = join(dir, 'keys', 'evidence-signing.pem');
      assert.equal(lines[0], publicPath);
      assert.equal(statSync(privatePath).mode & 0o777, 0o600);
      const keyId = noteKeyId(ORIGIN, loadPublicKey(readFileSync(publicPath, 'utf8'))).toString('hex');
      assert.match(r.stdout, new RegExp(`key id ${keyId} for origin ${ORIGIN}`));
      // The two files are halves of one pair.
      assert.equal(
        loadPublicKey(readFileSync(privatePath, 'utf8')).export({ type: 'spki', format: 'pem' }),
        readFileSync(publicPath, 'utf8'),
      );
    });

    it('answers --json with the paths, key id and origin', () => {
      const r = nicguard(dir, [
        '--json',
        'evidence',
        'keygen',
        '--out-dir',
        'keys-json',
        '--origin',
        'audit.example/log',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const out = json(r);
      assert.deepEqual(Object.keys(out).sort(), ['keyId', 'origin', 'privateKey', 'publicKey']);
      assert.equal(out['origin'], 'audit.example/log');
      const publicKey = loadPublicKey(readFileSync(String(out['publicKey']), 'utf8'));
      assert.equal(out['keyId'], noteKeyId('audit.example/log', publicKey).toString('hex'));
    });

    it('refuses to replace an existing key unless forced', () => {
      const first = readFileSync(join(dir, 'keys', 'evidence-signing.pem'), 'utf8');
      const r = nicguard(dir, ['evidence', 'keygen', '--out-dir', 'keys']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /already exists/);
      assert.match(r.stderr, /--force/);
      assert.equal(readFileSync(join(dir, 'keys', 'evidence-signing.pem'), 'utf8'), first);
      const forced = nicguard(dir, ['evidence', 'keygen', '--out-dir', 'keys', '--force']);
      assert.equal(forced.status, 0, forced.stderr);
      assert.notEqual(readFileSync(join(dir, 'keys', 'evidence-signing.pem'), 'utf8'), first);
    });

    it('refuses an origin that cannot name a log', () => {
      const r = nicguard(dir, ['evidence', 'keygen', '--out-dir', 'keys-bad', '--origin', 'two words']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /cannot name a log/);
      assert.equal(existsSync(join(dir, 'keys-bad')), false);
    });
  });

  describe('verify', () => {
    it('passes an intact log, pinned to the given key', () => {
      const r = nicguard(dir, ['evidence', 'verify', '--db', db, '--public-key', pub]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /evidence log verified: 12 records, 1 checkpoint/);
      assert.match(r.stdout, new RegExp(rootHash));
      // Not a terminal: no progress on stderr.
      assert.equal(r.stderr, '');
    });

    it('answers --json with the counts, root and where the key came from', () => {
      const r = nicguard(dir, ['--json', 'evidence', 'verify', '--public-key', pub], {
        NICGUARD_EVIDENCE_DB: db,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(json(r), {
        ok: true,
        database: db,
        records: 12,
        checkpoints: 1,
        treeSize: 12,
        rootHash,
        signaturesChecked: true,
        keySource: 'option',
      });
    });

    it('exits 4 naming the record whose leaf was edited', () => {
      const bad = tampered('edited.db', 5, (body) => body.replace('"dstPort":443', '"dstPort":444'));
      const r = nicguard(dir, ['evidence', 'verify', '--db', bad, '--public-key', pub]);
      assert.equal(r.status, 4);
      assert.match(r.stdout, /FAILED/);
      assert.match(r.stdout, /record 5 \(denial\): LEAF_HASH_MISMATCH/);
      const j = nicguard(dir, ['--json', 'evidence', 'verify', '--db', bad, '--public-key', pub]);
      assert.equal(j.status, 4);
      const problem = json(j)['problem'] as Record<string, unknown>;
      assert.equal(problem['code'], 'LEAF_HASH_MISMATCH');
      assert.equal(problem['seq'], 5);
      assert.equal(problem['kind'], 'denial');
    });

    it('exits 4 when the checkpoints were not signed by the pinned key', () => {
      const r = nicguard(dir, ['--json', 'evidence', 'verify', '--db', db, '--public-key', otherPub]);
      assert.equal(r.status, 4);
      assert.equal((json(r)['problem'] as Record<string, unknown>)['code'], 'BAD_SIGNATURE');
    });

    it('exits 2 and says where to point when there is no database', () => {
      const r = nicguard(dir, ['evidence', 'verify', '--db', join(dir, 'missing.db')]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /no evidence log at .*missing\.db/);
      assert.match(r.stderr, /--db/);
      assert.equal(existsSync(join(dir, 'missing.db')), false);
    });

    it('exits 2 for an unreadable key and for a file that is not an evidence log', () => {
      const key = nicguard(dir, ['evidence', 'verify', '--db', db, '--public-key', join(dir, 'nope.pem')]);
      assert.equal(key.status, 2);
      assert.match(key.stderr, /cannot read public key .*nope\.pem: ENOENT/);
      const notKey = nicguard(dir, ['evidence', 'verify', '--db', db, '--public-key', db]);
      assert.equal(notKey.status, 2);
      assert.match(notKey.stderr, /not a usable public key/);
      const text = join(dir, 'notes.txt');
      writeFileSync(text, 'not a database at all, just some text that is long enough');
      const notDb = nicguard(dir, ['--json', 'evidence', 'verify', '--db', text]);
      assert.equal(notDb.status, 2);
      assert.match(notDb.stderr, /not a nicguard evidence log/);
      assert.equal((json(notDb)['error'] as Record<string, unknown>)['exitCode'], 2);
    });
  });

  describe('prove and check-proof', () => {
    it('round-trips: a proof written by prove checks with the public key alone', () => {
      const p = nicguard(dir, ['evidence', 'prove', '5', '--db', db, '--out', 'proof-5.json']);
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stdout, /proof of record 5 \(denial at 2025-03-14T00:50:00Z\)/);
      assert.match(p.stdout, /proof-5\.json/);
      const c = nicguard(dir, [
        'evidence',
        'check-proof',
        'proof-5.json',
        '--public-key',
        pub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(c.status, 0, c.stderr);
      assert.match(
        c.stdout,
        /proof valid: record 5 \(denial at 2025-03-14T00:50:00Z\) is in log nicguard\.local\/evidence of 12 records/,
      );
      assert.match(c.stdout, /"dstIp":"198\.51\.100\.3"/);
    });

    it('answers --json for both, with the bundle and the checked record', () => {
      const p = nicguard(dir, ['--json', 'evidence', 'prove', '3', '--db', db, '--out', 'proof-3.json']);
      assert.equal(p.status, 0, p.stderr);
      const out = json(p);
      assert.equal(out['seq'], 3);
      assert.equal(out['kind'], 'counter_sample');
      assert.equal(out['treeSize'], 12);
      assert.equal(out['origin'], ORIGIN);
      assert.equal(out['out'], join(dir, 'proof-3.json'));
      assert.deepEqual(out['proof'], JSON.parse(readFileSync(join(dir, 'proof-3.json'), 'utf8')));
      const c = nicguard(dir, [
        '--json',
        'evidence',
        'check-proof',
        'proof-3.json',
        '--public-key',
        pub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(c.status, 0, c.stderr);
      const checked = json(c);
      assert.equal(checked['valid'], true);
      assert.equal(checked['leafIndex'], 3);
      assert.equal(checked['rootHash'], rootHash);
      assert.equal((checked['record'] as Record<string, unknown>)['kind'], 'counter_sample');
    });

    it('prints the bundle itself when no file is named', () => {
      const p = nicguard(dir, ['evidence', 'prove', '0', '--db', db, '--no-leaf']);
      assert.equal(p.status, 0, p.stderr);
      const bundle = JSON.parse(p.stdout) as Record<string, unknown>;
      assert.equal(bundle['format'], 'nicguard-inclusion-proof/1');
      assert.equal(bundle['leafIndex'], 0);
      assert.equal(bundle['leaf'], undefined);
      writeFileSync(join(dir, 'proof-0.json'), p.stdout);
      const c = nicguard(dir, [
        'evidence',
        'check-proof',
        'proof-0.json',
        '--public-key',
        pub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(c.status, 0, c.stderr);
      assert.match(c.stdout, /proves the leaf hash only/);
    });

    it('check-proof exits 4 with another key, another origin, or an altered proof', () => {
      const wrongKey = nicguard(dir, [
        'evidence',
        'check-proof',
        'proof-5.json',
        '--public-key',
        otherPub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(wrongKey.status, 4);
      assert.match(wrongKey.stdout, /proof INVALID: BAD_SIGNATURE/);
      const wrongOrigin = nicguard(dir, [
        '--json',
        'evidence',
        'check-proof',
        'proof-5.json',
        '--public-key',
        pub,
        '--origin',
        'other.example/log',
      ]);
      assert.equal(wrongOrigin.status, 4);
      assert.equal(json(wrongOrigin)['valid'], false);
      const bundle = JSON.parse(readFileSync(join(dir, 'proof-5.json'), 'utf8')) as {
        leafIndex: number;
        leaf?: string;
      };
      writeFileSync(join(dir, 'moved.json'), JSON.stringify({ ...bundle, leafIndex: 4, leaf: undefined }));
      const moved = nicguard(dir, [
        '--json',
        'evidence',
        'check-proof',
        'moved.json',
        '--public-key',
        pub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(moved.status, 4);
      assert.equal((json(moved)['problem'] as Record<string, unknown>)['code'], 'BAD_PROOF');
    });

    it('check-proof exits 2 for malformed JSON, a non-bundle, a missing key or origin', () => {
      writeFileSync(join(dir, 'broken.json'), '{"format": ');
      const broken = nicguard(dir, [
        'evidence',
        'check-proof',
        'broken.json',
        '--public-key',
        pub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(broken.status, 2);
      assert.match(broken.stderr, /broken\.json is not JSON/);
      assert.match(broken.stderr, /nicguard evidence prove/);
      writeFileSync(join(dir, 'other.json'), '{"hello": "world"}');
      const other = nicguard(dir, [
        'evidence',
        'check-proof',
        'other.json',
        '--public-key',
        pub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(other.status, 2);
      assert.match(other.stderr, /not an inclusion proof bundle: format is undefined/);
      const noOrigin = nicguard(dir, ['evidence', 'check-proof', 'proof-5.json', '--public-key', pub]);
      assert.equal(noOrigin.status, 2);
      assert.match(noOrigin.stderr, /needs --origin/);
      const noFile = nicguard(dir, [
        'evidence',
        'check-proof',
        'absent.json',
        '--public-key',
        pub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(noFile.status, 2);
      assert.match(noFile.stderr, /cannot read absent\.json: ENOENT/);
    });

    it('prove exits 2 for a bad record number or one beyond the log', () => {
      const word = nicguard(dir, ['evidence', 'prove', 'five', '--db', db]);
      assert.equal(word.status, 2);
      assert.match(word.stderr, /"five" is not a record number/);
      const beyond = nicguard(dir, ['evidence', 'prove', '12', '--db', db]);
      assert.equal(beyond.status, 2);
      assert.match(beyond.stderr, /no record 12: the log holds 12 record/);
    });

    it('prove asks for a checkpoint when none covers the record, and signs one with --checkpoint', () => {
      const grown = join(dir, 'grown.db');
      copyFileSync(db, grown);
      const log = EvidenceLog.open(grown);
      log.append({ kind: 'device_event', time: T0 + 3 * HOUR, device: 'dpu-0', event: 'lost' });
      log.close();
      const uncovered = nicguard(dir, ['evidence', 'prove', '12', '--db', grown]);
      assert.equal(uncovered.status, 2);
      assert.match(uncovered.stderr, /not covered by a signed checkpoint/);
      assert.match(uncovered.stderr, /--checkpoint/);
      const signed = nicguard(
        dir,
        ['evidence', 'prove', '12', '--db', grown, '--checkpoint', '--out', 'proof-12.json'],
        {
          NICGUARD_SIGNING_KEY: priv,
        },
      );
      assert.equal(signed.status, 0, signed.stderr);
      const c = nicguard(dir, [
        'evidence',
        'check-proof',
        'proof-12.json',
        '--public-key',
        pub,
        '--origin',
        ORIGIN,
      ]);
      assert.equal(c.status, 0, c.stderr);
      assert.match(c.stdout, /record 12 \(device_event/);
    });
  });

  describe('report', () => {
    const period = ['--from', '2025-03-14T00:00:00Z', '--to', '2025-03-14T02:00:00Z'];

    it('writes an HTML report under a default name in the working directory and prints its path', () => {
      const r = nicguard(dir, ['evidence', 'report', '--db', db, '--public-key', pub, ...period]);
      assert.equal(r.status, 0, r.stderr);
      const path = join(dir, 'nicguard-report-20250314T0000Z-20250314T0200Z.html');
      assert.equal(r.stdout.split('\n')[0], path);
      assert.match(r.stdout, /at least 1 denial/);
      assert.match(r.stdout, /evidence log verified/);
      const html = readFileSync(path, 'utf8');
      assert.match(html, /^<!DOCTYPE html>/i);
      assert.match(html, /research/);
      assert.match(html, /Evidence log verified/);
    });

    it('prints the report data with --json', () => {
      const r = nicguard(dir, [
        '--json',
        'evidence',
        'report',
        '--db',
        db,
        '--public-key',
        pub,
        ...period,
        '--title',
        'Morning',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const data = json(r);
      assert.equal(data['title'], 'Morning');
      assert.equal(data['from'], '2025-03-14T00:00:00Z');
      assert.equal(data['to'], '2025-03-14T02:00:00Z');
      const log = data['log'] as Record<string, unknown>;
      assert.equal(log['verified'], true);
      assert.equal(log['records'], 12);
      const agents = data['agents'] as {
        name: string;
        bytesOut: number;
        denials: { total: number; bestEffort: boolean };
      }[];
      assert.deepEqual(
        agents.map((a) => a.name),
        ['research'],
      );
      // Counters read 16500 bytes at 01:50 and started from zero.
      assert.equal(agents[0]?.bytesOut, 16_500);
      assert.deepEqual(agents[0]?.denials, { ...agents[0]?.denials, total: 1, bestEffort: true });
    });

    it('writes the JSON form to --out and answers with where it went', () => {
      const r = nicguard(dir, [
        '--json',
        'evidence',
        'report',
        '--db',
        db,
        '--no-verify',
        ...period,
        '--out',
        'r.json',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const out = json(r);
      assert.equal(out['out'], join(dir, 'r.json'));
      assert.equal(out['verified'], null);
      const data = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { log: { verified: unknown } };
      assert.equal(data.log.verified, null);
    });

    it('exits 4 and says so in the report when the log fails verification', () => {
      const bad = tampered('report-edited.db', 2, (body) => body.replace('"bytes":3000', '"bytes":3001'));
      const r = nicguard(dir, [
        'evidence',
        'report',
        '--db',
        bad,
        '--public-key',
        pub,
        ...period,
        '--out',
        'bad.html',
      ]);
      assert.equal(r.status, 4);
      assert.match(r.stdout, /FAILED verification: record 2 \(counter_sample\)/);
      assert.match(readFileSync(join(dir, 'bad.html'), 'utf8'), /FAILED verification/);
    });

    it('exits 2 for a time it cannot read and for a period that ends before it starts', () => {
      const word = nicguard(dir, ['evidence', 'report', '--db', db, '--from', 'yesterday']);
      assert.equal(word.status, 2);
      assert.match(word.stderr, /--from "yesterday" is not a time/);
      assert.match(word.stderr, /-24h/);
      const reversed = nicguard(dir, ['evidence', 'report', '--db', db, '--from', 'now', '--to', '-1h']);
      assert.equal(reversed.status, 2);
      assert.match(reversed.stderr, /ends .* before it starts/);
    });
  });

  describe('export', () => {
    it('streams every record with its leaf hash, then the checkpoints, to stdout', () => {
      const r = nicguard(dir, ['evidence', 'export', '--jsonl', '--db', db]);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const recs = lines.filter((l) => l['type'] === 'record');
      assert.equal(recs.length, 12);
      assert.deepEqual(
        recs.map((l) => l['seq']),
        [...Array(12).keys()],
      );
      for (const l of recs) {
        const leaf = Buffer.from(String(l['leaf']), 'base64');
        const hash = createHash('sha256')
          .update(Buffer.from([0]))
          .update(leaf)
          .digest('hex');
        assert.equal(l['leafHash'], hash);
      }
      assert.deepEqual(
        lines.filter((l) => l['type'] === 'checkpoint').map((l) => [l['treeSize'], l['rootHash']]),
        [[12, rootHash]],
      );
    });

    it('writes to --out and answers --json with the counts', () => {
      const r = nicguard(dir, ['--json', 'evidence', 'export', '--jsonl', '--db', db, '--out', 'all.jsonl']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(json(r), {
        out: join(dir, 'all.jsonl'),
        format: 'jsonl',
        records: 12,
        checkpoints: 1,
        lines: 13,
      });
      assert.equal(readFileSync(join(dir, 'all.jsonl'), 'utf8').trim().split('\n').length, 13);
    });

    it('exits 2 without a format, and for --json with the export on stdout', () => {
      const noFormat = nicguard(dir, ['evidence', 'export', '--db', db]);
      assert.equal(noFormat.status, 2);
      assert.match(noFormat.stderr, /--jsonl/);
      const mixed = nicguard(dir, ['--json', 'evidence', 'export', '--jsonl', '--db', db]);
      assert.equal(mixed.status, 2);
      assert.match(mixed.stderr, /--out/);
      const missing = nicguard(dir, ['evidence', 'export', '--jsonl', '--db', join(dir, 'gone.db')]);
      assert.equal(missing.status, 2);
      assert.match(missing.stderr, /no evidence log at/);
    });
  });
});

describe('parseTime', () => {
  const now = Date.UTC(2025, 2, 14, 12, 0, 0);

  it('reads now, relative times and ISO 8601, treating a date-time without offset as UTC', () => {
    assert.equal(parseTime('now', now), now);
    assert.equal(parseTime('-24h', now), now - 24 * HOUR);
    assert.equal(parseTime('now-30m', now), now - 30 * 60_000);
    assert.equal(parseTime('+1d', now), now + 24 * HOUR);
    assert.equal(parseTime('-2w', now), now - 14 * 24 * HOUR);
    assert.equal(parseTime('2025-03-14', now), T0);
    assert.equal(parseTime('2025-03-14T09:00', now), T0 + 9 * HOUR);
    assert.equal(parseTime('2025-03-14T09:00:00Z', now), T0 + 9 * HOUR);
    assert.equal(parseTime('2025-03-14T09:00:00+01:00', now), T0 + 8 * HOUR);
  });

  it('refuses anything else', () => {
    for (const text of ['yesterday', '24h', '-h', '2025-13-40', '2025-03-14T25:00Z', '', '-5y']) {
      assert.equal(parseTime(text, now), undefined, text);
    }
  });
});
