/**
 * Small inline SVG charts for the audit report. Each function is pure: data and options in, one `<svg>`
 * string out, with no scripts, fonts or links, so a report stays a single file that opens offline and
 * prints the same as it shows. Colours come from the caller; sizes are in CSS pixels and the SVGs scale
 * down with their container (viewBox + width 100%).
 *
 * Every mark that encodes a value carries `data-value` with the raw number, so tests and anyone reading
 * the HTML can check a drawn length against the figure it claims to show.
 */

/** Escapes text for HTML and SVG, in element content and in quoted attribute values alike. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** The power of 1024 whose unit reads best for `bytes` (0 for plain bytes). */
function byteExponent(bytes: number): number {
  let exp = 0;
  while (exp < BYTE_UNITS.length - 1 && Math.abs(bytes) >= 1024 ** (exp + 1)) exp++;
  return exp;
}

/**
 * Bytes as people read them: whole bytes below 1 KiB, else three significant digits in the largest
 * binary unit that keeps the number at or above 1 ("1.5 KiB", "12.3 MiB", "512 GiB").
 */
export function formatBytes(bytes: number): string {
  let exp = byteExponent(bytes);
  if (exp === 0) return `${Math.round(bytes)} B`;
  let text = threeDigits(bytes / 1024 ** exp);
  // Rounding can carry into the next unit (1023.9 KiB → "1024 KiB"); move up rather than print that.
  if (Number(text) >= 1024 && exp < BYTE_UNITS.length - 1) {
    exp++;
    text = threeDigits(bytes / 1024 ** exp);
  }
  return `${text} ${BYTE_UNITS[exp]}`;
}

/** Three significant digits for 1 ≤ v < 1024, without exponent notation or trailing zeros. */
function threeDigits(v: number): string {
  const decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  const fixed = v.toFixed(decimals);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** An integer with thin grouping commas, independent of the machine's locale ("1,234,567"). */
export function formatCount(n: number): string {
  const whole = Math.round(n);
  const digits = String(Math.abs(whole));
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return whole < 0 ? `-${grouped}` : grouped;
}

/** How a chart's numbers are formatted and where its axis ticks fall: binary steps or decimal. */
export type ValueKind = 'bytes' | 'count';

export function formatValue(value: number, kind: ValueKind): string {
  return kind === 'bytes' ? formatBytes(value) : formatCount(value);
}

/** A coordinate with at most two decimals: enough for a crisp drawing, short enough to read. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** Cuts a label to about `maxChars`, so it cannot run into the bars; the full text goes in a tooltip. */
function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(1, maxChars - 1))}…`;
}

function svgOpen(width: number, height: number, ariaLabel: string, chart: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="${escapeXml(chart)}" ` +
    `viewBox="0 0 ${px(width)} ${px(height)}" width="100%" style="max-width:${px(width)}px" ` +
    `role="img" aria-label="${escapeXml(ariaLabel)}">` +
    `<title>${escapeXml(ariaLabel)}</title>`
  );
}

const INK = '#1f2933';
const MUTED = '#616e7c';
const GRID = '#e4e7eb';
const TRACK = '#eef1f4';
const FONT = 'font-family="inherit"';

/**
 * Round axis ticks from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten, in bytes' own
 * unit for byte axes so ticks read "256 KiB", "512 KiB" rather than "262,144".
 */
export function niceTicks(max: number, kind: ValueKind, maxTicks = 5): number[] {
  if (!(max > 0)) return [0, kind === 'bytes' ? 1024 : 1];
  const unit = kind === 'bytes' ? 1024 ** byteExponent(max) : 1;
  const scaled = max / unit;
  const rough = scaled / maxTicks;
  const power = 10 ** Math.floor(Math.log10(rough));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  // Counts are whole: a "0.5 denials" tick would be nonsense.
  if (kind === 'count' || unit === 1) step = Math.max(step, 1);
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    const v = i * step;
    ticks.push(v * unit);
    if (v >= scaled - 1e-9) break;
  }
  return ticks;
}

// ---------------------------------------------------------------------------------------------------
// Horizontal bars

export interface Bar {
  label: string;
  value: number;
  colour: string;
  /** A short second line under the label (the policy version that authorised the bytes, say). */
  note?: string;
  /** Tooltip; defaults to label, note and value. */
  title?: string;
}

export interface BarChartOptions {
  ariaLabel: string;
  kind: ValueKind;
  /** Value of the `data-chart` attribute, so a page can hold several charts and tests can find each. */
  chart?: string;
  width?: number;
  labelWidth?: number;
  /** Shown in place of the bars when every value is zero or there are no bars. */
  emptyText?: string;
}

