import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceLog, generateSigningKeyPair, type EvidenceRecord } from '../evidence';
import { canonicalJson, canonicalPolicy, policyVersion } from '../policy/canonical';
import type { PolicySet } from '../policy/model';
import {
  bucketSize,
  buildReportData,
  forEachRecord,
  policyFacts,
  ReportBuildError,
  UNATTRIBUTED,
  type EvidenceReportData,
} from './from-evidence';
import { checkReportData, renderReportHtml } from './report';

const ORIGIN = 'test.nicguard/evidence';
const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 2, 14);
const T1 = T0 + 24 * HOUR;

function agent(name: string, port: number, mode: 'enforce' | 'audit', threshold?: number) {
  return {
    name,
    port,
    mac: `02:00:00:00:00:0${port}`,
    ipv4: [`10.1.0.${port}`],
    ipv6: [],
    mode,
    ...(threshold !== undefined ? { exfiltrationThreshold: threshold } : {}),
  };
}

const rule = {
  agents: [] as string[],
  groups: [] as string[],
  destinations: [] as string[],
  cidrs: [] as { cidr: string; except: string[] }[],
  fqdns: [] as string[],
  ports: [] as { protocol: 'TCP'; port: number }[],
  trusted: false,
  mode: 'enforce' as const,
};

const POLICY_1: PolicySet = {
  uplinkPort: 0,
  agents: [agent('research', 1, 'enforce', 1_048_576), agent('billing', 2, 'audit')],
  groups: [],
  destinations: [
    {
      name: 'llm-api',
      cidrs: [{ cidr: '203.0.113.0/24', except: [] }],
      fqdns: [],
      sensitive: false,
      quota: { bytes: 1000, windowSeconds: 3600 },
    },
  ],
  rules: [
    {
      ...rule,
      name: 'llm',
      agents: ['research'],
      destinations: ['llm-api'],
      ports: [{ protocol: 'TCP', port: 443 }],
      action: 'allow',
    },
    {
      ...rule,
      name: 'block-ssh',
      agents: ['billing', 'research'],
      cidrs: [{ cidr: '0.0.0.0/0', except: [] }],
      ports: [{ protocol: 'TCP', port: 22 }],
      action: 'deny',
    },
  ],
  sensitiveSources: [],
};
const POLICY_2: PolicySet = { ...POLICY_1, rules: POLICY_1.rules.slice(0, 1) };
const V1 = policyVersion(POLICY_1);
const V2 = policyVersion(POLICY_2);

function sample(
  time: number,
  ruleId: string,
  packets: number,
  bytes: number,
  extra: Partial<EvidenceRecord> = {},
): EvidenceRecord {
  return {
    kind: 'counter_sample',
    time,
    device: 'dpu-0',
    table: 'ingress.acl_v4',
    ruleId,
    policyVersion: V1,
    packets,
    bytes,
    ...extra,
  } as EvidenceRecord;
}

function denial(
  time: number,
  agentName: string,
  reason: string,
  audit: boolean,
  ruleId?: string,
): EvidenceRecord {
  return {
    kind: 'denial',
    time,
    device: 'dpu-0',
    agent: agentName,
    srcIp: '10.1.0.1',
    dstIp: '198.51.100.9',
    srcPort: 40000,
    dstPort: 22,
    protocol: 6,
    reason,
    audit,
    policyVersion: V1,
    ...(ruleId !== undefined ? { ruleId } : {}),
  };
}

