// One experiment's results: SRM warning, per-goal table and conversion-rate chart, funnel per variant.
// Input: the JSON of GET /api/experiments/:key/results; output: a DOM node (text only, see dom.js).

import { h, experimentHref } from './dom.js';
import * as fmt from './format.js';
import { rateChart, funnelChart, PALETTE_SIZE } from './charts.js';
import { statusBadge } from './list-view.js';

function goalKeys(results, variants) {
  if (Array.isArray(results.goals)) return results.goals.map(String);
  const first = variants[0] && variants[0].goals;
  return first && typeof first === 'object' ? Object.keys(first) : [];
}

function goalOf(variant, goal) {
  const goals = variant.goals && typeof variant.goals === 'object' ? variant.goals : {};
  return Object.prototype.hasOwnProperty.call(goals, goal) && goals[goal] ? goals[goal] : {};
}

/**
 * A relative lift with its interval below it, coloured only when the interval excludes zero;
 * then the absolute difference in percentage points when the API gives it.
 */
function liftCell(lift, ci, isControl, absLift, absCi) {
  if (isControl) return h('td', { class: 'muted', text: 'baseline' });
  const dir = fmt.direction(ci);
  const absolute = typeof absLift === 'number'
    ? h('div', { class: 'lift__abs', text: `${fmt.points(absLift)} (${fmt.interval(absCi).replaceAll(' %', ' pp')})` })
    : null;
  return h('td', { class: `lift ${dir ? 'lift--' + dir : ''}` },
    h('div', { class: 'lift__value', text: fmt.signedPercent(lift) }),
    h('div', { class: 'lift__ci', text: fmt.interval(ci) }),
    absolute);
}

function chanceCell(chance, isControl) {
  if (isControl) return h('td', { class: 'num muted', text: '—' });
  const strong = typeof chance === 'number' && (chance >= 0.95 || chance <= 0.05);
  return h('td', { class: `num ${strong ? 'strong' : ''}`, text: fmt.percent(chance, 1) });
}

function srmBanner(srm) {
  if (!srm || !srm.alarm) return null;
  const observed = Array.isArray(srm.observed) ? srm.observed : [];
  const expected = Array.isArray(srm.expected_weights) ? srm.expected_weights : [];
  const total = observed.reduce((a, b) => a + (Number(b) || 0), 0);
  const shares = (list, sum) => list.map((x) => fmt.percent(sum > 0 ? Number(x) / sum : null, 1)).join(' / ');
  const expectedSum = expected.reduce((a, b) => a + (Number(b) || 0), 0);
  return h('div', { class: 'banner banner--alarm', attrs: { role: 'alert', id: 'srm-banner' } },
    h('strong', { text: 'Sample ratio mismatch. ' }),
    `Visitors split ${shares(observed, total)} where the configured weights expect ${shares(expected, expectedSum)} `,
    `(chi-square, ${fmt.pEquals(srm.p_value)}). Assignment or tracking is broken for some visitors; `,
    'do not trust these results until the cause is found.');
}

function goalTable(goal, variants) {
  const rows = variants.map((variant, i) => {
    const g = goalOf(variant, goal);
    const isControl = i === 0;
    return h('tr', { attrs: { 'data-variant': variant.key } },
      h('th', { attrs: { scope: 'row' } },
        h('span', { class: `swatch swatch--${i % PALETTE_SIZE}` }),
        h('span', { class: 'variant-key', text: variant.key })),
      h('td', { class: 'num visitors', text: fmt.count(variant.visitors) }),
      h('td', { class: 'num conversions', text: fmt.count(g.conversions) }),
      h('td', { class: 'num rate', text: fmt.percent(g.rate) }),
      liftCell(g.lift, g.ci, isControl, g.abs_lift, g.abs_ci),
      h('td', { class: 'num p-value', text: isControl ? '—' : fmt.pValue(g.p_value) }),
      chanceCell(g.chance_to_win, isControl),
      h('td', { class: 'sequential', text: isControl ? '—' : fmt.interval(g.sequential_ci) }));
  });
  return h('table', { class: 'data-table results-table', attrs: { 'data-goal': goal } },
    h('thead', null, h('tr', null,
      h('th', { text: 'Variant' }), h('th', { class: 'num', text: 'Visitors' }),
      h('th', { class: 'num', text: 'Conversions' }), h('th', { class: 'num', text: 'Rate' }),
      h('th', { text: 'Lift (95 % CI)' }), h('th', { class: 'num', text: 'p-value' }),
      h('th', { class: 'num', text: 'Chance to win' }),
      h('th', { text: 'Sequential CI', title: 'Valid however often you look at the results' }))),
    h('tbody', null, rows));
}

