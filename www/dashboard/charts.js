// The dashboard's two charts, drawn as inline SVG: conversion rate with 95 % intervals per variant,
// and each variant's funnel. Labels are set with textContent (see dom.js), so keys can hold anything.

import { s } from './dom.js';
import { percent, count } from './format.js';

// Kept in step with the .swatch--N classes in dashboard.css (the table's colour keys).
const PALETTE = ['#64748b', '#2563eb', '#d97706', '#059669', '#9333ea', '#dc2626'];
export const PALETTE_SIZE = PALETTE.length;

export function variantColor(index) {
  return PALETTE[index % PALETTE.length];
}

/** Shortens a label for a fixed-width column; the full text stays in a <title> tooltip. */
export function label(text, max) {
  const full = String(text);
  return full.length > max ? full.slice(0, max - 1) + '…' : full;
}

/** Round tick values covering [0, max]. */
export function ticks(max) {
  const rough = max / 5;
  const magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((m) => m >= rough) || rough;
  const values = [];
  // The last tick is at or beyond max, so the top of every interval stays on the axis.
  for (let i = 0; values.length === 0 || values[values.length - 1] < max; i++) values.push(i * step);
  return values;
}

/**
 * rows: [{key, rate, ci: [lo, hi] | null}], control first.
 * A horizontal bar per variant for the rate, a whisker for its interval.
 */
export function rateChart(rows, caption) {
  const width = 720;
  const labelWidth = 170;
  const valueWidth = 190;
  const rowHeight = 34;
  const top = 8;
  const axisHeight = 26;
  const plotWidth = width - labelWidth - valueWidth;
  const height = top + rows.length * rowHeight + axisHeight;
  const highest = Math.max(0.001, ...rows.map((r) => Math.max(r.rate || 0, r.ci ? r.ci[1] : 0)));
  const tickValues = ticks(highest * 1.05);
  const max = tickValues[tickValues.length - 1];
  const x = (v) => labelWidth + (Math.min(Math.max(v, 0), max) / max) * plotWidth;

  const svg = s('svg', {
    class: 'chart rate-chart',
    attrs: { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': caption },
  });
  svg.appendChild(s('title', { text: caption }));

  for (const t of tickValues) {
    svg.appendChild(s('line', { class: 'grid', attrs: { x1: x(t), x2: x(t), y1: top, y2: height - axisHeight } }));
    svg.appendChild(s('text', {
      class: 'tick', text: percent(t, t < 0.1 && t > 0 ? 1 : 0),
      attrs: { x: x(t), y: height - 8, 'text-anchor': 'middle' },
    }));
  }

  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const mid = y + rowHeight / 2;
    svg.appendChild(s('text', {
      class: 'variant-label', text: label(row.key, 22),
      attrs: { x: labelWidth - 10, y: mid + 4, 'text-anchor': 'end' },
    }, s('title', { text: row.key })));
    if (typeof row.rate === 'number') {
      svg.appendChild(s('rect', {
        class: 'bar',
        attrs: { x: labelWidth, y: y + 7, width: Math.max(1, x(row.rate) - labelWidth), height: rowHeight - 14, fill: variantColor(i) },
      }));
    }
    if (row.ci) {
      const [lo, hi] = row.ci.map(x);
      svg.appendChild(s('line', { class: 'whisker', attrs: { x1: lo, x2: hi, y1: mid, y2: mid } }));
      svg.appendChild(s('line', { class: 'whisker', attrs: { x1: lo, x2: lo, y1: mid - 7, y2: mid + 7 } }));
      svg.appendChild(s('line', { class: 'whisker', attrs: { x1: hi, x2: hi, y1: mid - 7, y2: mid + 7 } }));
    }
    const ciText = row.ci ? ` (${percent(row.ci[0], 1)} – ${percent(row.ci[1], 1)})` : '';
    svg.appendChild(s('text', {
      class: 'value-label', text: percent(row.rate) + ciText,
      attrs: { x: width - valueWidth + 12, y: mid + 4 },
    }));
  });
  return svg;
}

/**
 * One variant's funnel: exposed visitors, then each step's converting visitors as a bar
 * proportional to the exposed count, with the share of exposed and the step-through from the step before.
 */
export function funnelChart(variantKey, colorIndex, visitors, steps, counts) {
  const width = 440;
  const labelWidth = 120;
  const valueWidth = 150;
  const rowHeight = 30;
  const plotWidth = width - labelWidth - valueWidth;
  const rows = [{ step: 'exposed', count: visitors }].concat(
    steps.map((step, i) => ({ step, count: counts[i] })),
  );
  const height = rows.length * rowHeight + 6;
  const base = visitors > 0 ? visitors : Math.max(1, ...rows.map((r) => r.count || 0));

  const svg = s('svg', {
    class: 'chart funnel-chart',
    attrs: { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Funnel of ${variantKey}` },
  });
  svg.appendChild(s('title', { text: `Funnel of ${variantKey}` }));
  rows.forEach((row, i) => {
    const y = 3 + i * rowHeight;
    const mid = y + rowHeight / 2;
    const n = typeof row.count === 'number' ? row.count : 0;
    svg.appendChild(s('text', {
      class: 'step-label', text: label(row.step, 16),
      attrs: { x: labelWidth - 8, y: mid + 4, 'text-anchor': 'end' },
    }, s('title', { text: row.step })));
    svg.appendChild(s('rect', {
      class: 'track', attrs: { x: labelWidth, y: y + 5, width: plotWidth, height: rowHeight - 10 },
    }));
    svg.appendChild(s('rect', {
      class: 'bar',
      attrs: { x: labelWidth, y: y + 5, width: (Math.min(n, base) / base) * plotWidth, height: rowHeight - 10, fill: variantColor(colorIndex) },
    }));
    let text = count(n);
    if (i > 0) {
      const previous = rows[i - 1].count;
      text += ' · ' + percent(previous > 0 ? n / previous : null, 0) + ' step';
    }
    svg.appendChild(s('text', { class: 'value-label', text, attrs: { x: labelWidth + plotWidth + 10, y: mid + 4 } }));
  });
  return svg;
}
