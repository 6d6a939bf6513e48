// One experiment's results over time: visitors per day (or hour) per variant and, per goal, the
// lift with its 95 % interval as it stood at the end of each day (or hour). Cumulative figures:
// a line that has flattened inside a narrow band is a test that has settled.
// Reads GET /api/experiments/:key/results/over-time; a node of its own that app.js keeps across re-renders.

import { h } from './dom.js';
import { liftOverTimeChart, visitorsOverTimeChart } from './over-time-charts.js';

// The series is a pass over the experiment's events on the collector: fetched at most this often.
const MIN_INTERVAL_MS = 3000;
const GRANULARITIES = [['daily', 'Daily'], ['hourly', 'Hourly']];

/** { node, refresh } for experiment `key`: `refresh()` refetches (throttled) and redraws on change. */
export function overTimeSection(key) {
  let granularity = 'daily';
  let lastBody = null;
  let lastFetch = 0;
  let scheduled = null;
  let running = false;

  const body = h('div', { class: 'over-time__body' }, h('p', { class: 'muted', text: 'Loading…' }));
  const buttons = GRANULARITIES.map(([value, text]) => h('button', {
    class: 'granularity', text, attrs: { type: 'button', 'data-granularity': value, 'aria-pressed': String(value === granularity) },
  }));
  for (const button of buttons) {
    button.addEventListener('click', () => {
      granularity = button.getAttribute('data-granularity');
      for (const b of buttons) b.setAttribute('aria-pressed', String(b === button));
      lastBody = null;
      load();
    });
  }
  const node = h('section', { class: 'over-time', attrs: { id: 'over-time' } },
    h('div', { class: 'over-time__head' },
      h('h2', { text: 'Over time' }),
      h('div', { class: 'granularities', attrs: { role: 'group', 'aria-label': 'Granularity' } }, buttons)),
    body);

  function show(text) {
    lastBody = null;
    body.replaceChildren(h('p', { class: 'muted', text }));
  }

  function render(series) {
    const unit = series.granularity === 'hourly' ? 'hour' : 'day';
    const goals = Array.isArray(series.goals) ? series.goals.map(String) : [];
    if (!Array.isArray(series.points) || series.points.length === 0 || !Array.isArray(series.variants)) {
      show('No visitors exposed yet.');
      return;
    }
    const figures = [
      h('figure', { class: 'chart-figure' },
        visitorsOverTimeChart(series, `Visitors first exposed per ${unit} and variant`),
        h('figcaption', { text: `Visitors first exposed per ${unit} (UTC), per variant.` })),
      ...goals.map((goal, i) => h('figure', { class: 'chart-figure', attrs: { 'data-goal': goal } },
        liftOverTimeChart(series, i, `Lift of ${goal} over time, with 95 % intervals`),
        h('figcaption', null, 'Lift of ', h('code', { text: goal }),
          ` against control, cumulative to the end of each ${unit}; the band is the 95 % interval. `,
          'A test has settled when the line has flattened and the band no longer moves much.'))),
    ];
    if (series.truncated) figures.push(h('p', { class: 'muted', text: 'Older data is folded into the first point.' }));
    body.replaceChildren(...figures);
  }

  async function load() {
    if (running) return;
    running = true;
    lastFetch = Date.now();
    try {
      const url = `/api/experiments/${encodeURIComponent(key)}/results/over-time?granularity=${granularity}`;
      const response = await fetch(url, { cache: 'no-store', headers: { accept: 'application/json' } });
      if (response.status === 501) {
        const answer = await response.json().catch(() => ({}));
        show(`Results over time are not available with this collector's store (${answer.error || 'not implemented'}).`);
        return;
      }
      if (!response.ok) throw new Error(`answered ${response.status}`);
      const series = await response.json();
      // Compared without its timestamp: redraw only when a figure changed.
      const figures = JSON.stringify({ ...series, updated_at: null });
      if (figures !== lastBody) {
        render(series);
        lastBody = figures;
      }
    } catch (error) {
      if (lastBody === null) show(`Could not load the results over time (${error.message}).`);
    } finally {
      running = false;
    }
  }

  function refresh() {
    if (scheduled !== null) return;
    const wait = Math.max(0, lastFetch + MIN_INTERVAL_MS - Date.now());
    scheduled = setTimeout(() => {
      scheduled = null;
      load();
    }, wait);
  }

  return { node, refresh };
}
