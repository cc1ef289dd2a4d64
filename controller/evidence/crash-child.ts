/**
 * Crash-test writer: appends to the evidence log at argv[2] until killed, printing "ack <seq> <leafHash>"
 * for the last record of each batch only after the call that wrote it has returned or resolved, i.e.
 * after its commit. The parent kills this process at random moments and checks every ack survived.
 */
import { writeSync } from 'node:fs';
import { EvidenceRecord } from './records';
import { EvidenceLog } from './store';

const POLICY = '5eed'.padEnd(64, '0');

function record(i: number): EvidenceRecord {
  if (i % 3 === 0) {
    return {
      kind: 'denial',
      time: 1_700_000_000_000 + i,
      device: 'dpu-crash',
      agent: `agent-${i % 5}`,
      srcIp: '10.9.0.1',
      dstIp: '192.0.2.1',
      srcPort: 1024 + (i % 60000),
      dstPort: 443,
      protocol: 17,
      reason: 'crash test',
      audit: i % 2 === 0,
    };
  }
  return {
    kind: 'counter_sample',
    time: 1_700_000_000_000 + i,
    device: 'dpu-crash',
    table: 'egress',
    ruleId: `r${i % 7}`,
    policyVersion: POLICY,
    packets: i,
    bytes: i * 100,
  };
}

function ack(seq: number, leafHash: Buffer): void {
  writeSync(1, `ack ${seq} ${leafHash.toString('hex')}\n`);
}

async function main(): Promise<void> {
  const path = process.argv[2];
  const key = process.env['EVIDENCE_CRASH_KEY'];
  if (!path || !key) throw new Error('usage: crash-child <db> (key in EVIDENCE_CRASH_KEY)');
  const log = EvidenceLog.open(path, {
    signer: { origin: 'crash.nicguard/evidence', privateKey: key },
    groupCommit: { maxRecords: 16, maxDelayMs: 1 },
  });
  for (let round = 0; ; round++) {
    const n = 1 + Math.floor(Math.random() * 40);
    const batch = Array.from({ length: n }, (_, j) => record(log.size + j));
    if (round % 2 === 0) {
      const results = log.appendBatch(batch);
      const last = results[results.length - 1];
      if (last) ack(last.seq, last.leafHash);
    } else {
      const results = await Promise.all(batch.map((r) => log.appendDurable(r)));
      const last = results[results.length - 1];
      if (last) ack(last.seq, last.leafHash);
    }
    if (round % 25 === 24) log.checkpoint();
  }
}

main().catch((e: unknown) => {
  writeSync(2, `${String(e)}\n`);
  process.exit(1);
});
