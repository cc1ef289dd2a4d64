import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromiumArgs, findOnPath, SKIP_MESSAGE } from '../../scripts/report-screenshot';
import { MIN_VISIBLE } from './charts';
import {
  type AgentReport,
  checkReportData,
  type ReportData,
  ReportError,
  renderReportHtml,
  renderReportJson,
  type RuleTraffic,
  shortVersion,
} from './report';
import { sampleReportData } from './sample';

const KiB = 1024;
const MiB = 1024 * KiB;
const V1 = 'aa11bb22cc33dd44ee55ff6600778899aa11bb22cc33dd44ee55ff6600778899';
const V2 = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

function agent(
  name: string,
  agentId: number,
  rules: RuleTraffic[],
  extra: Partial<AgentReport> = {},
): AgentReport {
  return {
    name,
    agentId,
    mode: 'enforce',
    bytesOut: rules.filter((r) => r.action === 'allow').reduce((s, r) => s + r.bytes, 0),
    packetsOut: rules.reduce((s, r) => s + r.packets, 0),
    rules,
    denials: { total: 0, byReason: {}, samples: [] },
    quotaHits: [],
    timeline: [],
    ...extra,
  };
}

function rule(
  name: string,
  bytes: number,
  action: 'allow' | 'deny' = 'allow',
  policyVersion = V1,
): RuleTraffic {
  return {
    rule: name,
    action,
    destination: `${name}.example:443`,
    policyVersion,
    bytes,
    packets: Math.ceil(bytes / 1400),
  };
}

function sample(): ReportData {
  return {
    title: 'Weekly egress audit',
    generatedAt: '2025-03-15T00:05:00Z',
    from: '2025-03-14T00:00:00Z',
    to: '2025-03-15T00:00:00Z',
    log: {
      records: 1200,
      treeSize: 5000,
      rootHash: 'ab'.repeat(32),
      checkpoint: {
        origin: 'log.example/prod',
        size: 4990,
        keyId: 'ed25519:0badf00d',
        time: '2025-03-15T00:01:00Z',
      },
      verified: true,
    },
    policyVersions: [
      { version: V1, firstSeen: '2025-03-10T08:00:00Z', author: 'secops', pushes: 1, rules: 4 },
      { version: V2, firstSeen: '2025-03-14T12:00:00Z', pushes: 2, rules: 5 },
    ],
    devices: [
      {
        name: 'bf3-a',
        profile: 'bluefield-dpl',
        events: [{ time: '2025-03-14T12:00:05Z', kind: 'pipeline_pushed', detail: '212 entries' }],
      },
    ],
    agents: [
      agent(
        'researcher',
        1,
        [
          rule('llm', 40 * MiB),
          rule('llm', 10 * MiB, 'allow', V2),
          rule('pypi', 25 * MiB),
          rule('metadata', 5 * MiB, 'deny'),
        ],
        {
          denials: {
            total: 12,
            byReason: { QUOTA: 9, DENY_RULE: 3 },
            samples: [
              {
                time: '2025-03-14T10:00:01Z',
                dst: '169.254.169.254',
                dstPort: 80,
                protocol: 'tcp',
                rule: 'metadata',
                reason: 'DENY_RULE',
                audit: false,
              },
            ],
          },
          quotaHits: [
            {
              rule: 'llm',
              windowStart: '2025-03-14T10:00:00Z',
              windowEnd: '2025-03-14T11:00:00Z',
              budgetBytes: 8 * MiB,
              usedBytes: 8 * MiB,
              drops: 77,
            },
          ],
          exfiltration: { sensitiveBytes: 20 * MiB, thresholdBytes: 16 * MiB, tripped: true },
          timeline: [
            { time: '2025-03-14T09:00:00Z', bytesOut: 30 * MiB, denied: 5 },
            { time: '2025-03-14T10:00:00Z', bytesOut: 45 * MiB, denied: 7 },
          ],
        },
      ),
      agent('billing', 2, [rule('payments', 3 * MiB), rule('smtp', 0, 'deny')], { mode: 'audit' }),
    ],
  };
}