const BAR_ROW = 34;
const BAR_THICKNESS = 18;
const VALUE_GUTTER = 86;
/** Width given to any non-zero bar that would otherwise round away to nothing. */
export const MIN_VISIBLE = 2;

/**
 * One bar per datum, longest = full plot width, every other bar in proportion (a zero value draws a
 * zero-width bar, so its row stays visible and honest). Order is the caller's.
 */
export function horizontalBarChart(bars: readonly Bar[], opts: BarChartOptions): string {
  const width = opts.width ?? 720;
  const labelWidth = opts.labelWidth ?? 220;
  const plotX = labelWidth + 10;
  const plotWidth = Math.max(40, width - plotX - VALUE_GUTTER);
  const max = Math.max(0, ...bars.map((b) => b.value));
  const empty = bars.length === 0 || max === 0;
  const rows = Math.max(bars.length, 1);
  const height = rows * BAR_ROW + (empty ? 24 : 6);
  const labelChars = Math.floor(labelWidth / 7.2);
  const parts = [svgOpen(width, height, opts.ariaLabel, opts.chart ?? 'bars')];

  bars.forEach((bar, i) => {
    const y = i * BAR_ROW + 4;
    // A non-zero value keeps a visible sliver, so a small deny count never reads as nothing at all.
    const w = max > 0 ? Math.max((bar.value / max) * plotWidth, bar.value > 0 ? MIN_VISIBLE : 0) : 0;
    const tip =
      bar.title ?? `${bar.label}${bar.note ? ` (${bar.note})` : ''}: ${formatValue(bar.value, opts.kind)}`;
    const labelY = bar.note ? y + 9 : y + BAR_THICKNESS / 2 + 4;
    parts.push(
      `<g class="bar-row"><title>${escapeXml(tip)}</title>`,
      `<text x="${px(labelWidth)}" y="${px(labelY)}" text-anchor="end" font-size="13" fill="${INK}" ${FONT}>` +
        `${escapeXml(clip(bar.label, labelChars))}</text>`,
    );
    if (bar.note) {
      parts.push(
        `<text x="${px(labelWidth)}" y="${px(y + 23)}" text-anchor="end" font-size="11" fill="${MUTED}" ${FONT}>` +
          `${escapeXml(clip(bar.note, labelChars + 2))}</text>`,
      );
    }
    parts.push(
      `<rect x="${px(plotX)}" y="${px(y)}" width="${px(plotWidth)}" height="${BAR_THICKNESS}" rx="3" fill="${TRACK}"/>`,
      `<rect class="bar" x="${px(plotX)}" y="${px(y)}" width="${px(w)}" height="${BAR_THICKNESS}" rx="3" ` +
        `fill="${escapeXml(bar.colour)}" data-value="${bar.value}"/>`,
      `<text x="${px(plotX + plotWidth + 8)}" y="${px(y + BAR_THICKNESS / 2 + 4)}" font-size="12" fill="${INK}" ` +
        `${FONT} font-variant-numeric="tabular-nums">${escapeXml(formatValue(bar.value, opts.kind))}</text>`,
      `</g>`,
    );
  });
  if (empty) {
    parts.push(emptyNote(plotX + plotWidth / 2, height - 12, opts.emptyText ?? 'Nothing to show'));
  }
  parts.push('</svg>');
  return parts.join('');
}

function emptyNote(x: number, y: number, text: string): string {
  return (
    `<text class="empty" x="${px(x)}" y="${px(y)}" text-anchor="middle" font-size="12" font-style="italic" ` +
    `fill="${MUTED}" ${FONT}>${escapeXml(text)}</text>`
  );
}

// ---------------------------------------------------------------------------------------------------
// Stacked bars

export interface Segment {
  label: string;
  value: number;
  colour: string;
}

export interface StackedRow {
  label: string;
  segments: readonly Segment[];
}

export interface StackedBarOptions {
  ariaLabel: string;
  kind: ValueKind;
  chart?: string;
  width?: number;
  labelWidth?: number;
  emptyText?: string;
}

/**
 * One bar per row, made of its segments end to end, all rows on one scale (the largest total fills the
 * plot). A legend lists each segment label once, in first-seen order, with the colour it was first given.
 */