/** Revenue per visitor, for goals with values (e.g. purchase value). */
function valueTable(goal, variants) {
  if (!variants.some((v) => goalOf(v, goal).value)) return null;
  const rows = variants.map((variant, i) => {
    const value = goalOf(variant, goal).value || {};
    const isControl = i === 0;
    return h('tr', { attrs: { 'data-variant': variant.key } },
      h('th', { attrs: { scope: 'row' }, text: variant.key }),
      h('td', { class: 'num', text: fmt.amount(value.sum) }),
      h('td', { class: 'num', text: fmt.amount(value.per_visitor) }),
      liftCell(value.lift, value.ci, isControl),
      h('td', { class: 'num', text: isControl ? '—' : fmt.pValue(value.p_value) }),
      chanceCell(value.chance_to_win, isControl));
  });
  return h('table', { class: 'data-table value-table' },
    h('caption', { text: `Value of ${goal} per visitor` }),
    h('thead', null, h('tr', null,
      h('th', { text: 'Variant' }), h('th', { class: 'num', text: 'Total value' }),
      h('th', { class: 'num', text: 'Per visitor' }), h('th', { text: 'Lift (95 % CI)' }),
      h('th', { class: 'num', text: 'p-value' }), h('th', { class: 'num', text: 'Chance to win' }))),
    h('tbody', null, rows));
}

function goalSection(goal, variants) {
  const chartRows = variants.map((variant) => {
    const g = goalOf(variant, goal);
    return { key: variant.key, rate: g.rate, ci: fmt.wilson(g.conversions, variant.visitors) };
  });
  return h('section', { class: 'goal', attrs: { 'data-goal': goal } },
    h('h2', null, 'Goal: ', h('code', { text: goal })),
    h('div', { class: 'table-scroll' }, goalTable(goal, variants)),
    valueTable(goal, variants),
    h('figure', { class: 'chart-figure' },
      rateChart(chartRows, `Conversion rate of ${goal} per variant, with 95 % intervals`),
      h('figcaption', { text: 'Conversion rate per variant; whiskers show the 95 % (Wilson) interval of each rate.' })));
}

function funnelSection(funnel, variants) {
  const steps = funnel && Array.isArray(funnel.steps) ? funnel.steps.map(String) : [];
  const byKey = new Map((funnel && Array.isArray(funnel.variants) ? funnel.variants : []).map((v) => [v.key, v]));
  if (steps.length === 0) return null;
  return h('section', { class: 'funnel' },
    h('h2', { text: 'Funnel' }),
    h('p', { class: 'muted', text: `Visitors reaching each step after exposure: ${steps.join(' → ')}.` }),
    h('div', { class: 'funnel-grid' }, variants.map((variant, i) => {
      const entry = byKey.get(variant.key);
      const counts = entry && Array.isArray(entry.counts) ? entry.counts : [];
      return h('figure', { class: 'funnel-card', attrs: { 'data-variant': variant.key } },
        h('figcaption', { text: variant.key }),
        funnelChart(variant.key, i, variant.visitors, steps, counts));
    })));
}

export function renderExperiment(results) {
  const variants = Array.isArray(results.variants) ? results.variants : [];
  const goals = goalKeys(results, variants);
  const total = variants.reduce((sum, v) => sum + (Number(v.visitors) || 0), 0);
  const srm = results.srm || {};
  document.title = `${results.name || results.experiment} · splitbeam`;
  return h('article', { class: 'experiment' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '/', text: '← All experiments' }),
      ' · ', h('a', { href: `${experimentHref(results.experiment)}/edit`, text: 'Edit experiment', attrs: { id: 'edit-experiment' } })),
    h('header', { class: 'experiment-header' },
      h('h1', { class: 'experiment-title', text: results.name || results.experiment }),
      h('p', { class: 'meta' },
        h('code', { text: results.experiment }), ' ', statusBadge(results.status),
        ` · ${fmt.count(total)} visitors exposed · ${variants.length} variants`,
        // Crawlers and automated browsers are stored but kept out of the figures below.
        Number(results.bot_visitors_excluded) > 0
          ? h('span', { class: 'muted', attrs: { id: 'bots-excluded' }, text: ` · ${fmt.count(Number(results.bot_visitors_excluded))} bot visitors excluded` })
          : null)),
    srmBanner(srm),
    variants.length === 0
      ? h('p', { class: 'empty', text: 'No visitors exposed yet.' })
      : goals.map((goal) => goalSection(goal, variants)),
    funnelSection(results.funnel, variants),
    h('p', { class: 'srm-summary muted' },
      `Sample ratio check (chi-square against the configured weights): ${fmt.pEquals(srm.p_value)}, `,
      srm.alarm ? 'mismatch.' : 'no mismatch.'));
}
