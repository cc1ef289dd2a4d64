/**
 * The audit report: what each agent sent where over a period, which policy version authorised it, what
 * was denied and why, which quotas bit — drawn as one self-contained HTML page for people, and shaped as
 * `ReportData` for machines (the JSON form of the report is that object as it stands).
 *
 * The evidence store fills a ReportData; this module only checks and draws it. Nothing here reads the
 * clock, the disk or the network, so the same data always renders to the same bytes.
 */
import {
  type Bar,
  donutChart,
  escapeXml,
  formatBytes,
  formatCount,
  horizontalBarChart,
  meterBar,
  stackedBarChart,
  timeSeriesChart,
} from './charts';

/** An ISO 8601 date-time with offset (normally UTC, "2025-03-14T09:00:00Z"). */
export type IsoTime = string;

/** A byte count. A plain number: exact up to 2^53 (8 PiB), far beyond what one report period holds. */
export type Bytes = number;

export interface LogCheckpoint {
  /** The log's origin line, naming which log the checkpoint is for. */
  origin: string;
  /** Number of records the signed checkpoint covers. */
  size: number;
  /** Identifier of the key that signed it. */
  keyId: string;
  time?: IsoTime;
}

export interface LogStatus {
  /** Records in the report period. */
  records: number;
  /** Records in the whole log (the Merkle tree size the root hash is for). */
  treeSize: number;
  /** Hex root hash of the tree at treeSize. */
  rootHash: string;
  checkpoint?: LogCheckpoint;
  /** true: every record and the checkpoint verified; false: verification failed; null: not checked. */
  verified: boolean | null;
  /** When verified is false, the first record that did not verify. */
  firstBadRecord?: string;
}

export interface PolicyVersionSummary {
  /** The version identifier (the policy's SHA-256, hex). */
  version: string;
  firstSeen: IsoTime;
  author?: string;
  /** Pushes of this version to devices during the period. */
  pushes: number;
  /** Rules the version contains. */
  rules: number;
}

export interface DeviceEvent {
  time: IsoTime;
  /** connected, lost, pipeline_pushed, drift_found, quota_enforcement_on/off, note… */
  kind: string;
  detail: string;
}

export interface DeviceSummary {
  name: string;
  /** Target profile: bmv2, softnic, bluefield-dpl… */
  profile: string;
  events: DeviceEvent[];
}

export interface RuleQuota {
  budgetBytes: Bytes;
  /** The quota window as written in the policy ("1h", "24h"). */
  window: string;
}

export interface RuleTraffic {
  rule: string;
  action: 'allow' | 'deny';
  /** The rule's destination as written in the policy (CIDR, host name, "any"). */
  destination: string;
  /** The policy version whose entry counted these bytes. */
  policyVersion: string;
  bytes: Bytes;
  packets: number;
  quota?: RuleQuota;
}

export interface DenialSample {
  time: IsoTime;
  dst: string;
  dstPort: number;
  protocol: string;
  rule: string;
  reason: string;
  /** True when the agent or rule was in audit mode: the packet would have been denied, and passed. */
  audit: boolean;
}

export interface AgentDenials {
  total: number;
  /** Denial counts keyed by reason (NO_MATCH, DENY_RULE, QUOTA, RATE, EXFIL…). */
  byReason: Record<string, number>;
  samples: DenialSample[];
}

/** One quota window in which the rule's budget ran out. */
export interface QuotaHit {
  rule: string;
  windowStart: IsoTime;
  windowEnd: IsoTime;
  budgetBytes: Bytes;
  usedBytes: Bytes;
  /** Packets dropped in the window once the budget was spent. */
  drops: number;
}

export interface ExfiltrationStatus {
  /** Bytes sent after reading from a sensitive source, as tallied by the guard. */
  sensitiveBytes: Bytes;
  thresholdBytes: Bytes;
  tripped: boolean;
}

/** One bucket of the agent's activity; values count what happened within the bucket starting at time. */
export interface TimelinePoint {
  time: IsoTime;
  bytesOut: Bytes;
  denied: number;
}

export interface AgentReport {
  name: string;
  agentId: number;
  mode: 'enforce' | 'audit';
  bytesOut: Bytes;
  packetsOut: number;
  rules: RuleTraffic[];
  denials: AgentDenials;
  quotaHits: QuotaHit[];
  exfiltration?: ExfiltrationStatus;
  timeline: TimelinePoint[];
}