/** A day of evidence with records before, in and after the period. */
function scenario(): EvidenceRecord[] {
  const llm = { ruleName: 'llm', agent: 'research' };
  const ssh = { ruleName: 'block-ssh', agent: 'research' };
  return [
    {
      kind: 'device_event',
      time: T0 - 2 * HOUR,
      device: 'dpu-0',
      event: 'connected',
      detail: { profile: 'bluefield-dpl' },
    },
    {
      kind: 'policy_version',
      time: T0 - HOUR,
      policyHash: V1,
      text: canonicalJson(canonicalPolicy(POLICY_1)),
      author: 'secops@example',
    },
    {
      kind: 'push',
      time: T0 - HOUR + 1,
      device: 'dpu-0',
      pipelineCookie: 7,
      policyVersion: V1,
      entriesWritten: 10,
      outcome: 'ok',
      durationUs: 4000,
    },
    // Counted before the period: its 1000 bytes are not the period's.
    sample(T0 - HOUR / 2, '7', 10, 1000, llm),
    sample(T0 + HOUR, '7', 30, 5000, llm),
    // A new counter lifetime: its whole reading is traffic of the period.
    sample(T0 + 2 * HOUR, '7', 5, 700, { ...llm, epoch: 'boot-2' }),
    sample(T0 + 3 * HOUR, '8', 2, 120, ssh),
    sample(T0 + 4 * HOUR, '99', 1, 50),
    denial(T0 + HOUR + 5, 'research', 'DENY_RULE', false, '8'),
    denial(T0 + HOUR + 6, 'research', 'DENY_RULE', false, '8'),
    denial(T0 + 3 * HOUR, 'research', 'EXFIL', false),
    denial(T0 + 7 * HOUR, 'billing', 'NO_MATCH', true),
    denial(T0 + 8 * HOUR, 'billing', 'NO_MATCH', true),
    {
      kind: 'quota_window',
      time: T0 + 2 * HOUR,
      device: 'dpu-0',
      slot: 0,
      ruleId: '7',
      agent: 'research',
      policyVersion: V1,
      windowStart: T0 + HOUR,
      windowEnd: T0 + 2 * HOUR,
      bytesUsed: 1200,
      quotaBytes: 1000,
      drops: 4,
      exhausted: true,
    },
    {
      kind: 'quota_window',
      time: T0 + 3 * HOUR,
      device: 'dpu-0',
      slot: 0,
      ruleId: '7',
      agent: 'research',
      policyVersion: V1,
      windowStart: T0 + 2 * HOUR,
      windowEnd: T0 + 3 * HOUR,
      bytesUsed: 300,
      quotaBytes: 1000,
      drops: 0,
      exhausted: false,
    },
    {
      kind: 'policy_version',
      time: T0 + 5 * HOUR,
      policyHash: V2,
      text: canonicalJson(canonicalPolicy(POLICY_2)),
      author: 'secops@example',
    },
    {
      kind: 'push',
      time: T0 + 5 * HOUR + 1,
      device: 'dpu-0',
      pipelineCookie: 8,
      policyVersion: V2,
      entriesWritten: 6,
      outcome: 'failed',
      error: 'RESOURCE_EXHAUSTED',
      durationUs: 2500,
    },
    {
      kind: 'device_event',
      time: T0 + 6 * HOUR,
      device: 'dpu-0',
      event: 'drift_found',
      detail: { entries: 2 },
    },
    { kind: 'device_event', time: T0 + 6 * HOUR, device: 'dpu-1', event: 'lost' },
    // After the period.
    sample(T1, '7', 50, 9000, { ...llm, epoch: 'boot-2' }),
    denial(T1 + 1, 'research', 'DENY_RULE', false, '8'),
  ];
}

