/**
 * Evidence store benchmarks, run by the project's bench script. Each row states its goal so a regression
 * is visible without reading the code. Everything runs in a fresh temporary directory that is removed.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair } from './checkpoint';
import { CounterSampleRecord, EvidenceRecord } from './records';
import { EvidenceLog } from './store';
import type { BenchRow } from '../bench';

const POLICY = 'c0ffee'.padEnd(64, '0');

function sample(i: number): CounterSampleRecord {
  const rule = i % 512;
  const round = Math.floor(i / 512);
  return {
    kind: 'counter_sample',
    time: 1_700_000_000_000 + i,
    device: `dpu-${rule % 4}`,
    table: 'egress_acl',
    ruleId: `r${rule}`,
    agent: `agent-${rule % 32}`,
    policyVersion: POLICY,
    packets: round * 10 + (rule % 7),
    bytes: round * 15_000 + rule,
  };
}

function mixed(i: number): EvidenceRecord {
  if (i % 50 !== 7) return sample(i);
  return {
    kind: 'denial',
    time: 1_700_000_000_000 + i,
    device: 'dpu-0',
    agent: `agent-${i % 32}`,
    srcIp: '10.0.0.5',
    dstIp: '203.0.113.9',
    srcPort: 40000 + (i % 1000),
    dstPort: 443,
    protocol: 6,
    reason: 'no matching allow rule',
    audit: false,
  };
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Appends through appendDurable: every promise resolves only after its group's FULL-sync commit. */
async function durableAppends(dir: string, count: number): Promise<number> {
  const log = EvidenceLog.open(join(dir, 'durable.db'), { groupCommit: { maxRecords: 2000, maxDelayMs: 5 } });
  try {
    const start = process.hrtime.bigint();
    const window = 20_000;
    for (let i = 0; i < count; i += window) {
      const inflight: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(count, i + window); j++) inflight.push(log.appendDurable(mixed(j)));
      await Promise.all(inflight);
    }
    return count / seconds(start);
  } finally {
    log.close();
  }
}

/**
 * Same counter samples, same batch size, same pragmas: once through the evidence log (canonical leaf,
 * leaf hash, Merkle nodes, projection) and once as plain rows in a flat table, which is what storing the
 * samples without evidence would cost.
 */
function ingestionVsRaw(dir: string, count: number, batch: number): { ours: number; raw: number } {
  const rows = Array.from({ length: count }, (_, i) => sample(i));
  const raw = new Database(join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  raw.exec(`CREATE TABLE samples (time_ms INTEGER, device TEXT, tbl TEXT, rule_id TEXT, agent TEXT,
    policy_version TEXT, packets INTEGER, bytes INTEGER)`);
  const ins = raw.prepare('INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const tx = raw.transaction((part: CounterSampleRecord[]) => {
    for (const r of part)
      ins.run(r.time, r.device, r.table, r.ruleId, r.agent, r.policyVersion, r.packets, r.bytes);
  });
  let start = process.hrtime.bigint();
  for (let i = 0; i < count; i += batch) tx(rows.slice(i, i + batch));
  const rawRate = count / seconds(start);
  raw.close();

  const log = EvidenceLog.open(join(dir, 'ingest.db'));
  start = process.hrtime.bigint();
  for (let i = 0; i < count; i += batch) log.appendBatch(rows.slice(i, i + batch));
  const ours = count / seconds(start);
  log.close();
  return { ours, raw: rawRate };
}

export async function benchEvidence(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nicguard-evidence-bench-'));
  const out: BenchRow[] = [];
  try {
    const durable = await durableAppends(dir, 200_000);
    out.push({
      name: 'evidence: durable group-committed appends',
      value: durable,
      unit: 'records/s',
      goal: '>= 100000',
    });

    const { ours, raw } = ingestionVsRaw(dir, 200_000, 2000);
    out.push({
      name: 'evidence: counter-sample ingestion vs plain better-sqlite3 insert',
      value: ours,
      unit: 'records/s',
      goal: 'ratio >= 0.5',
      ratio: ours / raw,
    });
    out.push({ name: 'evidence: plain better-sqlite3 insert (baseline)', value: raw, unit: 'rows/s' });

    const million = 1_000_000;
    const keys = generateSigningKeyPair();
    const log = EvidenceLog.open(join(dir, 'million.db'), {
      signer: { origin: 'bench.nicguard/evidence', privateKey: keys.privateKeyPem },
    });
    try {
      const batch = 5000;
      let start = process.hrtime.bigint();
      const part: EvidenceRecord[] = [];
      for (let i = 0; i < million; i++) {
        part.push(mixed(i));
        if (part.length === batch) log.appendBatch(part.splice(0));
      }
      const buildRate = million / seconds(start);
      out.push({
        name: 'evidence: 1M-record build (5000-record batches)',
        value: buildRate,
        unit: 'records/s',
      });
      log.checkpoint();

      const probes = 2000;
      let x = 12345;
      for (let i = 0; i < 200; i++) log.inclusionProof((i * 4999) % million); // warm the page cache
      start = process.hrtime.bigint();
      for (let i = 0; i < probes; i++) {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        log.inclusionProof(x % million);
      }
      out.push({
        name: 'evidence: inclusion proof at 1M leaves (incl. leaf and checkpoint)',
        value: (seconds(start) * 1000) / probes,
        unit: 'ms',
        goal: '<= 1',
      });

      start = process.hrtime.bigint();
      const result = log.verify();
      const verifySeconds = seconds(start);
      if (!result.ok) throw new Error(`bench log failed verification: ${result.problem.detail}`);
      out.push({
        name: 'evidence: full verify of 1M records',
        value: verifySeconds,
        unit: 's',
        goal: '<= 10',
      });
    } finally {
      log.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