export function stackedBarChart(rows: readonly StackedRow[], opts: StackedBarOptions): string {
  const width = opts.width ?? 720;
  const labelWidth = opts.labelWidth ?? 180;
  const plotX = labelWidth + 10;
  const plotWidth = Math.max(40, width - plotX - VALUE_GUTTER);
  const totals = rows.map((r) => r.segments.reduce((s, seg) => s + seg.value, 0));
  const max = Math.max(0, ...totals);
  const empty = rows.length === 0 || max === 0;
  const legend = new Map<string, string>();
  for (const r of rows) for (const s of r.segments) if (!legend.has(s.label)) legend.set(s.label, s.colour);
  const legendHeight = legend.size > 0 ? 26 : 0;
  const bodyHeight = Math.max(rows.length, 1) * 30 + (empty ? 20 : 4);
  const height = legendHeight + bodyHeight;
  const parts = [svgOpen(width, height, opts.ariaLabel, opts.chart ?? 'stacked')];

  let lx = plotX;
  for (const [label, colour] of legend) {
    parts.push(
      `<rect x="${px(lx)}" y="4" width="12" height="12" rx="2" fill="${escapeXml(colour)}"/>`,
      `<text x="${px(lx + 17)}" y="14" font-size="12" fill="${INK}" ${FONT}>${escapeXml(label)}</text>`,
    );
    lx += 17 + label.length * 7 + 18;
  }

  rows.forEach((row, i) => {
    const y = legendHeight + i * 30 + 4;
    parts.push(
      `<g class="stack-row">`,
      `<text x="${px(labelWidth)}" y="${px(y + 14)}" text-anchor="end" font-size="13" fill="${INK}" ${FONT}>` +
        `${escapeXml(clip(row.label, Math.floor(labelWidth / 7.2)))}<title>${escapeXml(row.label)}</title></text>`,
      `<rect x="${px(plotX)}" y="${px(y)}" width="${px(plotWidth)}" height="20" rx="3" fill="${TRACK}"/>`,
    );
    let x = plotX;
    for (const seg of row.segments) {
      const w = max > 0 ? (seg.value / max) * plotWidth : 0;
      parts.push(
        `<rect class="segment" x="${px(x)}" y="${px(y)}" width="${px(w)}" height="20" ` +
          `fill="${escapeXml(seg.colour)}" data-value="${seg.value}">` +
          `<title>${escapeXml(`${row.label} · ${seg.label}: ${formatValue(seg.value, opts.kind)}`)}</title></rect>`,
      );
      x += w;
    }
    parts.push(
      `<text x="${px(plotX + plotWidth + 8)}" y="${px(y + 14)}" font-size="12" fill="${INK}" ${FONT}>` +
        `${escapeXml(formatValue(totals[i] ?? 0, opts.kind))}</text>`,
      `</g>`,
    );
  });
  if (empty) parts.push(emptyNote(plotX + plotWidth / 2, height - 8, opts.emptyText ?? 'Nothing to show'));
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------------
// Meter: one value against its limit

export interface MeterOptions {
  ariaLabel: string;
  kind: ValueKind;
  chart?: string;
  width?: number;
  /** Fill colour while the value is within the limit. */
  colour: string;
  /** Fill colour for the part beyond the limit. */
  overColour: string;
}

/**
 * A single bar of `value` against `limit`: the track is the limit, the fill the value, and a value past
 * the limit extends beyond a marked limit line in the over colour (scale = the larger of the two). A
 * zero limit draws the marker at the start, so anything used shows as over.
 */
export function meterBar(value: number, limit: number, opts: MeterOptions): string {
  const width = opts.width ?? 720;
  const height = 22;
  const scale = Math.max(value, limit);
  const toX = (v: number): number => (scale > 0 ? (v / scale) * width : 0);
  const within = Math.min(value, limit);
  const parts = [svgOpen(width, height, opts.ariaLabel, opts.chart ?? 'meter')];
  parts.push(
    `<rect class="limit" x="0" y="3" width="${px(toX(limit))}" height="16" rx="3" fill="${TRACK}" ` +
      `data-value="${limit}"/>`,
    `<rect class="used" x="0" y="3" width="${px(toX(within))}" height="16" rx="3" fill="${escapeXml(opts.colour)}" ` +
      `data-value="${within}"/>`,
  );
  if (value > limit) {
    parts.push(
      `<rect class="over" x="${px(toX(limit))}" y="3" width="${px(toX(value - limit))}" height="16" ` +
        `fill="${escapeXml(opts.overColour)}" data-value="${value - limit}"/>`,
    );
  }
  const markX = Math.min(Math.max(toX(limit), 1), width - 1);
  parts.push(
    `<line x1="${px(markX)}" y1="0" x2="${px(markX)}" y2="${height}" stroke="${INK}" stroke-width="2"/>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------------
// Time series

export interface TimePoint {
  /** Milliseconds since the Unix epoch. */
  t: number;
  v: number;
}

export interface TimeSeriesOptions {
  ariaLabel: string;
  kind: ValueKind;
  chart?: string;
  /** The x domain, in epoch milliseconds; points outside it widen it rather than vanish. */
  from: number;
  to: number;
  /** 'area' for a quantity over time, 'bars' for events counted per interval. */
  style: 'area' | 'bars';
  colour: string;
  width?: number;
  height?: number;
  emptyText?: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
];

/** Tick times on whole UTC minutes/hours/days, at most `maxTicks` of them inside [from, to]. */
export function timeTicks(from: number, to: number, maxTicks = 7): number[] {
  const span = Math.max(to - from, 1);
  const step = TIME_STEPS.find((s) => span / s <= maxTicks) ?? Math.ceil(span / maxTicks / DAY) * DAY;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

function timeLabel(t: number, span: number): string {
  const iso = new Date(t).toISOString();
  const hm = iso.slice(11, 16);
  const md = iso.slice(5, 10);
  if (span <= DAY) return hm;
  return hm === '00:00' ? md : `${md} ${hm}`;
}

/**
 * Values over time on a y axis from zero. Areas join the points in time order; bars sit centred on
 * their point, as wide as the tightest spacing allows. The axis is always labelled in UTC so a printed
 * report means the same thing everywhere.
 */
export function timeSeriesChart(points: readonly TimePoint[], opts: TimeSeriesOptions): string {
  const width = opts.width ?? 720;
  const height = opts.height ?? 170;
  const left = 72;
  const right = 16;
  const top = 10;
  const bottom = 26;
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const from = Math.min(opts.from, sorted[0]?.t ?? opts.from);
  const to = Math.max(opts.to, sorted[sorted.length - 1]?.t ?? opts.to, from + 1);
  const max = Math.max(0, ...sorted.map((p) => p.v));
  const yTicks = niceTicks(max, opts.kind, 4);
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const x = (t: number): number => left + ((t - from) / (to - from)) * plotW;
  const y = (v: number): number => top + plotH - (v / yMax) * plotH;
  const parts = [svgOpen(width, height, opts.ariaLabel, opts.chart ?? 'timeseries')];

  for (const tick of yTicks) {
    parts.push(
      `<line x1="${left}" y1="${px(y(tick))}" x2="${px(left + plotW)}" y2="${px(y(tick))}" stroke="${GRID}"/>`,
      `<text x="${left - 8}" y="${px(y(tick) + 4)}" text-anchor="end" font-size="11" fill="${MUTED}" ${FONT}>` +
        `${escapeXml(formatValue(tick, opts.kind))}</text>`,
    );
  }
  for (const tick of timeTicks(from, to)) {
    parts.push(
      `<line x1="${px(x(tick))}" y1="${px(top + plotH)}" x2="${px(x(tick))}" y2="${px(top + plotH + 4)}" stroke="${MUTED}"/>`,
      `<text x="${px(x(tick))}" y="${px(height - 8)}" text-anchor="middle" font-size="11" fill="${MUTED}" ${FONT}>` +
        `${escapeXml(timeLabel(tick, to - from))}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" y1="${px(top + plotH)}" x2="${px(left + plotW)}" y2="${px(top + plotH)}" stroke="${MUTED}"/>`,
  );
  const colour = escapeXml(opts.colour);

  if (opts.style === 'area' && sorted.length > 1) {
    const line = sorted.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(x(p.t))},${px(y(p.v))}`).join(' ');
    const first = sorted[0] as TimePoint;
    const last = sorted[sorted.length - 1] as TimePoint;
    const area = `${line} L${px(x(last.t))},${px(y(0))} L${px(x(first.t))},${px(y(0))} Z`;
    parts.push(
      `<path class="area" d="${area}" fill="${colour}" fill-opacity="0.18" stroke="none"/>`,
      `<path class="line" d="${line}" fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round"/>`,
    );
  }
  if (opts.style === 'area' && sorted.length === 1) {
    const only = sorted[0] as TimePoint;
    // One reading has no shape to fill; a dot still says where and how much.
    parts.push(`<circle class="point" cx="${px(x(only.t))}" cy="${px(y(only.v))}" r="4" fill="${colour}"/>`);
  }
  if (opts.style === 'bars') {
    let gap = plotW / 12;
    for (let i = 1; i < sorted.length; i++) {
      const d = x((sorted[i] as TimePoint).t) - x((sorted[i - 1] as TimePoint).t);
      if (d > 0) gap = Math.min(gap, d);
    }
    const barW = Math.max(1.5, Math.min(gap * 0.7, 24));
    for (const p of sorted) {
      const h = y(0) - y(p.v);
      parts.push(
        `<rect class="tbar" x="${px(x(p.t) - barW / 2)}" y="${px(y(p.v))}" width="${px(barW)}" height="${px(h)}" ` +
          `fill="${colour}" data-value="${p.v}"><title>${escapeXml(
            `${new Date(p.t).toISOString().slice(0, 16).replace('T', ' ')} UTC: ${formatValue(p.v, opts.kind)}`,
          )}</title></rect>`,
      );
    }
  }
  if (max === 0)
    parts.push(emptyNote(left + plotW / 2, top + plotH / 2, opts.emptyText ?? 'None in this period'));
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------------
// Donut

