import assert from 'node:assert/strict';
import {
  donutChart,
  escapeXml,
  formatBytes,
  formatCount,
  horizontalBarChart,
  meterBar,
  MIN_VISIBLE,
  niceTicks,
  stackedBarChart,
  timeSeriesChart,
  timeTicks,
} from './charts';

/** Attribute maps of every `<tag ...>` in `svg` whose class list holds `cls` (any when omitted). */
function elements(svg: string, tag: string, cls?: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(new RegExp(`<${tag}\\b([^>]*?)/?>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1] as string] = a[2] as string;
    if (cls === undefined || (attrs['class'] ?? '').split(' ').includes(cls)) out.push(attrs);
  }
  return out;
}

function num(attrs: Record<string, string>, name: string): number {
  const v = Number(attrs[name]);
  assert.ok(Number.isFinite(v), `${name}="${attrs[name]}" is not a finite number`);
  return v;
}

function assertNoNaN(svg: string): void {
  assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
}

describe('report charts', () => {
  describe('formatting', () => {
    it('formats bytes in binary units with three significant digits', () => {
      assert.equal(formatBytes(0), '0 B');
      assert.equal(formatBytes(1023), '1023 B');
      assert.equal(formatBytes(1024), '1 KiB');
      assert.equal(formatBytes(1536), '1.5 KiB');
      assert.equal(formatBytes(12.34 * 1024 ** 2), '12.3 MiB');
      assert.equal(formatBytes(512 * 1024 ** 3), '512 GiB');
      assert.equal(formatBytes(1000 * 1024), '1000 KiB');
      assert.equal(formatBytes(9.999 * 1024), '10 KiB');
      // 1023.99 KiB would round to "1024 KiB"; it must carry into the next unit instead.
      assert.equal(formatBytes(1024 ** 2 - 1), '1 MiB');
    });

    it('groups digits the same way on every machine', () => {
      assert.equal(formatCount(0), '0');
      assert.equal(formatCount(999), '999');
      assert.equal(formatCount(1000), '1,000');
      assert.equal(formatCount(1234567), '1,234,567');
    });

    it('escapes every character that could open markup or close an attribute', () => {
      assert.equal(escapeXml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    });
  });

  describe('axis ticks', () => {
    it('reach at least the maximum in even round steps', () => {
      for (const [max, kind] of [
        [7, 'count'],
        [1711, 'count'],
        [3.3 * 1024 ** 2, 'bytes'],
        [900, 'bytes'],
      ] as const) {
        const ticks = niceTicks(max, kind);
        assert.equal(ticks[0], 0);
        assert.ok((ticks[ticks.length - 1] as number) >= max, `${ticks} must cover ${max}`);
        const step = (ticks[1] as number) - (ticks[0] as number);
        ticks.forEach((t, i) => assert.ok(Math.abs(t - i * step) < 1e-6));
        if (kind === 'count') assert.ok(ticks.every((t) => Number.isInteger(t)));
      }
    });

    it('still gives an axis when everything is zero', () => {
      assert.deepEqual(niceTicks(0, 'count'), [0, 1]);
      assert.deepEqual(niceTicks(0, 'bytes'), [0, 1024]);
    });

    it('puts time ticks on whole UTC hours inside the period', () => {
      const from = Date.UTC(2025, 2, 14, 0, 7);
      const to = Date.UTC(2025, 2, 15, 0, 0);
      const ticks = timeTicks(from, to);
      assert.ok(ticks.length >= 2 && ticks.length <= 7);
      for (const t of ticks) {
        assert.ok(t >= from && t <= to);
        assert.equal(t % 3_600_000, 0);
      }
    });
  });

  describe('horizontal bars', () => {
    it('draws bar lengths in proportion to the values', () => {
      const values = [4000, 1000, 2500, 0];
      const svg = horizontalBarChart(
        values.map((v, i) => ({ label: `r${i}`, value: v, colour: '#000' })),
        { ariaLabel: 'x', kind: 'bytes' },
      );
      const bars = elements(svg, 'rect', 'bar');
      assert.equal(bars.length, values.length);
      const full = num(bars[0] as Record<string, string>, 'width');
      bars.forEach((b, i) => {
        assert.equal(num(b, 'data-value'), values[i]);
        assert.ok(Math.abs(num(b, 'width') - ((values[i] as number) / 4000) * full) <= 0.01);
      });
    });

    it('draws nothing but the empty note when every value is zero', () => {
      const svg = horizontalBarChart(
        [
          { label: 'a', value: 0, colour: '#000' },
          { label: 'b', value: 0, colour: '#000' },
        ],
        { ariaLabel: 'x', kind: 'bytes', emptyText: 'No traffic' },
      );
      assertNoNaN(svg);
      assert.deepEqual(
        elements(svg, 'rect', 'bar').map((b) => num(b, 'width')),
        [0, 0],
      );
      assert.match(svg, /class="empty"[^>]*>No traffic</);
    });

    it('fills the whole track with a single value, and shows the empty note for no bars', () => {
      const svg = horizontalBarChart([{ label: 'only', value: 5, colour: '#000' }], {
        ariaLabel: 'x',
        kind: 'count',
      });
      const track = elements(svg, 'rect').find((r) => r['class'] === undefined) as Record<string, string>;
      assert.equal(
        num(elements(svg, 'rect', 'bar')[0] as Record<string, string>, 'width'),
        num(track, 'width'),
      );
      assert.doesNotMatch(svg, /class="empty"/);
      assert.match(horizontalBarChart([], { ariaLabel: 'x', kind: 'count' }), /class="empty"/);
    });

    it('keeps a tiny non-zero value visible', () => {
      const svg = horizontalBarChart(
        [
          { label: 'big', value: 1e9, colour: '#000' },
          { label: 'tiny', value: 1, colour: '#000' },
        ],
        { ariaLabel: 'x', kind: 'bytes' },
      );
      assert.equal(num(elements(svg, 'rect', 'bar')[1] as Record<string, string>, 'width'), MIN_VISIBLE);
    });
  });

  describe('stacked bars', () => {
    it('puts all rows on one scale, segments end to end, with one legend entry per label', () => {
      const rows = [
        {
          label: 'a',
          segments: [
            { label: 'allowed', value: 300, colour: '#00f' },
            { label: 'denied', value: 100, colour: '#f00' },
          ],
        },
        {
          label: 'b',
          segments: [
            { label: 'allowed', value: 100, colour: '#00f' },
            { label: 'denied', value: 0, colour: '#f00' },
          ],
        },
      ];
      const svg = stackedBarChart(rows, { ariaLabel: 'x', kind: 'bytes' });
      const segs = elements(svg, 'rect', 'segment');
      assert.equal(segs.length, 4);
      const unit = num(segs[0] as Record<string, string>, 'width') / 300;
      segs.forEach((s) => assert.ok(Math.abs(num(s, 'width') - num(s, 'data-value') * unit) <= 0.02));
      // The second segment starts where the first ends.
      assert.ok(
        Math.abs(
          num(segs[1] as Record<string, string>, 'x') -
            (num(segs[0] as Record<string, string>, 'x') + num(segs[0] as Record<string, string>, 'width')),
        ) <= 0.02,
      );
      assert.equal(svg.match(/>allowed</g)?.length, 1);
      assert.equal(svg.match(/>denied</g)?.length, 1);
    });

    it('handles rows that are all zero', () => {
      const svg = stackedBarChart([{ label: 'a', segments: [{ label: 's', value: 0, colour: '#000' }] }], {
        ariaLabel: 'x',
        kind: 'bytes',
      });
      assertNoNaN(svg);
      assert.match(svg, /class="empty"/);
    });
  });

  describe('meter', () => {
    it('fills the used share of the limit and shows no overflow within it', () => {
      const svg = meterBar(30, 120, {
        ariaLabel: 'x',
        kind: 'bytes',
        width: 400,
        colour: '#00f',
        overColour: '#f00',
      });
      assert.equal(num(elements(svg, 'rect', 'limit')[0] as Record<string, string>, 'width'), 400);
      assert.equal(num(elements(svg, 'rect', 'used')[0] as Record<string, string>, 'width'), 100);
      assert.equal(elements(svg, 'rect', 'over').length, 0);
    });

    it('draws the part past the limit after the limit, on a scale that fits both', () => {
      const svg = meterBar(150, 100, {
        ariaLabel: 'x',
        kind: 'bytes',
        width: 300,
        colour: '#00f',
        overColour: '#f00',
      });
      const limit = num(elements(svg, 'rect', 'limit')[0] as Record<string, string>, 'width');
      const over = elements(svg, 'rect', 'over')[0] as Record<string, string>;
      assert.equal(limit, 200);
      assert.equal(num(over, 'x'), 200);
      assert.equal(num(over, 'width'), 100);
    });

    it('survives a zero limit and a zero value', () => {
      const zero = meterBar(0, 0, { ariaLabel: 'x', kind: 'bytes', colour: '#00f', overColour: '#f00' });
      assertNoNaN(zero);
      const noBudget = meterBar(10, 0, {
        ariaLabel: 'x',
        kind: 'bytes',
        width: 50,
        colour: '#00f',
        overColour: '#f00',
      });
      assert.equal(num(elements(noBudget, 'rect', 'over')[0] as Record<string, string>, 'width'), 50);
    });
  });

  describe('time series', () => {
    const from = Date.UTC(2025, 2, 14);
    const to = from + 4 * 3_600_000;

    it('joins area points left to right in time order, whatever order they came in', () => {
      const svg = timeSeriesChart(
        [
          { t: from + 2 * 3_600_000, v: 5 },
          { t: from, v: 1 },
          { t: from + 3_600_000, v: 10 },
        ],
        { ariaLabel: 'x', kind: 'bytes', from, to, style: 'area', colour: '#00f' },
      );
      const line = elements(svg, 'path', 'line')[0] as Record<string, string>;
      const xs = [...(line['d'] as string).matchAll(/[ML]([\d.]+),/g)].map((m) => Number(m[1]));
      assert.equal(xs.length, 3);
      assert.ok((xs[0] as number) < (xs[1] as number) && (xs[1] as number) < (xs[2] as number));
    });

    it('draws a single reading as a dot', () => {
      const svg = timeSeriesChart([{ t: from + 3_600_000, v: 7 }], {
        ariaLabel: 'x',
        kind: 'count',
        from,
        to,
        style: 'area',
        colour: '#00f',
      });
      assert.equal(elements(svg, 'circle', 'point').length, 1);
      assert.equal(elements(svg, 'path', 'line').length, 0);
    });

    it('gives bars heights in proportion to their values, and says so when all are zero', () => {
      const points = [
        { t: from, v: 2 },
        { t: from + 3_600_000, v: 8 },
        { t: from + 2 * 3_600_000, v: 0 },
      ];
      const svg = timeSeriesChart(points, {
        ariaLabel: 'x',
        kind: 'count',
        from,
        to,
        style: 'bars',
        colour: '#f00',
      });
      const heights = elements(svg, 'rect', 'tbar').map((b) => num(b, 'height'));
      assert.ok(Math.abs((heights[1] as number) - 4 * (heights[0] as number)) <= 0.02);
      assert.equal(heights[2], 0);
      const zeros = timeSeriesChart(
        points.map((p) => ({ ...p, v: 0 })),
        { ariaLabel: 'x', kind: 'count', from, to, style: 'bars', colour: '#f00', emptyText: 'No denials' },
      );
      assertNoNaN(zeros);
      assert.match(zeros, />No denials</);
    });

    it('draws an empty series and a zero-length period without NaN', () => {
      assertNoNaN(
        timeSeriesChart([], { ariaLabel: 'x', kind: 'bytes', from, to, style: 'area', colour: '#00f' }),
      );
      assertNoNaN(
        timeSeriesChart([{ t: from, v: 3 }], {
          ariaLabel: 'x',
          kind: 'bytes',
          from,
          to: from,
          style: 'bars',
          colour: '#00f',
        }),
      );
    });
  });

  describe('donut', () => {
    it('splits the ring in proportion, leaving zero slices out of the ring but in the legend', () => {
      const svg = donutChart(
        [
          { label: 'quota', value: 30, colour: '#00f' },
          { label: 'deny', value: 10, colour: '#f00' },
          { label: 'rate', value: 0, colour: '#0f0' },
        ],
        { ariaLabel: 'x', unit: 'denials' },
      );
      const slices = elements(svg, 'circle', 'slice');
      assert.equal(slices.length, 2);
      const dash = slices.map(
        (s) => (s['stroke-dasharray'] as string).split(' ').map(Number) as [number, number],
      );
      const circumference = (dash[0] as [number, number])[0] + (dash[0] as [number, number])[1];
      assert.ok(Math.abs((dash[0] as [number, number])[0] - 0.75 * circumference) <= 0.02);
      assert.ok(Math.abs((dash[1] as [number, number])[0] - 0.25 * circumference) <= 0.02);
      assert.match(svg, />rate</);
      assert.match(svg, />40</);
    });

    it('draws one value as a whole ring, and all zeros as an empty ring with a note', () => {
      const one = donutChart([{ label: 'quota', value: 3, colour: '#00f' }], {
        ariaLabel: 'x',
        unit: 'denials',
      });
      const slices = elements(one, 'circle', 'slice');
      assert.equal(slices.length, 1);
      assert.equal((slices[0] as Record<string, string>)['stroke-dasharray'], undefined);
      const none = donutChart([{ label: 'quota', value: 0, colour: '#00f' }], {
        ariaLabel: 'x',
        unit: 'denials',
        emptyText: 'No denials',
      });
      assertNoNaN(none);
      assert.equal(elements(none, 'circle', 'slice').length, 0);
      assert.match(none, />No denials</);
      assert.match(donutChart([], { ariaLabel: 'x', unit: 'denials' }), /class="empty"/);
    });
  });
});
