/**
 * A realistic day of report data for three agents: for the report's own tests, its screenshot check,
 * and anyone who wants to see the report without a running device. Generated from a fixed seed, so it
 * is the same every time.
 */
import type { AgentReport, DenialSample, QuotaHit, ReportData, TimelinePoint } from './report';

const KiB = 1024;
const MiB = 1024 * KiB;

const V1 = '3f2a9c1b7d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081';
const V2 = 'a91c04e2b7d35f6e8c9d0a1b2c3d4e5f60718293a4b5c6d7e8f9011223344556';

/** Park–Miller: small, seedable, and good enough to make charts look like traffic. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** Spreads `total` over `hours` buckets, busier in the working day (08:00–18:00 UTC), exactly summing up. */
function spread(total: number, hours: number, rnd: () => number): number[] {
  const weights = Array.from(
    { length: hours },
    (_, i) => (i % 24 >= 8 && i % 24 < 18 ? 1 : 0.12) * (0.4 + rnd()),
  );
  const sum = weights.reduce((a, b) => a + b, 0);
  const parts = weights.map((w) => Math.floor((w / sum) * total));
  const peak = weights.indexOf(Math.max(...weights));
  parts[peak] = (parts[peak] ?? 0) + total - parts.reduce((a, b) => a + b, 0);
  return parts;
}

/** Makes bytesOut and the timeline agree with the agent's rule counters and denial total. */
function withTimeline(
  agent: Omit<AgentReport, 'bytesOut' | 'timeline'>,
  start: number,
  rnd: () => number,
): AgentReport {
  const bytesOut = agent.rules.filter((r) => r.action === 'allow').reduce((s, r) => s + r.bytes, 0);
  const bytes = spread(bytesOut, 24, rnd);
  const denied = spread(agent.denials.total, 24, rnd);
  const timeline: TimelinePoint[] = bytes.map((b, i) => ({
    time: iso(start + i * 3_600_000),
    bytesOut: b,
    denied: denied[i] ?? 0,
  }));
  return { ...agent, bytesOut, timeline };
}

function samples(
  start: number,
  rnd: () => number,
  n: number,
  picks: readonly Omit<DenialSample, 'time'>[],
): DenialSample[] {
  const out: DenialSample[] = [];
  for (let i = 0; i < n; i++) {
    const pick = picks[Math.floor(rnd() * picks.length)] as Omit<DenialSample, 'time'>;
    out.push({ ...pick, time: iso(start + Math.floor(rnd() * 86_400) * 1000) });
  }
  return out;
}