export interface ReportData {
  title: string;
  generatedAt: IsoTime;
  from: IsoTime;
  to: IsoTime;
  log: LogStatus;
  policyVersions: PolicyVersionSummary[];
  devices: DeviceSummary[];
  agents: AgentReport[];
}

export type ReportErrorCode =
  | 'BAD_TIME' // a time field is not an ISO 8601 date-time
  | 'BAD_NUMBER' // a count or byte figure is negative, fractional where it must be whole, or not finite
  | 'BAD_PERIOD'; // the period ends before it starts

export class ReportError extends Error {
  readonly code: ReportErrorCode;

  constructor(code: ReportErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ReportError';
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------
// Checking

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function timeOf(value: string, where: string): number {
  const ms = ISO_DATE_TIME.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms))
    throw new ReportError('BAD_TIME', `${where} is "${value}", not an ISO 8601 date-time`);
  return ms;
}

function count(value: number, where: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ReportError('BAD_NUMBER', `${where} is ${value}; expected a whole number 0 or more`);
  }
}

/**
 * Rejects data that would draw a wrong picture rather than an obviously broken one: NaN or negative
 * bar lengths, times that cannot be placed on an axis. Both renderers call it; the CLI may call it
 * earlier to fail before writing anything.
 */
export function checkReportData(data: ReportData): void {
  const from = timeOf(data.from, 'from');
  const to = timeOf(data.to, 'to');
  if (to < from)
    throw new ReportError('BAD_PERIOD', `the period ends (${data.to}) before it starts (${data.from})`);
  timeOf(data.generatedAt, 'generatedAt');
  count(data.log.records, 'log.records');
  count(data.log.treeSize, 'log.treeSize');
  if (data.log.checkpoint) {
    count(data.log.checkpoint.size, 'log.checkpoint.size');
    if (data.log.checkpoint.time !== undefined) timeOf(data.log.checkpoint.time, 'log.checkpoint.time');
  }
  data.policyVersions.forEach((p, i) => {
    timeOf(p.firstSeen, `policyVersions[${i}].firstSeen`);
    count(p.pushes, `policyVersions[${i}].pushes`);
    count(p.rules, `policyVersions[${i}].rules`);
  });
  data.devices.forEach((d, i) =>
    d.events.forEach((e, j) => timeOf(e.time, `devices[${i}].events[${j}].time`)),
  );
  data.agents.forEach((a, i) => {
    const at = `agents[${i}]`;
    count(a.agentId, `${at}.agentId`);
    count(a.bytesOut, `${at}.bytesOut`);
    count(a.packetsOut, `${at}.packetsOut`);
    a.rules.forEach((r, j) => {
      count(r.bytes, `${at}.rules[${j}].bytes`);
      count(r.packets, `${at}.rules[${j}].packets`);
      if (r.quota) count(r.quota.budgetBytes, `${at}.rules[${j}].quota.budgetBytes`);
    });
    count(a.denials.total, `${at}.denials.total`);
    for (const [reason, n] of Object.entries(a.denials.byReason))
      count(n, `${at}.denials.byReason.${reason}`);
    a.denials.samples.forEach((s, j) => {
      timeOf(s.time, `${at}.denials.samples[${j}].time`);
      count(s.dstPort, `${at}.denials.samples[${j}].dstPort`);
    });
    a.quotaHits.forEach((q, j) => {
      const w = `${at}.quotaHits[${j}]`;
      timeOf(q.windowStart, `${w}.windowStart`);
      timeOf(q.windowEnd, `${w}.windowEnd`);
      count(q.budgetBytes, `${w}.budgetBytes`);
      count(q.usedBytes, `${w}.usedBytes`);
      count(q.drops, `${w}.drops`);
    });
    if (a.exfiltration) {
      count(a.exfiltration.sensitiveBytes, `${at}.exfiltration.sensitiveBytes`);
      count(a.exfiltration.thresholdBytes, `${at}.exfiltration.thresholdBytes`);
    }
    a.timeline.forEach((p, j) => {
      timeOf(p.time, `${at}.timeline[${j}].time`);
      count(p.bytesOut, `${at}.timeline[${j}].bytesOut`);
      count(p.denied, `${at}.timeline[${j}].denied`);
    });
  });
}

