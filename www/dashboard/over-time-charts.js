// Charts over time, as inline SVG: each variant's relative lift against control with its 95 %
// interval as a band (has the test settled?), and visitors first exposed per hour or day per
// variant. Input: GET /api/experiments/:key/results/over-time. Labels are text only (dom.js).

import { s } from './dom.js';
import { count, signedPercent } from './format.js';
import { variantColor, label, ticks } from './charts.js';

const WIDTH = 760;
const LEFT = 64;
const RIGHT = 170; // the legend
const TOP = 10;
const BOTTOM = 30;
// Early intervals are huge; beyond these the band is cut at the edge of the plot.
const LIFT_FLOOR = -1;
const LIFT_CEILING = 2;

function finite(x) {
  return typeof x === 'number' && Number.isFinite(x);
}

function dateLabel(ms, hourly) {
  const date = new Date(ms);
  const day = date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
  return hourly ? `${day} ${String(date.getUTCHours()).padStart(2, '0')}:00` : day;
}

/** The x position of each point (by time), and up to six tick labels under the axis. */
function timeAxis(svg, series, height) {
  const points = series.points;
  const hourly = series.granularity === 'hourly';
  const first = points[0].start;
  const span = Math.max(1, points[points.length - 1].start - first);
  const plot = WIDTH - LEFT - RIGHT;
  const x = (start) => (points.length === 1 ? LEFT + plot / 2 : LEFT + ((start - first) / span) * plot);
  const step = Math.max(1, Math.ceil(points.length / 6));
  for (let i = 0; i < points.length; i += step) {
    svg.appendChild(s('text', {
      class: 'tick', text: dateLabel(points[i].start, hourly),
      attrs: { x: x(points[i].start), y: height - 8, 'text-anchor': 'middle' },
    }));
  }
  return x;
}

function legend(svg, keys, from) {
  keys.forEach((key, i) => {
    if (i < from) return;
    const y = TOP + 12 + (i - from) * 18;
    svg.appendChild(s('rect', { attrs: { x: WIDTH - RIGHT + 14, y: y - 9, width: 10, height: 10, fill: variantColor(i) } }));
    svg.appendChild(s('text', { class: 'legend-label', text: label(key, 20), attrs: { x: WIDTH - RIGHT + 30, y } },
      s('title', { text: key })));
  });
}

/** Runs of consecutive points where `pick(point)` gives a value: lines and bands break at gaps. */
function runs(points, pick) {
  const out = [];
  let current = [];
  for (const point of points) {
    const value = pick(point);
    if (value === null) {
      if (current.length) out.push(current);
      current = [];
    } else {
      current.push({ start: point.start, value });
    }
  }
  if (current.length) out.push(current);
  return out;
}