describe('report data from the evidence log', () => {
  let dir: string;
  let log: EvidenceLog;
  const keys = generateSigningKeyPair();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'from-evidence-'));
    log = EvidenceLog.open(join(dir, 'evidence.db'), {
      signer: { origin: ORIGIN, privateKey: keys.privateKeyPem },
    });
  });
  afterEach(() => {
    log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function build(verify?: string | boolean): EvidenceReportData {
    log.appendBatch(scenario());
    log.checkpoint();
    return buildReportData(log, {
      from: T0,
      to: T1,
      title: 'Daily',
      now: T1 + 60_000,
      ...(verify !== undefined ? { verify } : {}),
    });
  }

  it('totals each rule from counter deltas inside the period, under the version that counted them', () => {
    const data = build();
    const research = data.agents.find((a) => a.name === 'research');
    assert.ok(research);
    assert.deepEqual(
      research.rules.map((r) => [r.rule, r.action, r.policyVersion, r.bytes, r.packets]),
      [
        ['llm', 'allow', V1, 4000 + 700, 20 + 5],
        ['block-ssh', 'deny', V1, 120, 2],
      ],
    );
    const llm = research.rules[0];
    assert.equal(llm?.destination, 'llm-api (tcp/443)');
    assert.deepEqual(llm?.quota, { budgetBytes: 1000, window: '1h' });
    // Bytes a deny rule counted were stopped, so they are not bytes out.
    assert.equal(research.bytesOut, 4700);
    assert.equal(research.packetsOut, 25);
  });

  it('draws a timeline whose buckets hold the allowed bytes and denials of their time', () => {
    const data = build();
    const research = data.agents.find((a) => a.name === 'research');
    assert.ok(research);
    const size = bucketSize(T1 - T0);
    assert.equal(research.timeline.length, Math.ceil((T1 - T0) / size));
    const at = (ms: number) => research.timeline[Math.floor((ms - T0) / size)];
    assert.equal(at(T0 + HOUR)?.bytesOut, 4000);
    assert.equal(at(T0 + HOUR)?.denied, 2);
    assert.equal(at(T0 + 2 * HOUR)?.bytesOut, 700);
    assert.equal(at(T0 + 3 * HOUR)?.bytesOut, 0);
    assert.equal(at(T0 + 3 * HOUR)?.denied, 1);
    assert.equal(
      research.timeline.reduce((s, p) => s + p.bytesOut, 0),
      research.bytesOut,
    );
    assert.equal(research.timeline[0]?.time, '2025-03-14T00:00:00Z');
  });

  it('reports denials as best-effort counts with rule names learnt from the samples', () => {
    const data = build();
    const research = data.agents.find((a) => a.name === 'research');
    assert.ok(research);
    assert.equal(research.denials.total, 3);
    assert.equal(research.denials.bestEffort, true);
    assert.deepEqual(research.denials.byReason, { DENY_RULE: 2, EXFIL: 1 });
    assert.deepEqual(
      research.denials.samples.map((s) => [s.time, s.rule, s.reason, s.protocol, s.dst, s.dstPort]),
      [
        ['2025-03-14T03:00:00Z', '—', 'EXFIL', 'TCP', '198.51.100.9', 22],
        ['2025-03-14T01:00:00.006Z', 'block-ssh', 'DENY_RULE', 'TCP', '198.51.100.9', 22],
        ['2025-03-14T01:00:00.005Z', 'block-ssh', 'DENY_RULE', 'TCP', '198.51.100.9', 22],
      ],
    );
    assert.deepEqual(research.exfiltration, {
      sensitiveBytes: 1_048_576,
      thresholdBytes: 1_048_576,
      tripped: true,
    });
    const billing = data.agents.find((a) => a.name === 'billing');
    assert.equal(billing?.mode, 'audit');
    assert.equal(billing?.denials.total, 2);
    assert.equal(billing?.exfiltration, undefined);
    assert.ok(billing?.denials.samples.every((s) => s.audit));
  });

  it('lists only exhausted quota windows, with the rule name and budget', () => {
    const research = build().agents.find((a) => a.name === 'research');
    assert.deepEqual(research?.quotaHits, [
      {
        rule: 'llm',
        windowStart: '2025-03-14T01:00:00Z',
        windowEnd: '2025-03-14T02:00:00Z',
        budgetBytes: 1000,
        usedBytes: 1200,
        drops: 4,
      },
    ]);
  });

  it('keeps traffic of rules without an agent, last, and agents of the policy in force that sent nothing', () => {
    const data = build();
    assert.deepEqual(
      data.agents.map((a) => a.name),
      ['billing', 'research', UNATTRIBUTED],
    );
    const stray = data.agents[2];
    assert.deepEqual(
      stray?.rules.map((r) => [r.rule, r.bytes, r.destination]),
      [['rule #99', 50, 'unknown (no policy text in the log)']],
    );
    assert.deepEqual(
      data.agents.map((a) => a.agentId),
      [1, 2, 3],
    );
  });

  it('summarises policy versions and device events of the period', () => {
    const data = build();
    assert.deepEqual(
      data.policyVersions.map((p) => [p.version, p.firstSeen, p.author, p.pushes, p.rules]),
      [
        [V1, '2025-03-13T23:00:00Z', 'secops@example', 0, 2],
        [V2, '2025-03-14T05:00:00Z', 'secops@example', 1, 1],
      ],
    );
    assert.deepEqual(
      data.devices.map((d) => [d.name, d.profile, d.events.map((e) => [e.kind, e.detail])]),
      [
        [
          'dpu-0',
          'bluefield-dpl',
          [
            ['push', `policy ${V2.slice(0, 8)} failed, 6 entries, 3 ms: RESOURCE_EXHAUSTED`],
            ['drift_found', '{"entries":2}'],
          ],
        ],
        ['dpu-1', 'unknown', [['lost', '']]],
      ],
    );
  });

  it('states the log: records in the period, tree, checkpoint and verification with the pinned key', () => {
    const data = build(keys.publicKeyPem);
    const inPeriod = scenario().filter((r) => r.time >= T0 && r.time < T1).length;
    assert.equal(data.log.records, inPeriod);
    assert.equal(data.log.treeSize, log.size);
    assert.equal(data.log.rootHash, log.root().toString('hex'));
    assert.equal(data.log.checkpoint?.size, log.size);
    assert.equal(data.log.checkpoint?.origin, ORIGIN);
    assert.match(data.log.checkpoint?.keyId ?? '', /^[0-9a-f]{8}$/);
    assert.equal(data.log.verified, true);
    checkReportData(data);
    assert.match(renderReportHtml(data), /Evidence log verified/);
  });

  it('says the log failed verification, naming the problem, when checked with another key', () => {
    const data = build(generateSigningKeyPair().publicKeyPem);
    assert.equal(data.log.verified, false);
    assert.match(data.log.firstBadRecord ?? '', /BAD_SIGNATURE/);
  });

  it('leaves verification unstated when not asked', () => {
    assert.equal(build().log.verified, null);
  });

  it('refuses an empty or reversed period', () => {
    assert.throws(
      () => buildReportData(log, { from: T1, to: T0, title: 'x' }),
      (e: unknown) => e instanceof ReportBuildError && e.code === 'BAD_PERIOD',
    );
  });

  it('names a version the log holds no text for from the first record that used it', () => {
    const unknown = 'b'.repeat(64);
    log.appendBatch([
      sample(T0 + 2 * HOUR, '1', 1, 10, { policyVersion: unknown }),
      sample(T0 + 3 * HOUR, '1', 2, 20, { policyVersion: unknown }),
    ]);
    const data = buildReportData(log, { from: T0, to: T1, title: 'x', now: T1 });
    assert.deepEqual(data.policyVersions, [
      { version: unknown, firstSeen: '2025-03-14T02:00:00Z', pushes: 0, rules: 0 },
    ]);
    assert.equal(data.agents[0]?.rules[0]?.destination, 'unknown (no policy text in the log)');
  });

  it('renders an empty log as a valid report', () => {
    const data = buildReportData(log, { from: T0, to: T1, title: 'Empty', now: T1 });
    checkReportData(data);
    assert.equal(data.agents.length, 0);
    assert.equal(data.log.treeSize, 0);
    assert.equal(data.log.checkpoint, undefined);
  });
});