/** Attribute maps of every `<tag ...>` in `svg` whose class is `cls` (any when omitted). */
function elements(svg: string, tag: string, cls?: string): Record<string, string>[] {
  const found = [...svg.matchAll(new RegExp(`<${tag}\\b([^>]*?)/?>`, 'g'))].map((m) =>
    Object.fromEntries([...(m[1] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])),
  ) as Record<string, string>[];
  return cls === undefined ? found : found.filter((a) => a['class'] === cls);
}

function sections(html: string): string[] {
  return [...html.matchAll(/<section class="agent"[\s\S]*?<\/section>/g)].map((m) => m[0]);
}

function chart(html: string, name: string): string {
  const m = html.match(new RegExp(`<svg[^>]*data-chart="${name}"[\\s\\S]*?</svg>`));
  assert.ok(m, `no ${name} chart`);
  return m[0];
}

describe('audit report HTML', () => {
  it('renders one section per agent, in the given order, with its id and mode', () => {
    const data = sample();
    const html = renderReportHtml(data);
    const found = sections(html);
    assert.equal(found.length, data.agents.length);
    data.agents.forEach((a, i) => {
      assert.match(found[i] as string, new RegExp(`id="agent-${a.agentId}" data-agent="${a.name}"`));
    });
    assert.match(found[0] as string, /enforcing/);
    assert.match(found[1] as string, /audit mode/);
  });

  it('draws each rule as a bar whose width is proportional to its bytes, coloured by action', () => {
    const data = sample();
    const html = renderReportHtml(data);
    data.agents.forEach((a, i) => {
      const bars = elements(chart(sections(html)[i] as string, 'rules'), 'rect', 'bar');
      assert.deepEqual(
        bars.map((b) => Number(b['data-value'])),
        a.rules.map((r) => r.bytes).sort((x, y) => y - x),
        'one bar per rule, largest first',
      );
      const max = Math.max(...a.rules.map((r) => r.bytes));
      const fullWidth = Number(bars[0]?.['width']);
      for (const b of bars) {
        const expected = (Number(b['data-value']) / max) * fullWidth;
        const width = Number(b['width']);
        if (Number(b['data-value']) === 0) assert.equal(width, 0);
        else assert.ok(Math.abs(width - Math.max(expected, MIN_VISIBLE)) <= 0.01, `${width} vs ${expected}`);
      }
      // Bars come largest first; with no ties that fixes which rule each bar is.
      const byBytes = [...a.rules].sort((x, y) => y.bytes - x.bytes);
      const fills = (action: string): Set<string | undefined> =>
        new Set(bars.filter((_, j) => byBytes[j]?.action === action).map((b) => b['fill']));
      const allow = fills('allow');
      const deny = fills('deny');
      assert.equal(allow.size, 1);
      assert.equal(deny.size, 1);
      assert.notDeepEqual(allow, deny);
    });
  });

  it('labels each rule bar with the prefix of the policy version that authorised it', () => {
    const section = sections(renderReportHtml(sample()))[0] as string;
    const rules = chart(section, 'rules');
    assert.match(rules, new RegExp(`policy ${shortVersion(V1)} · allow → llm\\.example`));
    assert.match(rules, new RegExp(`policy ${shortVersion(V2)} · allow → llm\\.example`));
    assert.equal(shortVersion(V1), V1.slice(0, 8));
  });

  it('shows denials by reason, quota usage with drops, and the exfiltration guard state', () => {
    const section = sections(renderReportHtml(sample()))[0] as string;
    const reasons = elements(chart(section, 'reasons'), 'circle', 'slice').map((c) =>
      Number(c['data-value']),
    );
    assert.deepEqual(reasons, [9, 3]);
    const quota = elements(chart(section, 'quota'), 'rect');
    const limit = quota.find((r) => r['class'] === 'limit');
    const used = quota.find((r) => r['class'] === 'used');
    assert.equal(used?.['width'], limit?.['width'], 'a spent budget fills the bar');
    assert.match(section, /77 packets dropped/);
    assert.match(section, /data-tripped="true"/);
    assert.equal(elements(chart(section, 'exfil'), 'rect', 'over').length, 1);
    assert.match(section, /169\.254\.169\.254<\/code>:80/);
  });

  it('puts the period and log status in the header, and marks verification prominently', () => {
    const data = sample();
    const ok = renderReportHtml(data);
    assert.match(ok, /2025-03-14 00:00<\/strong> → <strong>2025-03-15 00:00/);
    assert.match(ok, /data-verified="true"[\s\S]*?✓ <\/span>|data-verified="true"[\s\S]*?✓/);
    assert.match(ok, new RegExp('ab'.repeat(32)));
    assert.match(ok, /10 records after the checkpoint/);

    data.log.verified = false;
    data.log.firstBadRecord = '#4321';
    const bad = renderReportHtml(data);
    assert.match(bad, /class="log-status failed" data-verified="false"/);
    assert.match(bad, /✗/);
    assert.match(bad, /#4321/);

    data.log.verified = null;
    assert.match(renderReportHtml(data), /data-verified="null"[\s\S]*?not verified/);
  });

  it('sums the summary row across agents', () => {
    const data = sample();
    const html = renderReportHtml(data);
    const summary = html.match(/<section class="summary"[\s\S]*?<\/section>/)?.[0] ?? '';
    const card = (label: string): string | undefined =>
      summary.match(new RegExp(`<div class="value">([^<]*)</div><div class="label">${label}<`))?.[1];
    assert.equal(card('Agents'), '2');
    assert.equal(card('Bytes out'), '78 MiB'); // 40 + 10 + 25 + 3 MiB of allowed traffic
    assert.equal(card('Denials'), '12');
    assert.equal(card('Quota hits'), '1');
    assert.equal(card('Policy versions'), '2');
  });

  it('escapes text from policy everywhere it appears', () => {
    const data = sample();
    const evil = '<script>alert("pwned")</script>';
    data.title = evil;
    (data.agents[0] as AgentReport).name = evil;
    (data.agents[0] as AgentReport).rules[0] = { ...rule('x', 1), rule: evil, destination: `"><img src=x>` };
    (data.devices[0] as ReportData['devices'][number]).events[0] = {
      time: '2025-03-14T12:00:05Z',
      kind: 'note',
      detail: evil,
    };
    const html = renderReportHtml(data);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<img/i);
    assert.match(html, /&lt;script&gt;alert\(&quot;pwned&quot;\)&lt;\/script&gt;/);
    assert.match(html, /data-agent="&lt;script&gt;alert\(&quot;pwned&quot;\)&lt;\/script&gt;"/);
  });

  it('is one self-contained file: no scripts, no external fetches', () => {
    const html = renderReportHtml(sample());
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(|src=/i);
    for (const m of html.matchAll(/href="([^"]*)"/g)) assert.ok((m[1] as string).startsWith('#'), m[1]);
  });

  it('renders an empty period sensibly', () => {
    const data: ReportData = {
      title: 'Empty',
      generatedAt: '2025-03-15T00:00:00Z',
      from: '2025-03-14T00:00:00Z',
      to: '2025-03-15T00:00:00Z',
      log: { records: 0, treeSize: 0, rootHash: '', verified: null },
      policyVersions: [],
      devices: [],
      agents: [],
    };
    const html = renderReportHtml(data);
    assert.equal(sections(html).length, 0);
    assert.match(html, /No agent traffic/);
    assert.match(html, /The log is empty/);
    assert.match(html, /No signed checkpoint/);
    assert.match(html, /No policy versions in this period/);
    assert.match(html, /<div class="value">0 B<\/div><div class="label">Bytes out</);
    assert.doesNotMatch(html, /NaN|undefined|Infinity/);
  });

  it('renders an agent with no traffic at all without NaN', () => {
    const data = sample();
    data.agents = [agent('idle', 9, [])];
    const section = sections(renderReportHtml(data))[0] as string;
    assert.doesNotMatch(section, /NaN|undefined|Infinity/);
    assert.match(section, /No rules counted traffic/);
    assert.match(section, /No denied attempts were sampled/);
    assert.match(section, /No exfiltration guard/);
  });

  it('combines rules beyond the fifteenth into one bar', () => {
    const data = sample();
    const rules = Array.from({ length: 20 }, (_, i) =>
      rule(`r${String(i).padStart(2, '0')}`, (20 - i) * KiB),
    );
    data.agents = [agent('many', 3, rules)];
    const bars = elements(chart(renderReportHtml(data), 'rules'), 'rect', 'bar');
    assert.equal(bars.length, 15);
    const rest = rules.slice(14).reduce((s, r) => s + r.bytes, 0);
    assert.equal(Number(bars[14]?.['data-value']), rest);
    assert.match(renderReportHtml(data), /6 other rules/);
  });
});