/** The lift of every variant but control on goal `goalIndex`, with its 95 % interval as a band. */
export function liftOverTimeChart(series, goalIndex, caption) {
  const height = 240;
  const points = series.points;
  const variants = series.variants.map(String);
  const clamp = (v) => Math.min(Math.max(v, LIFT_FLOOR), LIFT_CEILING);
  const goalOf = (point, v) => (point.variants[v] && point.variants[v].goals && point.variants[v].goals[goalIndex]) || {};
  const values = [];
  for (const point of points) {
    for (let v = 1; v < variants.length; v++) {
      const g = goalOf(point, v);
      if (finite(g.lift)) values.push(clamp(g.lift));
      if (Array.isArray(g.ci) && finite(g.ci[0]) && finite(g.ci[1])) values.push(clamp(g.ci[0]), clamp(g.ci[1]));
    }
  }
  const svg = s('svg', {
    class: 'chart lift-over-time',
    attrs: { viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': caption },
  });
  svg.appendChild(s('title', { text: caption }));
  if (values.length === 0) {
    svg.appendChild(s('text', { class: 'muted-label', text: 'Not enough data for a lift yet.', attrs: { x: LEFT, y: height / 2 } }));
    return svg;
  }
  let low = Math.min(0, ...values);
  let high = Math.max(0, ...values);
  const pad = Math.max(0.01, (high - low) * 0.08);
  low -= pad;
  high += pad;
  const plotHeight = height - TOP - BOTTOM;
  const y = (v) => TOP + ((high - clamp(v)) / (high - low)) * plotHeight;
  const x = timeAxis(svg, series, height);

  const stepSize = ticks(high - low)[1] || (high - low) / 4;
  for (let t = Math.ceil(low / stepSize) * stepSize; t <= high; t += stepSize) {
    const value = Math.abs(t) < 1e-12 ? 0 : t;
    svg.appendChild(s('line', { class: 'grid', attrs: { x1: LEFT, x2: WIDTH - RIGHT, y1: y(value), y2: y(value) } }));
    svg.appendChild(s('text', { class: 'tick', text: value === 0 ? '0 %' : signedPercent(value, 0), attrs: { x: LEFT - 6, y: y(value) + 4, 'text-anchor': 'end' } }));
  }
  svg.appendChild(s('line', { class: 'zero', attrs: { x1: LEFT, x2: WIDTH - RIGHT, y1: y(0), y2: y(0) } }));

  for (let v = 1; v < variants.length; v++) {
    const color = variantColor(v);
    const intervals = runs(points, (p) => {
      const ci = goalOf(p, v).ci;
      return Array.isArray(ci) && finite(ci[0]) && finite(ci[1]) ? ci : null;
    });
    for (const run of intervals) {
      const upper = run.map((p) => `${x(p.start)},${y(p.value[1])}`);
      const lower = run.slice().reverse().map((p) => `${x(p.start)},${y(p.value[0])}`);
      svg.appendChild(s('polygon', { class: 'band', attrs: { points: upper.concat(lower).join(' '), fill: color, 'data-variant-index': v } }));
    }
    for (const run of runs(points, (p) => (finite(goalOf(p, v).lift) ? goalOf(p, v).lift : null))) {
      const line = run.map((p) => `${x(p.start)},${y(p.value)}`).join(' ');
      svg.appendChild(s('polyline', { class: 'lift-line', attrs: { points: line, stroke: color, 'data-variant-index': v } }));
      if (run.length === 1) {
        svg.appendChild(s('circle', { class: 'lift-dot', attrs: { cx: x(run[0].start), cy: y(run[0].value), r: 3, fill: color } }));
      }
    }
  }
  legend(svg, variants, 1);
  return svg;
}

/** Visitors first exposed in each bucket, one bar per variant side by side. */
export function visitorsOverTimeChart(series, caption) {
  const height = 200;
  const points = series.points;
  const variants = series.variants.map(String);
  const svg = s('svg', {
    class: 'chart visitors-over-time',
    attrs: { viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': caption },
  });
  svg.appendChild(s('title', { text: caption }));
  const counts = points.map((p) => variants.map((_, v) => Number(p.variants[v] && p.variants[v].new_visitors) || 0));
  const tickValues = ticks(Math.max(1, ...counts.flat()));
  const max = tickValues[tickValues.length - 1];
  const plotHeight = height - TOP - BOTTOM;
  const plot = WIDTH - LEFT - RIGHT;
  const y = (n) => TOP + plotHeight - (n / max) * plotHeight;
  for (const t of tickValues) {
    svg.appendChild(s('line', { class: 'grid', attrs: { x1: LEFT, x2: WIDTH - RIGHT, y1: y(t), y2: y(t) } }));
    svg.appendChild(s('text', { class: 'tick', text: count(t), attrs: { x: LEFT - 6, y: y(t) + 4, 'text-anchor': 'end' } }));
  }
  // Bars sit in equal slots, one per bucket; the labels use the same slots.
  const slot = plot / points.length;
  const bar = Math.max(0.5, (slot * 0.8) / Math.max(1, variants.length));
  points.forEach((point, i) => {
    counts[i].forEach((n, v) => {
      if (n <= 0) return;
      svg.appendChild(s('rect', {
        class: 'bar',
        attrs: { x: LEFT + i * slot + slot * 0.1 + v * bar, y: y(n), width: bar, height: y(0) - y(n), fill: variantColor(v) },
      }, s('title', { text: `${variants[v]}: ${count(n)}` })));
    });
  });
  const hourly = series.granularity === 'hourly';
  const every = Math.max(1, Math.ceil(points.length / 6));
  for (let i = 0; i < points.length; i += every) {
    svg.appendChild(s('text', {
      class: 'tick', text: dateLabel(points[i].start, hourly),
      attrs: { x: LEFT + (i + 0.5) * slot, y: height - 8, 'text-anchor': 'middle' },
    }));
  }
  legend(svg, variants, 0);
  return svg;
}