export interface Slice {
  label: string;
  value: number;
  colour: string;
}

export interface DonutOptions {
  ariaLabel: string;
  chart?: string;
  /** Word under the total in the hole ("denials"). */
  unit: string;
  emptyText?: string;
}

/**
 * Shares of a whole as a ring, with a legend of label, count and percentage. Slices are stroke dashes
 * on one circle, so a single slice is a plain full ring and there is no arc arithmetic to get wrong at
 * 0° or 360°. Zero-valued slices are left out of the ring but kept in the legend.
 */
export function donutChart(slices: readonly Slice[], opts: DonutOptions): string {
  const size = 150;
  const r = 56;
  const stroke = 22;
  const cx = size / 2;
  const cy = size / 2;
  const circumference = 2 * Math.PI * r;
  const total = slices.reduce((s, x) => s + x.value, 0);
  const legendRows = Math.max(slices.length, 1);
  const width = 460;
  const height = Math.max(size, legendRows * 22 + 16);
  const parts = [svgOpen(width, height, opts.ariaLabel, opts.chart ?? 'donut')];
  parts.push(
    `<circle cx="${cx}" cy="${cy}" r="${r}" fill="none" stroke="${TRACK}" stroke-width="${stroke}"/>`,
  );
  let offset = 0;
  for (const slice of slices) {
    if (!(slice.value > 0) || total === 0) continue;
    const len = (slice.value / total) * circumference;
    const dash =
      slice.value === total
        ? ''
        : ` stroke-dasharray="${px(len)} ${px(circumference - len)}" stroke-dashoffset="${px(-offset)}"`;
    // Start at twelve o'clock and go clockwise, as people read a clock face.
    parts.push(
      `<circle class="slice" cx="${cx}" cy="${cy}" r="${r}" fill="none" stroke="${escapeXml(slice.colour)}" ` +
        `stroke-width="${stroke}"${dash} transform="rotate(-90 ${cx} ${cy})" data-value="${slice.value}">` +
        `<title>${escapeXml(`${slice.label}: ${formatCount(slice.value)}`)}</title></circle>`,
    );
    offset += len;
  }
  parts.push(
    `<text x="${cx}" y="${cy + 2}" text-anchor="middle" font-size="24" font-weight="600" fill="${INK}" ${FONT}>` +
      `${escapeXml(formatCount(total))}</text>`,
    `<text x="${cx}" y="${cy + 20}" text-anchor="middle" font-size="11" fill="${MUTED}" ${FONT}>` +
      `${escapeXml(opts.unit)}</text>`,
  );
  const lx = size + 20;
  if (slices.length === 0 || total === 0) {
    parts.push(
      `<text class="empty" x="${lx}" y="${cy + 4}" font-size="12" font-style="italic" fill="${MUTED}" ${FONT}>` +
        `${escapeXml(opts.emptyText ?? 'None')}</text>`,
    );
  }
  slices.forEach((slice, i) => {
    if (total === 0) return;
    const y = (height - slices.length * 22) / 2 + i * 22 + 4;
    const share = total > 0 ? Math.round((slice.value / total) * 1000) / 10 : 0;
    parts.push(
      `<rect x="${lx}" y="${px(y)}" width="12" height="12" rx="2" fill="${escapeXml(slice.colour)}"/>`,
      `<text x="${lx + 18}" y="${px(y + 10)}" font-size="12" fill="${INK}" ${FONT}>${escapeXml(clip(slice.label, 30))}</text>`,
      `<text x="${width - 60}" y="${px(y + 10)}" text-anchor="end" font-size="12" fill="${INK}" ${FONT}>` +
        `${escapeXml(formatCount(slice.value))}</text>`,
      `<text x="${width - 4}" y="${px(y + 10)}" text-anchor="end" font-size="12" fill="${MUTED}" ${FONT}>${share}%</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