describe('forEachRecord', () => {
  it('visits every record of a range once, even where one millisecond holds more than a page', () => {
    const dir = mkdtempSync(join(tmpdir(), 'from-evidence-pages-'));
    const log = EvidenceLog.open(join(dir, 'evidence.db'));
    try {
      const records: EvidenceRecord[] = [];
      for (let i = 0; i < 12_000; i++) records.push(denial(T0 + 5, 'a', 'NO_MATCH', false));
      for (let i = 0; i < 15_000; i++) records.push(denial(T0 + 10 + i, 'a', 'NO_MATCH', false));
      log.appendBatch(records);
      const seen = new Set<number>();
      let visits = 0;
      forEachRecord(log, 'denial', T0, T0 + 20_000, (r) => {
        visits++;
        seen.add(r.seq);
      });
      assert.equal(visits, records.length);
      assert.equal(seen.size, records.length);
    } finally {
      log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('policyFacts', () => {
  it('reads actions, destinations, quotas, modes and the tightest exfiltration threshold', () => {
    const text = canonicalJson(
      canonicalPolicy({
        ...POLICY_1,
        groups: [{ name: 'g', agents: ['research'], exfiltrationThreshold: 500 }],
      }),
    );
    const facts = policyFacts(text);
    assert.equal(facts?.ruleCount, 2);
    assert.equal(facts?.rules.get('block-ssh')?.action, 'deny');
    assert.equal(facts?.rules.get('block-ssh')?.destination, '0.0.0.0/0 (tcp/22)');
    assert.equal(facts?.agents.get('research')?.exfiltrationThreshold, 500);
    assert.equal(facts?.agents.get('billing')?.mode, 'audit');
  });

  it('yields nothing for text that is not a policy set', () => {
    assert.equal(policyFacts('allow agent-a -> api.example.com:443'), undefined);
    assert.equal(policyFacts('{"rules": 3}'), undefined);
  });
});