/** The report as its JSON document: the checked data, two-space indented, ending in a newline. */
export function renderReportJson(data: ReportData): string {
  checkReportData(data);
  return `${JSON.stringify(data, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------------
// Presentation helpers

const COLOUR = {
  allow: '#2f6db5',
  deny: '#c8362d',
  other: '#9aa5b1',
  good: '#1d7a46',
  bad: '#c8362d',
  warn: '#b7791f',
  bytes: '#2f6db5',
  denied: '#c8362d',
  quota: '#2f6db5',
  sensitive: '#7b4fb0',
};

/** Reasons as a reader understands them, and one fixed colour each so charts agree across agents. */
const REASONS: Record<string, { label: string; colour: string }> = {
  NO_MATCH: { label: 'No matching rule', colour: '#c8362d' },
  DENY_RULE: { label: 'Deny rule', colour: '#e07b39' },
  QUOTA: { label: 'Quota exhausted', colour: '#2f6db5' },
  RATE: { label: 'Rate limit', colour: '#4aa3a2' },
  EXFIL: { label: 'Exfiltration guard', colour: '#7b4fb0' },
  SPOOFED: { label: 'Spoofed source', colour: '#8c564b' },
  UNKNOWN_PORT: { label: 'Unknown port', colour: '#b8a03a' },
  NOT_IP: { label: 'Not IP', colour: '#6b7a89' },
  NO_ROUTE: { label: 'No route', colour: '#a05195' },
};
const SPARE_COLOURS = ['#3d5a80', '#98c1d9', '#ee6c4d', '#293241', '#5c946e'];

function reasonStyle(reason: string, index: number): { label: string; colour: string } {
  return (
    REASONS[reason.toUpperCase()] ?? {
      label: reason,
      colour: SPARE_COLOURS[index % SPARE_COLOURS.length] as string,
    }
  );
}

/** A policy version short enough for a chart label: 8 hex digits of a hash, or the name itself. */
export function shortVersion(version: string): string {
  if (/^[0-9a-f]{16,}$/i.test(version)) return version.slice(0, 8);
  return version.length > 16 ? `${version.slice(0, 15)}…` : version;
}

function versionAnchor(version: string): string {
  return `policy-${version.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** "2025-03-14 09:00 UTC", or with seconds; times are shown in UTC so printouts agree. */
function showTime(iso: string, seconds = false): string {
  const text = new Date(Date.parse(iso)).toISOString();
  return `${text.slice(0, 10)} ${text.slice(11, seconds ? 19 : 16)}`;
}

function showDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest === 0 ? `${days} d` : `${days} d ${rest} h`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

const h = escapeXml;

// ---------------------------------------------------------------------------------------------------
// Sections

function renderHeader(data: ReportData): string {
  const span = Date.parse(data.to) - Date.parse(data.from);
  return `<header class="top">
<div class="heading">
<h1>${h(data.title)}</h1>
<p class="period"><strong>${h(showTime(data.from))}</strong> → <strong>${h(showTime(data.to))}</strong> UTC
<span class="muted">· ${h(showDuration(span))}</span></p>
<p class="muted small">Generated ${h(showTime(data.generatedAt, true))} UTC</p>
</div>
${renderLogStatus(data.log)}
</header>`;
}

function renderLogStatus(log: LogStatus): string {
  const state = log.verified === true ? 'ok' : log.verified === false ? 'failed' : 'unchecked';
  const verdict =
    log.verified === true
      ? '<span class="mark">✓</span> Evidence log verified'
      : log.verified === false
        ? '<span class="mark">✗</span> Evidence log FAILED verification'
        : '<span class="mark">–</span> Evidence log not verified';
  const rows: string[] = [
    `<dt>Records in period</dt><dd>${h(formatCount(log.records))}</dd>`,
    `<dt>Tree size</dt><dd>${h(formatCount(log.treeSize))}</dd>`,
    `<dt>Root hash</dt><dd><code class="hash">${h(log.rootHash || '—')}</code></dd>`,
  ];
  if (log.checkpoint) {
    const c = log.checkpoint;
    rows.push(
      `<dt>Checkpoint</dt><dd>${h(c.origin)} · size ${h(formatCount(c.size))} · key <code>${h(c.keyId)}</code>` +
        `${c.time ? ` · ${h(showTime(c.time))} UTC` : ''}</dd>`,
    );
    if (c.size < log.treeSize) {
      rows.push(
        `<dt></dt><dd class="warn-text">${h(plural(log.treeSize - c.size, 'record'))} after the checkpoint ` +
          `${log.treeSize - c.size === 1 ? 'is' : 'are'} not yet covered by a signature</dd>`,
      );
    }
  } else {
    rows.push(
      `<dt>Checkpoint</dt><dd class="${log.treeSize === 0 ? 'muted' : 'warn-text'}">No signed checkpoint</dd>`,
    );
  }
  if (log.verified === false && log.firstBadRecord) {
    rows.push(`<dt>First bad record</dt><dd><code>${h(log.firstBadRecord)}</code></dd>`);
  }
  if (log.treeSize === 0) rows.push(`<dt></dt><dd class="muted">The log is empty.</dd>`);
  return `<div class="log-status ${state}" data-verified="${String(log.verified)}">
<div class="verdict">${verdict}</div>
<dl>${rows.join('')}</dl>
</div>`;
}

interface Totals {
  bytesOut: number;
  denials: number;
  quotaHits: number;
  tripped: string[];
  audit: string[];
}

function totalsOf(data: ReportData): Totals {
  return {
    bytesOut: data.agents.reduce((s, a) => s + a.bytesOut, 0),
    denials: data.agents.reduce((s, a) => s + a.denials.total, 0),
    quotaHits: data.agents.reduce((s, a) => s + a.quotaHits.length, 0),
    tripped: data.agents.filter((a) => a.exfiltration?.tripped).map((a) => a.name),
    audit: data.agents.filter((a) => a.mode === 'audit').map((a) => a.name),
  };
}

function card(label: string, value: string, tone = ''): string {
  return `<div class="card ${tone}"><div class="value">${h(value)}</div><div class="label">${h(label)}</div></div>`;
}

function renderSummary(data: ReportData, totals: Totals): string {
  const cards = [
    card('Agents', formatCount(data.agents.length)),
    card('Bytes out', formatBytes(totals.bytesOut)),
    card('Denials', formatCount(totals.denials), totals.denials > 0 ? 'bad' : ''),
    card('Quota hits', formatCount(totals.quotaHits), totals.quotaHits > 0 ? 'warn' : ''),
    card('Policy versions', formatCount(data.policyVersions.length)),
  ];
  const notes: string[] = [];
  if (data.log.verified === false)
    notes.push('<li class="bad-text">The evidence log failed verification.</li>');
  if (totals.tripped.length > 0) {
    notes.push(`<li class="bad-text">Exfiltration guard tripped for ${h(totals.tripped.join(', '))}.</li>`);
  }
  if (totals.audit.length > 0) {
    notes.push(
      `<li class="warn-text">Audit mode (denials observed, not enforced): ${h(totals.audit.join(', '))}.</li>`,
    );
  }
  return `<section class="summary" aria-label="Summary">
<div class="cards">${cards.join('')}</div>
${notes.length > 0 ? `<ul class="attention">${notes.join('')}</ul>` : ''}
</section>`;
}

function ruleTotals(agent: AgentReport): { allowed: number; denied: number } {
  let allowed = 0;
  let denied = 0;
  for (const r of agent.rules) {
    if (r.action === 'allow') allowed += r.bytes;
    else denied += r.bytes;
  }
  return { allowed, denied };
}

function renderOverview(data: ReportData): string {
  if (data.agents.length < 2) return '';
  const rows = data.agents.map((a) => {
    const t = ruleTotals(a);
    return {
      label: a.name,
      segments: [
        { label: 'Allowed by a rule', value: t.allowed, colour: COLOUR.allow },
        { label: 'Matched a deny rule', value: t.denied, colour: COLOUR.deny },
      ],
    };
  });
  return `<section class="panel overview">
<h2>Traffic by agent</h2>
${stackedBarChart(rows, { ariaLabel: 'Bytes per agent, allowed and denied', kind: 'bytes', chart: 'agents', width: 1000 })}
</section>`;
}

const MAX_RULE_BARS = 15;

function ruleBars(agent: AgentReport): Bar[] {
  const sorted = [...agent.rules].sort((a, b) => b.bytes - a.bytes || a.rule.localeCompare(b.rule));
  const shown = sorted.length > MAX_RULE_BARS ? sorted.slice(0, MAX_RULE_BARS - 1) : sorted;
  const bars: Bar[] = shown.map((r) => ({
    label: r.rule,
    value: r.bytes,
    colour: r.action === 'allow' ? COLOUR.allow : COLOUR.deny,
    note: `policy ${shortVersion(r.policyVersion)} · ${r.action} → ${r.destination}`,
    title:
      `${r.rule}: ${r.action} → ${r.destination}\npolicy ${r.policyVersion}\n` +
      `${formatBytes(r.bytes)} in ${plural(r.packets, 'packet')}`,
  }));
  const rest = sorted.slice(shown.length);
  if (rest.length > 0) {
    bars.push({
      label: `${rest.length} other rules`,
      value: rest.reduce((s, r) => s + r.bytes, 0),
      colour: COLOUR.other,
      note: 'smaller rules combined',
    });
  }
  return bars;
}

function renderQuotas(agent: AgentReport): string {
  const budgets = new Map<string, RuleQuota | undefined>();
  for (const r of agent.rules) if (r.quota) budgets.set(r.rule, r.quota);
  for (const q of agent.quotaHits) if (!budgets.has(q.rule)) budgets.set(q.rule, undefined);
  if (budgets.size === 0) return '<p class="muted">No quota rules.</p>';
  const items = [...budgets].map(([rule, quota]) => {
    const hits = agent.quotaHits.filter((q) => q.rule === rule);
    const budgetText = quota ? `${formatBytes(quota.budgetBytes)} per ${quota.window}` : '';
    if (hits.length === 0) {
      return `<div class="quota" data-rule="${h(rule)}">
<div class="quota-head"><strong>${h(rule)}</strong><span class="muted">${h(budgetText)}</span></div>
<p class="ok-text small">✓ No window reached its budget</p></div>`;
    }
    const peak = hits.reduce((p, q) =>
      q.usedBytes / Math.max(q.budgetBytes, 1) > p.usedBytes / Math.max(p.budgetBytes, 1) ? q : p,
    );
    const drops = hits.reduce((s, q) => s + q.drops, 0);
    const share = peak.budgetBytes > 0 ? Math.round((peak.usedBytes / peak.budgetBytes) * 100) : 100;
    return `<div class="quota" data-rule="${h(rule)}">
<div class="quota-head"><strong>${h(rule)}</strong><span class="muted">${h(budgetText || `${formatBytes(peak.budgetBytes)} budget`)}</span></div>
${meterBar(peak.usedBytes, peak.budgetBytes, {
  ariaLabel: `${rule}: ${formatBytes(peak.usedBytes)} used of ${formatBytes(peak.budgetBytes)}`,
  kind: 'bytes',
  chart: 'quota',
  width: 460,
  colour: COLOUR.quota,
  overColour: COLOUR.bad,
})}
<p class="small">Peak window ${h(showTime(peak.windowStart))}–${h(showTime(peak.windowEnd).slice(11))} UTC:
<strong>${h(formatBytes(peak.usedBytes))}</strong> of ${h(formatBytes(peak.budgetBytes))} (${share}%)<br>
<span class="warn-text">${h(plural(hits.length, 'window'))} exhausted</span>
· <strong class="drops">${h(plural(drops, 'packet'))} dropped</strong></p></div>`;
  });
  return items.join('');
}

function renderExfiltration(agent: AgentReport): string {
  const x = agent.exfiltration;
  if (!x) return '<p class="muted">No exfiltration guard configured for this agent.</p>';
  const status = x.tripped
    ? '<span class="pill bad">✗ Tripped</span>'
    : '<span class="pill good">✓ Within threshold</span>';
  return `<div class="exfil" data-tripped="${String(x.tripped)}">
<p>${status}</p>
${meterBar(x.sensitiveBytes, x.thresholdBytes, {
  ariaLabel: `Sensitive bytes ${formatBytes(x.sensitiveBytes)} of threshold ${formatBytes(x.thresholdBytes)}`,
  kind: 'bytes',
  chart: 'exfil',
  width: 460,
  colour: COLOUR.sensitive,
  overColour: COLOUR.bad,
})}
<p class="small"><strong>${h(formatBytes(x.sensitiveBytes))}</strong> sent after reading sensitive sources;
threshold ${h(formatBytes(x.thresholdBytes))}.</p>
</div>`;
}

const MAX_SAMPLES = 25;

function renderSamples(agent: AgentReport): string {
  const samples = [...agent.denials.samples].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  if (samples.length === 0) return '<p class="muted">No denied attempts were sampled.</p>';
  const shown = samples.slice(0, MAX_SAMPLES);
  const rows = shown.map((s, i) => {
    const style = reasonStyle(s.reason, i);
    return (
      `<tr><td class="nowrap">${h(showTime(s.time, true))}</td>` +
      `<td><code>${h(s.dst)}</code>:${h(String(s.dstPort))}</td><td>${h(s.protocol)}</td>` +
      `<td>${h(s.rule)}</td><td><span class="swatch" style="background:${style.colour}"></span>${h(style.label)}</td>` +
      `<td>${s.audit ? '<span class="pill warn">audit only</span>' : '<span class="pill bad">blocked</span>'}</td></tr>`
    );
  });
  const more =
    samples.length > shown.length
      ? `<p class="muted small">Showing the first ${shown.length} of ${formatCount(samples.length)} samples.</p>`
      : '';
  return `<table class="samples">
<thead><tr><th>Time (UTC)</th><th>Destination</th><th>Protocol</th><th>Rule</th><th>Reason</th><th>Outcome</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>${more}`;
}

function renderAgent(agent: AgentReport, data: ReportData): string {
  const from = Date.parse(data.from);
  const to = Date.parse(data.to);
  const timeline = agent.timeline.map((p) => ({
    t: Date.parse(p.time),
    bytes: p.bytesOut,
    denied: p.denied,
  }));
  const reasons = Object.entries(agent.denials.byReason).sort(
    (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
  );
  const slices = reasons.map(([reason, n], i) => ({ ...reasonStyle(reason, i), value: n }));
  const exfil = agent.exfiltration;
  const figures = [
    card('Bytes out', formatBytes(agent.bytesOut)),
    card('Packets out', formatCount(agent.packetsOut)),
    card('Denials', formatCount(agent.denials.total), agent.denials.total > 0 ? 'bad' : ''),
    card('Quota hits', formatCount(agent.quotaHits.length), agent.quotaHits.length > 0 ? 'warn' : ''),
    card(
      'Exfiltration guard',
      exfil ? (exfil.tripped ? 'Tripped' : 'OK') : 'Off',
      exfil?.tripped ? 'bad' : '',
    ),
  ];
  const reasonSum = reasons.reduce((s, [, n]) => s + n, 0);
  const reasonNote =
    reasonSum !== agent.denials.total
      ? `<p class="muted small">Reasons account for ${formatCount(reasonSum)} of ${formatCount(agent.denials.total)} denials.</p>`
      : '';
  const versions = [...new Set(agent.rules.map((r) => r.policyVersion))].map(
    (v) => `<a href="#${h(versionAnchor(v))}"><code>${h(shortVersion(v))}</code></a>`,
  );
  return `<section class="agent" id="agent-${agent.agentId}" data-agent="${h(agent.name)}">
<header class="agent-head">
<h2>${h(agent.name)}</h2>
<span class="pill ${agent.mode === 'audit' ? 'warn' : 'neutral'}">${agent.mode === 'audit' ? 'audit mode' : 'enforcing'}</span>
<span class="muted small">agent id ${agent.agentId}${versions.length > 0 ? ` · policy ${versions.join(', ')}` : ''}</span>
</header>
<div class="cards compact">${figures.join('')}</div>
<div class="panel">
<h3>Bytes by rule</h3>
<p class="legend"><span class="swatch" style="background:${COLOUR.allow}"></span>allow
<span class="swatch" style="background:${COLOUR.deny}"></span>deny <span class="muted">· labelled with the policy version that authorised the entry</span></p>
${horizontalBarChart(ruleBars(agent), {
  ariaLabel: `Bytes by rule for ${agent.name}`,
  kind: 'bytes',
  chart: 'rules',
  width: 1000,
  labelWidth: 300,
  emptyText: agent.rules.length === 0 ? 'No rules counted traffic' : 'No bytes matched any rule',
})}
</div>
<div class="panel">
<h3>Over time</h3>
<p class="series-label"><span class="swatch" style="background:${COLOUR.bytes}"></span>Bytes out</p>
${timeSeriesChart(
  timeline.map((p) => ({ t: p.t, v: p.bytes })),
  {
    ariaLabel: `Bytes out over time for ${agent.name}`,
    kind: 'bytes',
    chart: 'bytes-over-time',
    from,
    to,
    style: 'area',
    colour: COLOUR.bytes,
    width: 1000,
    height: 170,
    emptyText: 'No bytes sent',
  },
)}
<p class="series-label"><span class="swatch" style="background:${COLOUR.denied}"></span>Denials</p>
${timeSeriesChart(
  timeline.map((p) => ({ t: p.t, v: p.denied })),
  {
    ariaLabel: `Denials over time for ${agent.name}`,
    kind: 'count',
    chart: 'denials-over-time',
    from,
    to,
    style: 'bars',
    colour: COLOUR.denied,
    width: 1000,
    height: 120,
    emptyText: 'No denials',
  },
)}
</div>
<div class="columns">
<div class="panel">
<h3>Denials by reason</h3>
${donutChart(slices, { ariaLabel: `Denials by reason for ${agent.name}`, unit: agent.denials.total === 1 ? 'denial' : 'denials', chart: 'reasons', emptyText: 'No denials in this period' })}
${reasonNote}
<h3 class="spaced">Exfiltration guard</h3>
${renderExfiltration(agent)}
</div>
<div class="panel">
<h3>Quotas</h3>
${renderQuotas(agent)}
</div>
</div>
<div class="panel">
<h3>Denied attempts <span class="muted small">(sample)</span></h3>
${renderSamples(agent)}
</div>
</section>`;
}

function renderPolicyVersions(data: ReportData): string {
  if (data.policyVersions.length === 0) {
    return `<section class="panel"><h2>Policy versions</h2><p class="muted">No policy versions in this period.</p></section>`;
  }
  const bytesBy = new Map<string, number>();
  for (const a of data.agents) {
    for (const r of a.rules)
      if (r.action === 'allow') bytesBy.set(r.policyVersion, (bytesBy.get(r.policyVersion) ?? 0) + r.bytes);
  }
  const rows = [...data.policyVersions]
    .sort((a, b) => Date.parse(a.firstSeen) - Date.parse(b.firstSeen))
    .map(
      (p) =>
        `<tr id="${h(versionAnchor(p.version))}"><td><code title="${h(p.version)}">${h(shortVersion(p.version))}</code></td>` +
        `<td class="nowrap">${h(showTime(p.firstSeen))}</td><td>${h(p.author ?? '—')}</td>` +
        `<td class="num">${h(formatCount(p.pushes))}</td><td class="num">${h(formatCount(p.rules))}</td>` +
        `<td class="num">${h(formatBytes(bytesBy.get(p.version) ?? 0))}</td></tr>`,
    );
  return `<section class="panel policies">
<h2>Policy versions</h2>
<table><thead><tr><th>Version</th><th>First seen (UTC)</th><th>Author</th><th class="num">Pushes</th><th class="num">Rules</th><th class="num">Bytes allowed</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>
</section>`;
}

const MAX_EVENTS = 20;

function renderDevices(data: ReportData): string {
  if (data.devices.length === 0) {
    return `<section class="panel"><h2>Devices</h2><p class="muted">No devices reported in this period.</p></section>`;
  }
  const blocks = data.devices.map((d) => {
    const events = [...d.events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    const shown = events.slice(-MAX_EVENTS);
    const list =
      shown.length === 0
        ? '<p class="muted small">No events.</p>'
        : `<table class="events"><tbody>${shown
            .map(
              (e) =>
                `<tr class="event-${h(e.kind)}"><td class="nowrap">${h(showTime(e.time, true))}</td>` +
                `<td class="nowrap"><span class="kind">${h(e.kind.replace(/_/g, ' '))}</span></td><td>${h(e.detail)}</td></tr>`,
            )
            .join('')}</tbody></table>`;
    const more =
      events.length > shown.length
        ? `<p class="muted small">Latest ${shown.length} of ${events.length} events.</p>`
        : '';
    return `<div class="device"><h3>${h(d.name)} <span class="pill neutral">${h(d.profile)}</span></h3>${list}${more}</div>`;
  });
  return `<section class="panel devices"><h2>Devices</h2>${blocks.join('')}</section>`;
}

const STYLE = `
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9dee4;--bg:#f4f6f8;--card:#fff;--good:#1d7a46;--bad:#c8362d;--warn:#a86411}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:26px;margin:0 0 6px}
h2{font-size:20px;margin:0 0 12px}
h3{font-size:15px;margin:0 0 10px;color:#323f4b}
h3.spaced{margin-top:22px}
p{margin:6px 0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
a{color:inherit}
.muted{color:var(--muted)}
.small{font-size:13px}
.nowrap{white-space:nowrap}
.ok-text{color:var(--good)}
.bad-text{color:var(--bad);font-weight:600}
.warn-text{color:var(--warn)}
.top{display:flex;gap:24px;justify-content:space-between;align-items:flex-start;flex-wrap:wrap;margin-bottom:20px}
.heading{flex:1 1 380px;min-width:0}
.period{font-size:16px}
.log-status{flex:0 1 560px;background:var(--card);border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:8px;padding:12px 16px;min-width:380px}
.log-status.ok{border-left-color:var(--good)}
.log-status.failed{border-left-color:var(--bad);background:#fdf1f0}
.verdict{font-size:18px;font-weight:700;margin-bottom:6px}
.log-status.ok .verdict{color:var(--good)}
.log-status.failed .verdict{color:var(--bad)}
.log-status.unchecked .verdict{color:var(--muted)}
.mark{display:inline-block;width:1.3em;text-align:center}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0;font-size:13px}
dt{color:var(--muted)}
dd{margin:0}
.hash{word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:0 0 16px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .value{font-size:24px;font-weight:700;font-variant-numeric:tabular-nums}
.card .label{color:var(--muted);font-size:13px}
.card.bad .value{color:var(--bad)}
.card.warn .value{color:var(--warn)}
.cards.compact .card{padding:8px 12px}
.cards.compact .value{font-size:19px}
.attention{margin:0 0 16px;padding:10px 14px 10px 32px;background:#fff8e6;border:1px solid #f0d9a8;border-radius:8px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:0 0 16px}
.agent{margin:28px 0 0;padding-top:8px;border-top:3px solid var(--ink)}
.agent-head{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap;margin:8px 0 12px}
.agent-head h2{margin:0;font-size:22px;word-break:break-word}
.columns{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.columns>.panel{margin:0 0 16px}
.pill{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;border:1px solid currentColor}
.pill.good{color:var(--good)}
.pill.bad{color:var(--bad)}
.pill.warn{color:var(--warn)}
.pill.neutral{color:var(--muted)}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin:0 6px 0 0;vertical-align:-1px}
.legend{margin:0 0 8px;font-size:13px}
.legend .swatch{margin-left:4px}
.series-label{font-size:13px;margin:8px 0 0;color:#323f4b}
.quota{margin:0 0 14px}
.quota-head{display:flex;justify-content:space-between;gap:12px;font-size:14px;margin-bottom:4px}
.chart{display:block;height:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid #edf0f3;padding:5px 8px;vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums}
.events{width:auto}
.events td{border-bottom:none;padding:2px 16px 2px 0}
.kind{font-weight:600}
.event-lost .kind,.event-drift_found .kind{color:var(--bad)}
.device{margin:0 0 12px}
.empty-report{text-align:center;padding:36px}
footer{color:var(--muted);font-size:12px;margin-top:24px}
@media (max-width:760px){.cards{grid-template-columns:repeat(2,1fr)}.columns{grid-template-columns:1fr}.log-status{min-width:0}}
@media print{
 body{background:#fff;font-size:12px}
 main{max-width:none;padding:0}
 .panel,.card,.log-status{break-inside:avoid}
 .agent{break-before:page;border-top:none}
 a{text-decoration:none}
}
`;

/**
 * The report as one HTML document: inline CSS and SVG only (no scripts, fonts or links), so it opens
 * offline, can be mailed as an attachment, and prints. All text from the data is escaped.
 */
export function renderReportHtml(data: ReportData): string {
  checkReportData(data);
  const totals = totalsOf(data);
  const agents =
    data.agents.length === 0
      ? `<section class="panel empty-report"><h2>No agent traffic</h2><p class="muted">No agent sent or was denied ` +
        `any traffic between ${h(showTime(data.from))} and ${h(showTime(data.to))} UTC.</p></section>`
      : data.agents.map((a) => renderAgent(a, data)).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${renderHeader(data)}
${renderSummary(data, totals)}
${renderOverview(data)}
${agents}
${renderPolicyVersions(data)}
${renderDevices(data)}
<footer>Byte figures use binary units (1 KiB = 1,024 bytes). Times are UTC. Denial samples are best-effort:
devices may drop digests under load, so a missing sample proves nothing.</footer>
</main>
</body>
</html>
`;
}
