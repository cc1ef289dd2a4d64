import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateSigningKeyPair } from './checkpoint';
import { EvidenceLog } from './store';

const CHILD = join(__dirname, 'crash-child.js');
const LANES = 2;
const KILLS_PER_LANE = 26;

interface Ack {
  seq: number;
  leafHash: string;
}

/** Runs the writer until it has acknowledged at least once, then SIGKILLs it after a random delay. */
function runAndKill(path: string, key: string): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, path], {
      env: { ...process.env, EVIDENCE_CRASH_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!armed && out.includes('\n')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), 5 + Math.random() * 120);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited on its own: ${err}`));
      const acks = out
        .split('\n')
        .filter((l) => l.startsWith('ack ') && l.split(' ').length === 3)
        .map((l) => {
          const [, seq, leafHash] = l.split(' ') as [string, string, string];
          return { seq: Number(seq), leafHash };
        });
      resolve(acks);
    });
  });
}

async function lane(dir: string, lane: number, key: string): Promise<number> {
  const path = join(dir, `crash-${lane}.db`);
  let kills = 0;
  let lastAck = -1;
  for (let i = 0; i < KILLS_PER_LANE; i++) {
    const acks = await runAndKill(path, key);
    kills++;
    const raw = new Database(path);
    try {
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      // A counter sample is stored as its counter_samples row alone, leaf hash included.
      const hashOf = raw
        .prepare(
          `SELECT leaf_hash FROM records WHERE seq = @seq
           UNION ALL SELECT leaf_hash FROM counter_samples WHERE seq = @seq AND leaf_hash IS NOT NULL`,
        )
        .pluck();
      for (const a of acks) {
        const stored = hashOf.get({ seq: a.seq }) as Buffer | undefined;
        assert.ok(stored, `acknowledged record ${a.seq} is gone after kill ${kills}`);
        assert.equal(stored.toString('hex'), a.leafHash, `acknowledged record ${a.seq} changed`);
      }
    } finally {
      raw.close();
    }
    const log = EvidenceLog.open(path);
    try {
      const result = log.verify();
      assert.ok(result.ok, `verify after kill ${kills}: ${JSON.stringify(result)}`);
      const newest = acks[acks.length - 1]?.seq ?? lastAck;
      assert.ok(log.size > newest, `log has ${log.size} records, ack was ${newest}`);
      lastAck = Math.max(lastAck, newest);
    } finally {
      log.close();
    }
  }
  return kills;
}

describe('EvidenceLog crash safety', function () {
  this.timeout(60000);

  it(`keeps every acknowledged record through ${LANES * KILLS_PER_LANE} SIGKILLs`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nicguard-evidence-crash-'));
    try {
      const key = generateSigningKeyPair().privateKeyPem;
      const kills = await Promise.all(Array.from({ length: LANES }, (_, i) => lane(dir, i, key)));
      assert.equal(
        kills.reduce((a, b) => a + b, 0),
        LANES * KILLS_PER_LANE,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