export function sampleReportData(): ReportData {
  const from = Date.UTC(2025, 2, 14, 0, 0, 0);
  const to = from + 24 * 3_600_000;
  const rnd = random(20250314);

  const researchHits: QuotaHit[] = [
    {
      rule: 'llm-api',
      windowStart: iso(from + 12 * 3_600_000),
      windowEnd: iso(from + 13 * 3_600_000),
      budgetBytes: 24 * MiB,
      usedBytes: 24 * MiB,
      drops: 1_284,
    },
    {
      rule: 'llm-api',
      windowStart: iso(from + 13 * 3_600_000),
      windowEnd: iso(from + 14 * 3_600_000),
      budgetBytes: 24 * MiB,
      usedBytes: 24 * MiB + 37 * KiB,
      drops: 312,
    },
  ];
  const research = withTimeline(
    {
      name: 'research-assistant',
      agentId: 1,
      mode: 'enforce',
      packetsOut: 412_877,
      rules: [
        {
          rule: 'llm-api',
          action: 'allow',
          destination: 'api.llm.example:443',
          policyVersion: V1,
          bytes: 118 * MiB,
          packets: 96_120,
          quota: { budgetBytes: 24 * MiB, window: '1h' },
        },
        {
          rule: 'llm-api',
          action: 'allow',
          destination: 'api.llm.example:443',
          policyVersion: V2,
          bytes: 143 * MiB + 311 * KiB,
          packets: 117_402,
          quota: { budgetBytes: 24 * MiB, window: '1h' },
        },
        {
          rule: 'package-index',
          action: 'allow',
          destination: 'pypi.org, files.pythonhosted.org',
          policyVersion: V2,
          bytes: 21 * MiB + 80 * KiB,
          packets: 18_230,
        },
        {
          rule: 'source-hosting',
          action: 'allow',
          destination: '140.82.112.0/20 tcp/443',
          policyVersion: V2,
          bytes: 9 * MiB + 700 * KiB,
          packets: 8_904,
          quota: { budgetBytes: 256 * MiB, window: '24h' },
        },
        {
          rule: 'internal-wiki',
          action: 'allow',
          destination: '10.20.0.0/16 tcp/443',
          policyVersion: V1,
          bytes: 2 * MiB + 14 * KiB,
          packets: 2_011,
        },
        {
          rule: 'cloud-metadata',
          action: 'deny',
          destination: '169.254.169.254/32',
          policyVersion: V2,
          bytes: 18 * KiB,
          packets: 212,
        },
      ],
      denials: {
        total: 1_711,
        byReason: { QUOTA: 1_596, DENY_RULE: 73, NO_MATCH: 42 },
        samples: samples(from, rnd, 9, [
          {
            dst: '169.254.169.254',
            dstPort: 80,
            protocol: 'tcp',
            rule: 'cloud-metadata',
            reason: 'DENY_RULE',
            audit: false,
          },
          {
            dst: '104.18.32.7',
            dstPort: 443,
            protocol: 'tcp',
            rule: 'llm-api',
            reason: 'QUOTA',
            audit: false,
          },
          {
            dst: '203.0.113.50',
            dstPort: 22,
            protocol: 'tcp',
            rule: '(default)',
            reason: 'NO_MATCH',
            audit: false,
          },
        ]),
      },
      quotaHits: researchHits,
      exfiltration: { sensitiveBytes: 3 * MiB + 200 * KiB, thresholdBytes: 24 * MiB, tripped: false },
    },
    from,
    rnd,
  );

  const billing = withTimeline(
    {
      name: 'billing-bot',
      agentId: 2,
      mode: 'audit',
      packetsOut: 38_402,
      rules: [
        {
          rule: 'payments-api',
          action: 'allow',
          destination: 'api.payments.example:443',
          policyVersion: V2,
          bytes: 27 * MiB + 512 * KiB,
          packets: 30_114,
        },
        {
          rule: 'ledger-db',
          action: 'allow',
          destination: '10.30.4.12/32 tcp/5432',
          policyVersion: V2,
          bytes: 6 * MiB + 100 * KiB,
          packets: 7_980,
        },
        {
          rule: 'no-smtp',
          action: 'deny',
          destination: 'any tcp/25',
          policyVersion: V2,
          bytes: 412 * KiB,
          packets: 377,
        },
      ],
      denials: {
        total: 58,
        byReason: { NO_MATCH: 41, DENY_RULE: 17 },
        samples: samples(from, rnd, 6, [
          {
            dst: '198.51.100.25',
            dstPort: 25,
            protocol: 'tcp',
            rule: 'no-smtp',
            reason: 'DENY_RULE',
            audit: true,
          },
          {
            dst: '192.0.2.80',
            dstPort: 443,
            protocol: 'tcp',
            rule: '(default)',
            reason: 'NO_MATCH',
            audit: true,
          },
          {
            dst: '8.8.8.8',
            dstPort: 53,
            protocol: 'udp',
            rule: '(default)',
            reason: 'NO_MATCH',
            audit: true,
          },
        ]),
      },
      quotaHits: [],
    },
    from,
    rnd,
  );

  const runner = withTimeline(
    {
      name: 'code-runner',
      agentId: 3,
      mode: 'enforce',
      packetsOut: 120_950,
      rules: [
        {
          rule: 'package-index',
          action: 'allow',
          destination: 'pypi.org, files.pythonhosted.org',
          policyVersion: V2,
          bytes: 88 * MiB,
          packets: 70_400,
        },
        {
          rule: 'object-store',
          action: 'allow',
          destination: 's3.eu-west-1.example:443',
          policyVersion: V2,
          bytes: 12 * MiB + 333 * KiB,
          packets: 10_020,
          quota: { budgetBytes: 32 * MiB, window: '1h' },
        },
        {
          rule: 'paste-sites',
          action: 'deny',
          destination: 'pastebin-like hosts',
          policyVersion: V2,
          bytes: 1 * MiB + 4 * KiB,
          packets: 803,
        },
      ],
      denials: {
        total: 219,
        byReason: { EXFIL: 140, DENY_RULE: 51, NO_MATCH: 28 },
        samples: samples(from, rnd, 8, [
          {
            dst: '198.51.100.77',
            dstPort: 443,
            protocol: 'tcp',
            rule: 'object-store',
            reason: 'EXFIL',
            audit: false,
          },
          {
            dst: '192.0.2.14',
            dstPort: 443,
            protocol: 'tcp',
            rule: 'paste-sites',
            reason: 'DENY_RULE',
            audit: false,
          },
          {
            dst: '203.0.113.9',
            dstPort: 8080,
            protocol: 'tcp',
            rule: '(default)',
            reason: 'NO_MATCH',
            audit: false,
          },
        ]),
      },
      quotaHits: [],
      exfiltration: { sensitiveBytes: 19 * MiB + 512 * KiB, thresholdBytes: 16 * MiB, tripped: true },
    },
    from,
    rnd,
  );

  return {
    title: 'Agent egress audit — production cluster',
    generatedAt: iso(to + 17 * 60_000),
    from: iso(from),
    to: iso(to),
    log: {
      records: 18_342,
      treeSize: 240_118,
      rootHash: 'c0ffee5d4b7a92e1f03c8d6a5b4e3f2a1908f7e6d5c4b3a29180f7e6d5c4b3a2',
      checkpoint: {
        origin: 'nicguard.example/evidence/prod',
        size: 240_102,
        keyId: 'ed25519:7c1e9a04',
        time: iso(to + 15 * 60_000),
      },
      verified: true,
    },
    policyVersions: [
      {
        version: V1,
        firstSeen: iso(from - 3 * 86_400_000),
        author: 'secops@example.com',
        pushes: 0,
        rules: 14,
      },
      {
        version: V2,
        firstSeen: iso(from + 9 * 3_600_000 + 42 * 60_000),
        author: 'secops@example.com',
        pushes: 2,
        rules: 17,
      },
    ],
    devices: [
      {
        name: 'bf3-rack12',
        profile: 'bluefield-dpl',
        events: [
          {
            time: iso(from + 9 * 3_600_000 + 43 * 60_000),
            kind: 'pipeline_pushed',
            detail: `policy ${V2.slice(0, 8)}, 212 entries`,
          },
          { time: iso(from + 16 * 3_600_000 + 5 * 60_000), kind: 'lost', detail: 'keepalive timeout' },
          {
            time: iso(from + 16 * 3_600_000 + 6 * 60_000),
            kind: 'connected',
            detail: 'primary, election id 7',
          },
          {
            time: iso(from + 16 * 3_600_000 + 6 * 60_000 + 20_000),
            kind: 'drift_found',
            detail: '2 entries missing after reconnect; rewritten',
          },
        ],
      },
      {
        name: 'softnic-ci',
        profile: 'softnic',
        events: [
          {
            time: iso(from + 9 * 3_600_000 + 44 * 60_000),
            kind: 'pipeline_pushed',
            detail: `policy ${V2.slice(0, 8)}, 212 entries`,
          },
        ],
      },
    ],
    agents: [research, billing, runner],
  };
}