describe('audit report data', () => {
  it('round-trips through its JSON form', () => {
    const data = sample();
    assert.deepEqual(JSON.parse(renderReportJson(data)), data);
  });

  it('rejects figures and times that would draw a wrong chart, naming the field', () => {
    const nan = sample();
    (nan.agents[0] as AgentReport).rules[1] = { ...rule('x', 1), bytes: NaN };
    assert.throws(
      () => checkReportData(nan),
      (e: unknown) =>
        e instanceof ReportError &&
        e.code === 'BAD_NUMBER' &&
        /agents\[0\]\.rules\[1\]\.bytes/.test(e.message),
    );
    const negative = sample();
    (negative.agents[1] as AgentReport).bytesOut = -1;
    assert.throws(() => renderReportHtml(negative), { code: 'BAD_NUMBER' });

    const time = sample();
    (time.agents[0] as AgentReport).timeline[0] = { time: 'yesterday', bytesOut: 1, denied: 0 };
    assert.throws(
      () => renderReportHtml(time),
      (e: unknown) => e instanceof ReportError && e.code === 'BAD_TIME',
    );

    const backwards = sample();
    backwards.to = '2025-03-13T00:00:00Z';
    assert.throws(() => renderReportJson(backwards), { code: 'BAD_PERIOD' });
  });
});

describe('report screenshot script', () => {
  const script = join(__dirname, '..', '..', 'scripts', 'report-screenshot.js');
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'report-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds only executable files on PATH', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'runnable'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(bin, 'plain'), 'text', { mode: 0o644 });
    assert.equal(findOnPath('runnable', `/nonexistent${delimiter}${bin}`), join(bin, 'runnable'));
    assert.equal(findOnPath('plain', bin), undefined);
    assert.equal(findOnPath('runnable', ''), undefined);
  });

  it('says it skipped, on one line, and succeeds when chromium is missing', () => {
    const html = join(dir, 'r.html');
    writeFileSync(html, renderReportHtml(sample()));
    const result = spawnSync(process.execPath, [script, html, join(dir, 'r.png')], {
      env: { ...process.env, PATH: join(dir, 'empty') },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${SKIP_MESSAGE}\n`);
    assert.equal(existsSync(join(dir, 'r.png')), false);
  });

  it('asks chromium for an isolated, offline, fixed-size screenshot of the file', () => {
    const args = chromiumArgs('/reports/a b.html', '/out/a.png', '/tmp/profile-x');
    for (const flag of ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run']) {
      assert.ok(args.includes(flag), flag);
    }
    assert.ok(
      args.includes('--disable-background-networking') && args.includes('--disable-component-update'),
    );
    assert.ok(args.includes('--user-data-dir=/tmp/profile-x'));
    assert.ok(args.includes('--screenshot=/out/a.png'));
    assert.ok(args.includes('--window-size=1280,2000'));
    assert.equal(args[args.length - 1], 'file:///reports/a%20b.html');
  });

  it('renders the sample report to a PNG with chromium', function () {
    if (!findOnPath('chromium')) {
      if (this.test) this.test.title += ' (skipped: chromium is not on PATH)';
      this.skip();
    }
    this.timeout(180_000);
    const html = join(dir, 'sample.html');
    const png = join(dir, 'sample.png');
    writeFileSync(html, renderReportHtml(sampleReportData()));
    const result = spawnSync(process.execPath, [script, html, png], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(png), 'no PNG written');
    const bytes = readFileSync(png);
    assert.ok(bytes.length > 10 * 1024, `PNG is only ${bytes.length} bytes`);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});
